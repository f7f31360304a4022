"""Lesson 01 (deep-learning recap): two_layer_net, mlp, mse_loss, sgd_step and their named mistakes.

Each ``_wrong_*`` function is a realistic wrong answer, written as a learner would; each
``_alt_*`` a correct answer in another style than the reference.
"""

from __future__ import annotations

import torch
from torch import nn

from .. import nets
from . import Exercise, exercise, mistake

LESSON = "01-deep-learning-recap"


# ------------------------------------------------------------------------------ two_layer_net
def _alt_two_layer_net(x, W1, b1, W2, b2):
    hidden = torch.einsum("hd,nd->nh", W1, x) + b1
    return torch.nn.functional.linear(torch.tanh(hidden), W2, b2)


@mistake("two_layer_net/relu", "ReLU instead of tanh: the talk's sigma here is tanh (torch.tanh)",
         summary="used ReLU instead of tanh")
def _wrong_tln_relu(x, W1, b1, W2, b2):
    return torch.relu(x @ W1.T + b1) @ W2.T + b2


@mistake("two_layer_net/sigmoid", "sigmoid instead of tanh: the talk's sigma here is tanh "
         "(torch.tanh)", summary="used sigmoid instead of tanh")
def _wrong_tln_sigmoid(x, W1, b1, W2, b2):
    return torch.sigmoid(x @ W1.T + b1) @ W2.T + b2


@mistake("two_layer_net/no_activation", "no activation: without tanh the two layers collapse into "
         "one linear map; apply torch.tanh to the hidden layer", summary="left out the activation")
def _wrong_tln_no_activation(x, W1, b1, W2, b2):
    return (x @ W1.T + b1) @ W2.T + b2


@mistake("two_layer_net/w1_not_transposed", "W1 is not transposed: x's rows are the inputs, so "
         "the hidden layer is x @ W1.T + b1 (x @ W1 runs only because W1 is square here)",
         summary="did not transpose W1")
def _wrong_tln_w1_not_transposed(x, W1, b1, W2, b2):
    return torch.tanh(x @ W1 + b1) @ W2.T + b2


@mistake("two_layer_net/w2_not_transposed", "W2 is not transposed: the output layer is h @ W2.T "
         "+ b2 (h @ W2 runs only because W2 is square here)", summary="did not transpose W2")
def _wrong_tln_w2_not_transposed(x, W1, b1, W2, b2):
    return torch.tanh(x @ W1.T + b1) @ W2 + b2


@mistake("two_layer_net/no_b1", "the bias b1 of the hidden layer is missing: tanh(x @ W1.T + b1)",
         summary="left out b1")
def _wrong_tln_no_b1(x, W1, b1, W2, b2):
    return torch.tanh(x @ W1.T) @ W2.T + b2


@mistake("two_layer_net/no_b2", "the bias b2 of the output layer is missing: ... @ W2.T + b2",
         summary="left out b2")
def _wrong_tln_no_b2(x, W1, b1, W2, b2):
    return torch.tanh(x @ W1.T + b1) @ W2.T


@mistake("two_layer_net/tanh_on_output", "tanh was also applied to the output; the last layer is "
         "linear: ... @ W2.T + b2 with no activation after it",
         summary="applied tanh to the output")
def _wrong_tln_tanh_on_output(x, W1, b1, W2, b2):
    return torch.tanh(torch.tanh(x @ W1.T + b1) @ W2.T + b2)


@mistake("two_layer_net/changes_dtype", "keep the inputs' dtype: no .float() and no new float32 "
         "tensors", summary="changed the dtype")
def _wrong_tln_float(x, W1, b1, W2, b2):
    return (torch.tanh(x @ W1.T + b1) @ W2.T + b2).float()


exercise(Exercise("two_layer_net", LESSON, nets.two_layer_net,
                  alternatives=(_alt_two_layer_net,),
                  admits=("float32", "float64", "batch of one"),
                  inputs="batches of 1-7 rows in float32 and float64; the first case has square W1 and W2, so a "
                         "missing transpose runs silently and is named by its value; the others make it raise."))


# ------------------------------------------------------------------------------ mlp
def _alt_mlp(sizes, activation=nn.Tanh, output_activation=nn.Identity):
    layers = []
    for j, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):  # noqa: RUF007 - as a learner writes it
        layers.append(nn.Linear(n_in, n_out))
        act = activation if j < len(sizes) - 2 else output_activation
        if act is not nn.Identity:
            layers.append(act())
    return nn.Sequential(*layers)


