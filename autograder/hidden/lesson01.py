"""Hidden tests of lesson 01: a two-layer net, an MLP builder, the MSE loss, one SGD step.

Mistakes each test names (see docs/exercises/01.md):
two_layer_net: ReLU or sigmoid instead of tanh, no activation, W1 not transposed (wrong
  matmul order), b1 or b2 missing, tanh also on the output, dtype changed.
mlp: activation after the last layer, output_activation ignored, wrong layer sizes or
  a layer missing, one activation instance shared, no activation between layers, not an
  nn.Sequential, activation not instantiated.
mse_loss: sum instead of mean, no square (mean error or mean absolute error), square
  root (RMSE), a Python float or a detached Tensor (no gradient), dtype changed.
sgd_step: + instead of -, lr ignored, gradients not zeroed, zeroed before the update,
  not under no_grad (in-place on a leaf raises), rebinding the loop variable (nothing
  changes), crash on a parameter whose grad is None, a generator iterated twice.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from . import Case, Mistake, call_case, describe, enc, exercise, expect_close, obs_array

TOL32 = {"rtol": 1e-5, "atol": 1e-5}  # float32 answers against a float64 reference
TOL64 = {"rtol": 1e-5, "atol": 1e-6}


def _t(a: np.ndarray, dtype: torch.dtype) -> torch.Tensor:
    return torch.tensor(a, dtype=dtype)


def _tol(dtype: torch.dtype) -> dict:
    return TOL64 if dtype == torch.float64 else TOL32


def no_error(o: Any, call: str, known: dict[str, str] | None = None) -> None:
    """Raise Mistake if the probe observed an exception; name it when a known text matches."""
    if isinstance(o, dict) and "error" in o and isinstance(o["error"], str):
        for text, why in (known or {}).items():
            if text in o["error"]:
                raise Mistake(f"{call} raised {o['error']}. Likely mistake: {why}")
        raise Mistake(f"{call} raised {o['error']}")


def expect_dtype(o: Any, dtype: torch.dtype, call: str) -> None:
    """Raise Mistake unless the observed value is a Tensor of ``dtype``."""
    want = str(dtype).replace("torch.", "")
    if not (isinstance(o, dict) and "__tensor__" in o):
        raise Mistake(f"{call} returned {describe(o)}; it must return a torch Tensor.")
    if o["dtype"] != want:
        raise Mistake(f"{call} returned a {o['dtype']} Tensor for {want} inputs; keep the inputs' "
                      "dtype (do not convert with torch.tensor(..., dtype=...) or .float()).")


# ------------------------------------------------------------------ two_layer_net
@exercise("two_layer_net")
def two_layer_net(rng: np.random.Generator) -> list[Case]:
    cases = []
    # (N, d_in, h, d_out): a square W1 makes "x @ W1" run silently, the others make it fail
    shapes = [(int(rng.integers(3, 8)), 3, 5, 2), (int(rng.integers(3, 8)), 4, 4, 1),
              (int(rng.integers(2, 6)), 2, 6, 3)]
    for (n, d_in, h, d_out), dtype in zip(shapes, [torch.float64, torch.float32, torch.float64]):
        x, W1, b1 = rng.normal(0, 1, (n, d_in)), rng.normal(0, 1, (h, d_in)), rng.normal(0, 1, h)
        W2, b2 = rng.normal(0, 1, (d_out, h)), rng.normal(0, 1, d_out)
        args = [_t(a, dtype) for a in (x, W1, b1, W2, b2)]
        x, W1, b1, W2, b2 = (a.numpy().astype(np.float64) for a in args)  # what the student sees
        pre = x @ W1.T + b1
        exp = np.tanh(pre) @ W2.T + b2
        call = f"two_layer_net(x {x.shape}, W1 {W1.shape}, b1, W2 {W2.shape}, b2) in {dtype}"

        def judge(o, exp=exp, pre=pre, x=x, W1=W1, b1=b1, W2=W2, b2=b2, call=call, dtype=dtype):
            no_error(o, call, {
                "shapes cannot be multiplied": "a weight matrix is not transposed: W1 is (h, d_in), W2 is (d_out, h) and x's rows are "
                "inputs: compute x @ W1.T and h @ W2.T (the order of a matrix product matters).",
                "size of tensor a": "check the shapes: x @ W1.T is (N, h), add b1 (h,), then "
                "multiply by W2.T to get (N, d_out).",
            })
            out = o["out"]
            mistakes = {
                "ReLU instead of tanh: the talk's sigma here is tanh": np.maximum(pre, 0) @ W2.T + b2,
                "sigmoid instead of tanh": (1 / (1 + np.exp(-pre))) @ W2.T + b2,
                "no activation: without tanh the two layers collapse into one linear map":
                    pre @ W2.T + b2,
                "the bias b2 of the output layer is missing": np.tanh(pre) @ W2.T,
                "the bias b1 of the hidden layer is missing": np.tanh(x @ W1.T) @ W2.T + b2,
                "tanh was also applied to the output; the last layer is linear": np.tanh(exp),
            }
            if W1.shape[0] == W1.shape[1]:
                mistakes["W1 is not transposed: x's rows are inputs, so use x @ W1.T, not x @ W1"] = \
                    np.tanh(x @ W1 + b1) @ W2.T + b2
                mistakes["W2 is not transposed: use h @ W2.T"] = np.tanh(pre) @ W2 + b2 \
                    if W2.shape[0] == W2.shape[1] else None
            mistakes = {k: v for k, v in mistakes.items() if v is not None}
            expect_close(out, exp, call, mistakes, hint="f(x) = tanh(x @ W1.T + b1) @ W2.T + b2.",
                         **_tol(dtype))
            expect_dtype(out, dtype, call)
        cases.append(call_case("two_layer_net", args, judge=judge, probe="call_or_error",
                               desc=f"x {tuple(x.shape)}, W1 {tuple(W1.shape)}, b1, W2 {tuple(W2.shape)}, b2"))
    return cases


# ------------------------------------------------------------------ mlp
ACTS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "Tanh": np.tanh,
    "ReLU": lambda z: np.maximum(z, 0.0),
    "Sigmoid": lambda z: 1.0 / (1.0 + np.exp(-z)),
    "Identity": lambda z: z,
}


def _mlp_forward(x: np.ndarray, weights: list, act: str, out_act: str, hidden_acts: bool = True,
                 last_act: str | None = None) -> np.ndarray:
    h = x
    for i, (W, b) in enumerate(weights):
        h = h @ W.T + b
        if i < len(weights) - 1:
            h = ACTS[act](h) if hidden_acts else h
        else:
            h = ACTS[last_act or out_act](h)
    return h


@exercise("mlp")
def mlp(rng: np.random.Generator) -> list[Case]:
    configs = [  # sizes, activation, output_activation (None = the default)
        ([int(rng.integers(2, 5)), int(rng.integers(3, 7)), int(rng.integers(3, 7)), int(rng.integers(1, 4))],
         None, None),
        ([int(rng.integers(2, 5)), int(rng.integers(3, 7)), int(rng.integers(1, 4))], "ReLU", "Sigmoid"),
        ([int(rng.integers(1, 4)), int(rng.integers(2, 5))], None, "Tanh"),
        ([int(rng.integers(2, 4)), int(rng.integers(2, 5)), int(rng.integers(2, 5)),
          int(rng.integers(2, 5)), int(rng.integers(1, 3))], "Sigmoid", None),
    ]
    cases = []
    for sizes, act, out_act in configs:
        a, oa = act or "Tanh", out_act or "Identity"
        weights = [(rng.normal(0, 1, (sizes[i + 1], sizes[i])), rng.normal(0, 1, sizes[i + 1]))
                   for i in range(len(sizes) - 1)]
        x = rng.normal(0, 1.5, (int(rng.integers(3, 7)), sizes[0]))
        exp = _mlp_forward(x, weights, a, oa)
        kwargs = {}
        if act:
            kwargs["activation"] = {"__module__": act}
        if out_act:
            kwargs["output_activation"] = {"__module__": out_act}
        desc = ", ".join([str(sizes)] + [f"{k}=nn.{v['__module__']}" for k, v in kwargs.items()])
        call = f"mlp({desc})"
        n = len(sizes) - 1
        want_modules = [m for i in range(n) for m in ("Linear", a if i < n - 1 else oa)]
        want_shapes = [[sizes[i], sizes[i + 1]] for i in range(n)]

        def judge(o, call=call, exp=exp, x=x, weights=weights, a=a, oa=oa, n=n, sizes=sizes,
                  want_modules=want_modules, want_shapes=want_shapes):
            no_error(o, call, {
                "is not a Module subclass": "pass an activation *instance* to nn.Sequential: "
                "call the class, activation() (e.g. nn.Tanh()), not activation.",
                "object is not iterable": "build a list of layers and return nn.Sequential(*layers).",
            })
            if not o.get("sequential"):
                raise Mistake(f"{call} returned {o.get('type')}; return nn.Sequential(*layers).")
            shapes = o["linear_shapes"]
            if shapes != want_shapes:
                if len(shapes) == n - 1:
                    why = "a layer is missing: there is one Linear per consecutive pair of sizes (range(len(sizes) - 1))"
                elif len(shapes) != n:
                    why = f"there must be {n} Linear layers, one per consecutive pair of sizes"
                else:
                    why = "layer i must be nn.Linear(sizes[i], sizes[i+1])"
                raise Mistake(f"{call} has Linear layers (in, out) {shapes}, expected {want_shapes}. "
                              f"Likely mistake: {why}.")
            mods = [m for m in o["modules"] if m != "Identity"]
            want = [m for m in want_modules if m != "Identity"]
            if mods != want:
                got_s, want_s = " -> ".join(o["modules"]), " -> ".join(want_modules)
                if mods == [m for i in range(n) for m in ("Linear", a)] + ([oa] if oa != "Identity" else []) \
                        or mods == [m for i in range(n) for m in ("Linear", a)]:
                    why = (f"the activation ({a}) is also applied after the last Linear; the last "
                           "layer gets output_activation instead")
                elif oa != "Identity" and mods == want[:-1]:
                    why = "output_activation is ignored: append output_activation() after the last Linear"
                elif "Linear" in mods and a not in mods and n > 1:
                    why = f"no activation ({a}) between the Linear layers"
                else:
                    why = "Linear, activation, Linear, activation, ..., Linear, output_activation"
                raise Mistake(f"{call} has modules {got_s}, expected {want_s}. Likely mistake: {why}.")
            if o["n_distinct"] != len(o["modules"]):
                raise Mistake(f"{call} reuses one activation module object at several places; call "
                              "activation() for every layer so each gets its own instance (an "
                              "activation with parameters, such as nn.PReLU, would otherwise be tied).")
            mistakes = {
                f"the activation ({a}) is also applied after the last layer":
                    _mlp_forward(x, weights, a, oa, last_act=a),
                "output_activation is ignored": _mlp_forward(x, weights, a, oa, last_act="Identity"),
                "no activation between the layers": _mlp_forward(x, weights, a, oa, hidden_acts=False),
            }
            if "out" not in o:
                raise Mistake(f"{call}: its forward pass could not be run with weights copied in.")
            expect_close(o["out"], exp, f"{call} forward pass", mistakes,
                         hint="the forward pass must be out_act(L_k(act(... act(L_1 x)))).")
        payload = {"weights": [[enc(torch.tensor(W)), enc(torch.tensor(b))] for W, b in weights],
                   "x": enc(torch.tensor(x))}
        cases.append(call_case("mlp", [sizes], kwargs, judge=judge, probe="mlp", desc=desc, **payload))
    return cases


# ------------------------------------------------------------------ mse_loss
@exercise("mse_loss")
def mse_loss(rng: np.random.Generator) -> list[Case]:
    cases = []
    shapes = [(int(rng.integers(3, 12)),), (int(rng.integers(3, 9)), 1), (int(rng.integers(2, 6)), 3)]
    for shape, dtype in zip(shapes, [torch.float64, torch.float32, torch.float64]):
        pred_t = _t(rng.normal(0, 2, shape), dtype).requires_grad_(True)
        target_t = _t(rng.normal(0, 2, shape), dtype)
        pred, target = (t.detach().numpy().astype(np.float64) for t in (pred_t, target_t))
        d = pred - target
        exp = np.mean(d**2)
        call = f"mse_loss(pred {shape}, target {shape}) in {dtype}"

        def judge(o, d=d, exp=exp, call=call, dtype=dtype, shape=shape):
            no_error(o, call)
            out = o["out"]
            mistakes = {
                "sum instead of mean: the loss is 1/n sum_i (pred_i - target_i)^2": np.sum(d**2),
                "the difference is not squared (mean error)": np.mean(d),
                "mean absolute error instead of squared error": np.mean(np.abs(d)),
                "square root taken: that is the RMSE, not the MSE": np.sqrt(np.mean(d**2)),
                "the mean runs over the wrong axis or not over all elements": np.mean(d**2, axis=0),
                "divided by n - 1 instead of n": np.sum(d**2) / (d.size - 1),
            }
            expect_close(out, exp, call, mistakes, hint="MSE = mean((pred - target)**2).", scalar=True,
                         **_tol(dtype))
            if not (isinstance(out, dict) and "__tensor__" in out):
                raise Mistake(f"{call} returned {describe(out)}, a plain number; return the Tensor "
                              "(no .item(), no numpy) so that loss.backward() can compute gradients.")
            if not out["grad_fn"]:
                raise Mistake(f"{call} returned a Tensor without a graph (detached?); the loss must "
                              "stay differentiable with respect to pred.")
            expect_dtype(out, dtype, call)
            g = o.get("grads", [None])[0]
            expect_close(g, 2 * d / d.size, f"the gradient of {call} with respect to pred", {},
                         hint="the gradient of the mean squared error is 2 (pred - target) / n.",
                         **_tol(dtype))
        cases.append(call_case("mse_loss", [pred_t, target_t], judge=judge, probe="call_or_error",
                               backward=True, desc=f"pred {shape}, target {shape}"))
    return cases


# ------------------------------------------------------------------ sgd_step
@exercise("sgd_step")
def sgd_step(rng: np.random.Generator) -> list[Case]:
    cases = []
    setups = [  # (shapes, which grads are None, dtype, pass a generator)
        ([(3, 2), (3,)], [], torch.float64, False),
        ([(4,), (2, 2), (1,)], [1], torch.float32, False),
        ([(2, 3), (3,)], [], torch.float64, True),
    ]
    for shapes, none_at, dtype, as_gen in setups:
        lr = float(np.round(rng.uniform(0.05, 0.5), 3))
        values = [_t(rng.normal(0, 1, s), dtype) for s in shapes]
        grads = [None if i in none_at else _t(rng.normal(0, 1, s), dtype) for i, s in enumerate(shapes)]
        v64 = [v.numpy().astype(np.float64) for v in values]
        g64 = [None if g is None else g.numpy().astype(np.float64) for g in grads]
        what = "model.parameters()-like generator" if as_gen else "list"
        call = (f"sgd_step(<{what} of {len(shapes)} parameters"
                + (f", parameter {none_at[0]} with grad None" if none_at else "") + f">, lr={lr})")

        def judge(o, v64=v64, g64=g64, lr=lr, call=call, dtype=dtype, as_gen=as_gen):
            no_error(o, call, {
                "leaf Variable that requires grad": "in-place updates of parameters must run "
                "inside `with torch.no_grad():`",
                "NoneType": "a parameter whose .grad is None (unused in the loss) must be skipped: "
                "`if p.grad is None: continue`",
            })
            tol = _tol(dtype)
            vals = [obs_array(v) for v in o["values"]]
            for i, (v0, g) in enumerate(zip(v64, g64)):
                if g is None:
                    expect_close(o["values"][i], v0, f"{call}: parameter {i} (grad None)", {},
                                 hint="a parameter without a gradient must stay unchanged.", **tol)
                    continue
                exp = v0 - lr * g
                if np.allclose(vals[i], v0, **tol) and not np.allclose(exp, v0, **tol):
                    why = ("the parameters did not change. `p = p - lr * p.grad` only rebinds the "
                           "loop variable; update in place (`p -= lr * p.grad` inside torch.no_grad())")
                    if o["replaced"]:
                        why = ("you replaced the list's entries with new tensors; the model still "
                               "holds the old Parameters: update each one in place")
                    elif all(gg is None or not np.any(obs_array(gg)) for gg in o["grads"]):
                        why += " (or the gradient was zeroed before it was used)"
                    raise Mistake(f"{call}: parameter {i} is unchanged. Likely mistake: {why}.")
                expect_close(o["values"][i], exp, f"{call}: parameter {i} after the step", {
                    "+ instead of -: gradient DEscent steps against the gradient": v0 + lr * g,
                    "lr is ignored: the step is lr * p.grad": v0 - g,
                    "the step was taken twice": v0 - 2 * lr * g,
                }, hint="theta <- theta - lr * grad.", **tol)
                grad = o["grads"][i]
                if grad is not None and np.any(obs_array(grad) != 0):
                    hint = "zero each gradient after the update (p.grad.zero_() or p.grad = None)"
                    if as_gen:
                        hint = ("params may be a generator like model.parameters(), which can be "
                                "iterated only once: zero the gradient in the same loop as the "
                                "update (or make a list first)")
                    raise Mistake(f"{call}: parameter {i}'s .grad is {describe(grad)} after the step, "
                                  f"expected zeros or None. Likely mistake: {hint}. Otherwise the next "
                                  "backward() adds to the old gradient.")
            if not all(o["requires_grad"]):
                raise Mistake(f"{call}: after the step a parameter no longer requires grad; update "
                              "the values in place without changing requires_grad.")
        payload = {"values": [enc(v) for v in values], "grads": [None if g is None else enc(g) for g in grads],
                   "lr": lr, "generator": as_gen}
        cases.append(Case("sgd_step", payload, judge, call=call))
    return cases