def _mlp_layers(sizes, activation, output_activation, linear=nn.Linear):
    """A right MLP's layers as a list: linear(sizes[i], sizes[i + 1]) then activation(), and
    output_activation() after the last Linear."""
    layers = []
    for i in range(len(sizes) - 1):
        act = activation if i < len(sizes) - 2 else output_activation
        layers += [linear(sizes[i], sizes[i + 1]), act()]
    return layers


@mistake("mlp/act_after_last", "the activation is also applied after the last Linear; the last "
         "layer gets output_activation() instead",
         summary="put the activation after the last layer")
def _wrong_mlp_act_after_last(sizes, activation=nn.Tanh, output_activation=nn.Identity):
    return nn.Sequential(*_mlp_layers(sizes, activation, activation))  # activation() after the last too


@mistake("mlp/output_activation_ignored", "output_activation is ignored: append "
         "output_activation() after the last Linear", summary="ignored output_activation")
def _wrong_mlp_output_activation_ignored(sizes, activation=nn.Tanh, output_activation=nn.Identity):
    layers = []
    for i in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            layers.append(activation())
    return nn.Sequential(*layers)


@mistake("mlp/layer_missing", "a layer is missing: there is one nn.Linear(sizes[i], sizes[i + 1]) "
         "per consecutive pair of sizes, for i in range(len(sizes) - 1)",
         summary="left out a layer")
def _wrong_mlp_layer_missing(sizes, activation=nn.Tanh, output_activation=nn.Identity):
    layers = _mlp_layers(sizes[:-1], activation, activation)  # one Linear short
    return nn.Sequential(*layers, output_activation())


@mistake("mlp/swapped_sizes", "nn.Linear takes (in_features, out_features): layer i is "
         "nn.Linear(sizes[i], sizes[i + 1])", summary="swapped in and out sizes")
def _wrong_mlp_swapped_sizes(sizes, activation=nn.Tanh, output_activation=nn.Identity):
    swapped = lambda n_in, n_out: nn.Linear(n_out, n_in)  # the learner wrote nn.Linear(out, in)
    return nn.Sequential(*_mlp_layers(sizes, activation, output_activation, linear=swapped))


@mistake("mlp/shared_activation", "you reused one activation instance for every layer: call "
         "activation() for each layer so each gets its own (an activation with parameters, such "
         "as nn.PReLU, would otherwise be shared)", summary="reused one activation instance")
def _wrong_mlp_shared_activation(sizes, activation=nn.Tanh, output_activation=nn.Identity):
    act, layers = activation(), []
    for i in range(len(sizes) - 1):
        layers += [nn.Linear(sizes[i], sizes[i + 1]), act if i < len(sizes) - 2 else output_activation()]
    return nn.Sequential(*layers)


@mistake("mlp/no_activation", "no activation between the Linear layers: without it they collapse "
         "into one linear map; add activation() after every Linear but the last",
         summary="left out the activations")
def _wrong_mlp_no_activation(sizes, activation=nn.Tanh, output_activation=nn.Identity):
    layers = [nn.Linear(sizes[i], sizes[i + 1]) for i in range(len(sizes) - 1)]
    return nn.Sequential(*layers, output_activation())


@mistake("mlp/not_sequential", "return nn.Sequential(*layers), not the list of layers",
         summary="returned a list")
def _wrong_mlp_returns_list(sizes, activation=nn.Tanh, output_activation=nn.Identity):
    return _mlp_layers(sizes, activation, output_activation)  # the list, not nn.Sequential(*layers)


@mistake("mlp/not_instantiated", "nn.Sequential takes module instances: call the class, "
         "activation() (e.g. nn.Tanh()), not activation",
         summary="did not instantiate the activation", by_value=False)
def _wrong_mlp_not_instantiated(sizes, activation=nn.Tanh, output_activation=nn.Identity):
    layers = []
    for i in range(len(sizes) - 1):
        layers += [nn.Linear(sizes[i], sizes[i + 1]), activation if i < len(sizes) - 2 else output_activation]
    return nn.Sequential(*layers)


@mistake("mlp/list_not_unpacked", "unpack the list of layers: nn.Sequential(*layers), not "
         "nn.Sequential(layers)", summary="passed the list unpacked", by_value=False)
def _wrong_mlp_list_not_unpacked(sizes, activation=nn.Tanh, output_activation=nn.Identity):
    return nn.Sequential(_mlp_layers(sizes, activation, output_activation))  # not *layers


exercise(Exercise("mlp", LESSON, nets.mlp,
                  alternatives=(_alt_mlp,),
                  admits=("default activations", "other activations", "one layer", "four layers"),
                  inputs="MLPs of 1-4 layers of random sizes with default and other activations (ReLU, Sigmoid, "
                         "Tanh output), built by the learner's mlp and run in float64 with random weights copied "
                         "into its Linear layers (nn.Identity layers, which compute nothing, are optional)."))


# ------------------------------------------------------------------------------ mse_loss
def _alt_mse_loss(pred, target):
    diff = pred - target
    return (diff * diff).sum() / diff.numel()


@mistake("mse_loss/sum", "you summed instead of averaging: the loss is 1/n sum_i (pred_i "
         "- target_i)^2, .mean() over all elements", summary="summed instead of averaged")
def _wrong_mse_sum(pred, target):
    return ((pred - target) ** 2).sum()


@mistake("mse_loss/not_squared", "the difference is not squared: that is the mean error, which "
         "lets positive and negative errors cancel; square it, (pred - target) ** 2",
         summary="did not square the difference")
def _wrong_mse_not_squared(pred, target):
    return (pred - target).mean()


@mistake("mse_loss/absolute", "that is the mean absolute error: square the difference, (pred "
         "- target) ** 2, instead of taking .abs()", summary="used the absolute error")
def _wrong_mse_absolute(pred, target):
    return (pred - target).abs().mean()


@mistake("mse_loss/rmse", "you took the square root: that is the RMSE, not the MSE",
         summary="took the square root")
def _wrong_mse_rmse(pred, target):
    return torch.sqrt(((pred - target) ** 2).mean())


@mistake("mse_loss/wrong_axis", "the mean runs over one axis only; average over ALL elements "
         "(.mean() with no dim), so the loss is one number", summary="averaged over one axis")
def _wrong_mse_axis(pred, target):
    return ((pred - target) ** 2).mean(dim=0)


@mistake("mse_loss/n_minus_1", "you divided by n - 1; the mean divides by n, the number of "
         "elements", summary="divided by n - 1")
def _wrong_mse_n_minus_1(pred, target):
    return ((pred - target) ** 2).sum() / (pred.numel() - 1)


@mistake("mse_loss/not_a_tensor", "return the Tensor itself (no .item(), float() or .numpy()) so "
         "that loss.backward() can compute gradients", summary="returned a float")
def _wrong_mse_float(pred, target):
    return float(((pred - target) ** 2).mean())


@mistake("mse_loss/detached", "no gradient reaches pred: the loss was detached (or rebuilt with "
         "torch.tensor); keep it in the computation", summary="detached the loss")
def _wrong_mse_detached(pred, target):
    return ((pred - target) ** 2).mean().detach()


@mistake("mse_loss/changes_dtype", "keep the inputs' dtype: no .float() and no new float32 "
         "tensors", summary="changed the dtype")
def _wrong_mse_changes_dtype(pred, target):
    return ((pred - target) ** 2).mean().float()


exercise(Exercise("mse_loss", LESSON, nets.mse_loss,
                  alternatives=(_alt_mse_loss,),
                  admits=("float32", "float64", "(N, 1)", "2-D"),
                  inputs="(N,), (N, 1) and (N, 3) Tensors in float32 and float64 whose differences have both signs "
                         "and several sizes; the gradient with respect to pred is checked by a backward pass."))


# ------------------------------------------------------------------------------ sgd_step
def _alt_sgd_step(params, lr):
    for p in params:
        if p.grad is not None:
            p.data.add_(p.grad, alpha=-lr)
            p.grad = None


def _sgd_each(params, step, zero="after", no_grad=True, skip_none=True):
    """step(p), an in-place update, on each parameter with a gradient, then p.grad.zero_(), all
    inside torch.no_grad(); each other argument is a mistake: zero "before" the step or None
    (never), no_grad=False, skip_none=False (a None gradient crashes)."""
    import contextlib

    with torch.no_grad() if no_grad else contextlib.nullcontext():
        for p in params:
            if p.grad is None and skip_none:
                continue
            if zero == "before":
                p.grad.zero_()
            step(p)
            if zero == "after":
                p.grad.zero_()


@mistake("sgd_step/plus", "+ instead of -: gradient DEscent steps against the gradient, p -= lr "
         "* p.grad", summary="stepped up the gradient")
def _wrong_sgd_plus(params, lr):
    _sgd_each(params, lambda p: p.add_(lr * p.grad))  # p += lr * p.grad


@mistake("sgd_step/no_lr", "lr is ignored: the step is lr * p.grad", summary="ignored lr")
def _wrong_sgd_no_lr(params, lr):
    _sgd_each(params, lambda p: p.sub_(p.grad))  # p -= p.grad


@mistake("sgd_step/twice", "the step was taken twice: update each parameter once, p -= lr "
         "* p.grad", summary="took the step twice")
def _wrong_sgd_twice(params, lr):
    def step(p):
        p -= lr * p.grad
        p.data -= lr * p.grad  # left over from an earlier attempt

    _sgd_each(params, step)


@mistake("sgd_step/generator_twice", "params may be a generator like model.parameters(), which "
         "can be iterated only once: zero each gradient in the same loop as its update",
         summary="iterated a generator twice")
def _wrong_sgd_generator_twice(params, lr):
    _sgd_each(params, lambda p: p.sub_(lr * p.grad), zero=None)
    # a generator such as model.parameters() is empty the second time:
    _sgd_each(params, lambda p: p.grad.zero_(), zero=None)


@mistake("sgd_step/no_zero", "the gradients are not zeroed after the step (p.grad.zero_()), so "
         "the next backward() adds to the old gradient", summary="did not zero the gradients")
def _wrong_sgd_no_zero(params, lr):
    _sgd_each(params, lambda p: p.sub_(lr * p.grad), zero=None)


@mistake("sgd_step/zero_before", "the gradient was zeroed before it was used: update first, then "
         "p.grad.zero_()", summary="zeroed the gradient first")
def _wrong_sgd_zero_before(params, lr):
    _sgd_each(params, lambda p: p.sub_(lr * p.grad), zero="before")


@mistake("sgd_step/rebinds", "the parameters did not change: p = p - lr * p.grad only rebinds the "
         "loop variable to a new tensor; update in place, p -= lr * p.grad inside torch.no_grad()",
         summary="rebound the loop variable")
def _wrong_sgd_rebinds(params, lr):
    for p in params:
        if p.grad is not None:
            p = p - lr * p.grad
            p.grad = None


@mistake("sgd_step/replaces_entries", "you replaced the list's entries with new tensors; the "
         "model still holds the old Parameters: update each one in place",
         summary="replaced the parameters")
def _wrong_sgd_replaces_entries(params, lr):
    for i, p in enumerate(params):
        if p.grad is not None:
            params[i] = nn.Parameter(p.detach() - lr * p.grad)


@mistake("sgd_step/requires_grad_off", "you switched requires_grad off to allow the in-place "
         "update, so the parameter stops learning: do the update inside torch.no_grad() instead",
         summary="switched requires_grad off")
def _wrong_sgd_requires_grad_off(params, lr):
    # requires_grad off so that the in-place update is allowed
    _sgd_each(params, lambda p: p.requires_grad_(False).sub_(lr * p.grad), no_grad=False)


@mistake("sgd_step/grad_memory", "the parameter now lives in its old gradient's memory (p.data "
         "= <a tensor computed in p.grad>): whatever changes that gradient later changes the "
         "parameter; update p itself in place, p -= lr * p.grad",
         summary="stored the parameter in the gradient's memory")
def _wrong_sgd_grad_memory(params, lr):
    def step(p):
        p.data = p.grad.mul_(-lr).add_(p)  # the new value, computed in the gradient's memory
        p.grad = None

    _sgd_each(params, step, zero=None)


@mistake("sgd_step/no_no_grad", "in-place updates of parameters must run inside `with "
         "torch.no_grad():` (autograd forbids them on a leaf that requires grad)",
         summary="updated outside torch.no_grad()", by_value=False)
def _wrong_sgd_no_no_grad(params, lr):
    _sgd_each(params, lambda p: p.sub_(lr * p.grad), no_grad=False)


@mistake("sgd_step/none_grad", "a parameter whose .grad is None (unused in the loss) must be "
         "skipped: `if p.grad is None: continue`", summary="crashed on a None gradient",
         by_value=False)
def _wrong_sgd_none_grad(params, lr):
    _sgd_each(params, lambda p: p.sub_(lr * p.grad), skip_none=False)


exercise(Exercise("sgd_step", LESSON, nets.sgd_step,
                  alternatives=(_alt_sgd_step,),
                  admits=("list", "generator", "None grad", "float32", "float64"),
                  inputs="nn.Parameters of random shapes and values in float32 and float64, passed as a list (one "
                         "with grad None) and as a generator like model.parameters(); afterwards the parameters must "
                         "be the same objects, updated, with zero (or None) gradients, still requiring grad, and "
                         "independent of the gradients they were given."))
