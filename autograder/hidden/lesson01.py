"""Hidden tests of lesson 01: a two-layer net, an MLP builder, the MSE loss, one SGD step.

Fresh random inputs of every kind the contract admits (``rlcore/catalog/lesson01.py`` lists
them and the named mistakes); the judges compare with the reference, and a failure is named
by the catalogued wrong implementation that behaves the same (``judge_case``). Mistakes that
show as an exception (an uninstantiated activation, an update outside ``torch.no_grad()``)
are named by the judges from the error.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from autograder import hidden as h
from rlcore.check import fmt

TOL32 = {"rtol": 1e-5, "atol": 1e-5}  # float32 answers against a float64 reference
TOL64 = {"rtol": 1e-5, "atol": 1e-6}


def _t(a: np.ndarray, dtype: torch.dtype) -> torch.Tensor:
    return torch.tensor(a, dtype=dtype)


def _tol(dtype: torch.dtype) -> dict:
    return TOL64 if dtype == torch.float64 else TOL32


def _dtype_name(dtype: torch.dtype) -> str:
    return str(dtype).replace("torch.", "")


def raised(o: Any, call: str, hint: str, known: dict[str, str] | None = None) -> None:
    """Raise if the probe observed an exception: ``named`` when a known text (-> mistake id) is in it."""
    if isinstance(o, dict) and isinstance(o.get("error"), str):
        what = f"{call} raised {o['error']}"
        for text, mistake_id in (known or {}).items():
            if text in o["error"]:
                raise h.named(mistake_id, what)
        raise h.fail(what, hint)


def no_error(o: Any, call: str, known: dict[str, str] | None = None) -> None:
    """Raise if the probe observed an exception, with the message of the first known text in it.

    Lesson 03's judges use it until their mistakes are catalogued (then: ``raised``).
    """
    if isinstance(o, dict) and isinstance(o.get("error"), str):
        for text, why in (known or {}).items():
            if text in o["error"]:
                raise h.fail(f"{call} raised {o['error']}", f"Likely mistake: {why}")
        raise h.fail(f"{call} raised {o['error']}")


def expect_dtype(o: Any, dtype: torch.dtype, call: str) -> None:
    """Raise unless the observed value is a Tensor of ``dtype``."""
    want = _dtype_name(dtype)
    if not (isinstance(o, dict) and "__tensor__" in o):
        raise h.fail(f"{call} returned {h.kind_of(o)}, expected a torch Tensor")
    if o["dtype"] != want:
        raise h.fail(f"{call} returned a {o['dtype']} Tensor for {want} inputs", "Keep the inputs' dtype.")


# ------------------------------------------------------------------ two_layer_net
@h.exercise("two_layer_net")
def two_layer_net(rng: np.random.Generator) -> list[h.Case]:
    cases = []
    # (N, d_in, h, d_out): square W1 and W2 first, so a missing transpose runs and is named by
    # its value; the others make it raise
    plans = [((int(rng.integers(3, 8)), 3, 3, 3), torch.float64, "float64"),
             ((int(rng.integers(3, 8)), 4, 5, 2), torch.float32, "float32"),
             ((1, 2, 6, 3), torch.float64, "batch of one")]
    for (n, d_in, width, d_out), dtype, kind in plans:
        args = [_t(rng.normal(0, 1, s), dtype) for s in ((n, d_in), (width, d_in), (width,), (d_out, width), (d_out,))]
        x, W1, b1, W2, b2 = (a.numpy().astype(np.float64) for a in args)  # what the student sees
        exp = np.tanh(x @ W1.T + b1) @ W2.T + b2
        desc = f"x {x.shape}, W1 {W1.shape}, b1, W2 {W2.shape}, b2"
        call = f"two_layer_net({desc}) in {_dtype_name(dtype)}"

        def judge(o, exp=exp, call=call, dtype=dtype):
            raised(o, call, "Check the shapes: x @ W1.T is (N, h), add b1 (h,), then multiply by "
                              "W2.T to get (N, d_out); a shape error usually means a missing .T.")
            h.expect_close(o["out"], exp, call, hint="f(x) = tanh(x @ W1.T + b1) @ W2.T + b2.", **_tol(dtype))
            expect_dtype(o["out"], dtype, call)
        cases.append(h.with_kind(h.call_case("two_layer_net", args, judge=judge, probe="call_or_error", desc=desc),
                           kind))
    return cases


# ------------------------------------------------------------------ mlp
ACTS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "Tanh": np.tanh,
    "ReLU": lambda z: np.maximum(z, 0.0),
    "Sigmoid": lambda z: 1.0 / (1.0 + np.exp(-z)),
    "Identity": lambda z: z,
}


def _mlp_forward(x: np.ndarray, weights: list, act: str, out_act: str) -> np.ndarray:
    y = x
    for i, (W, b) in enumerate(weights):
        y = ACTS[act if i < len(weights) - 1 else out_act](y @ W.T + b)
    return y


def _sizes(rng: np.random.Generator, *ranges: tuple[int, int]) -> list[int]:
    """Random layer sizes; the first two differ, so swapped (in, out) sizes never fit."""
    sizes = [int(rng.integers(lo, hi)) for lo, hi in ranges]
    if sizes[1] == sizes[0]:
        sizes[1] += 1
    return sizes


@h.exercise("mlp")
def mlp(rng: np.random.Generator) -> list[h.Case]:
    plans = [  # sizes, activation, output_activation (None = the default), kind
        (_sizes(rng, (2, 5), (3, 7), (3, 7), (1, 4)), None, None, "default activations"),
        (_sizes(rng, (2, 5), (3, 7), (1, 4)), "ReLU", "Sigmoid", "other activations"),
        (_sizes(rng, (1, 4), (2, 5)), None, "Tanh", "one layer"),
        (_sizes(rng, (2, 4), (2, 5), (2, 5), (2, 5), (1, 3)), "Sigmoid", None, "four layers"),
    ]
    cases = []
    for sizes, act, out_act, kind in plans:
        a, oa = act or "Tanh", out_act or "Identity"
        weights = [(rng.normal(0, 1, (sizes[i + 1], sizes[i])), rng.normal(0, 1, sizes[i + 1]))
                   for i in range(len(sizes) - 1)]
        x = rng.normal(0, 1.5, (int(rng.integers(3, 7)), sizes[0]))
        kwargs = {}
        if act:
            kwargs["activation"] = {"__module__": act}
        if out_act:
            kwargs["output_activation"] = {"__module__": out_act}
        desc = ", ".join([str(sizes)] + [f"{k}=nn.{v['__module__']}" for k, v in kwargs.items()])
        n = len(sizes) - 1
        want_modules = [m for i in range(n) for m in ("Linear", a if i < n - 1 else oa) if m != "Identity"]
        want_shapes = [[sizes[i], sizes[i + 1]] for i in range(n)]

        exp = _mlp_forward(x, weights, a, oa)

        def judge(o, call=f"mlp({desc})", exp=exp, want_modules=want_modules, want_shapes=want_shapes):
            raised(o, call, "Build the layers in a list and return nn.Sequential(*layers).",
                     {"list is not a Module subclass": "mlp/list_not_unpacked",
                      "is not a Module subclass": "mlp/not_instantiated"})
            if not o.get("sequential"):
                raise h.fail(f"{call} returned {o.get('type')}, expected an nn.Sequential")
            if o["linear_shapes"] != want_shapes:
                raise h.fail(f"{call} has Linear layers (in, out) {o['linear_shapes']}, expected {want_shapes}",
                             "Layer i is nn.Linear(sizes[i], sizes[i + 1]), one per consecutive pair of sizes.")
            if o["modules"] != want_modules:
                raise h.fail(f"{call} has modules {' -> '.join(o['modules'])}, expected "
                             f"{' -> '.join(want_modules)}",
                             "Linear, activation, Linear, activation, ..., Linear, output_activation.")
            if o["n_distinct"] != len(o["modules"]):
                raise h.fail(f"{call} uses one module object at several places",
                             "Call activation() for every layer.")
            if "out" not in o:
                raise h.fail(f"{call}: its forward pass could not be run with weights copied in")
            h.expect_close(o["out"], exp, f"{call} forward pass",
                           hint="The forward pass must be out_act(L_k(act(... act(L_1 x)))).")
        payload = {"weights": [[h.enc(torch.tensor(W)), h.enc(torch.tensor(b))] for W, b in weights],
                   "x": h.enc(torch.tensor(x))}
        cases.append(h.with_kind(h.call_case("mlp", [sizes], kwargs, judge=judge, probe="mlp", desc=desc, **payload),
                           kind))
    return cases


# ------------------------------------------------------------------ mse_loss
def _differences(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """pred - target with both signs and several sizes, so |d|, d and d**2 average differently."""
    d = rng.normal(0, 2, shape)
    d.flat[0] = rng.uniform(0.5, 2.0)
    d.flat[1] = -rng.uniform(0.5, 2.0)
    return d


@h.exercise("mse_loss")
def mse_loss(rng: np.random.Generator) -> list[h.Case]:
    cases = []
    plans = [((int(rng.integers(3, 12)),), torch.float64, "float64"),
             ((int(rng.integers(3, 12)),), torch.float32, "float32"),
             ((int(rng.integers(3, 9)), 1), torch.float64, "(N, 1)"),
             ((int(rng.integers(2, 6)), 3), torch.float32, "2-D")]
    for shape, dtype, kind in plans:
        target = rng.normal(0, 2, shape)
        pred_t = _t(target + _differences(rng, shape), dtype).requires_grad_(True)
        target_t = _t(target, dtype)
        d = (pred_t.detach() - target_t).numpy().astype(np.float64)  # what the student sees
        call = f"mse_loss(pred {shape}, target {shape}) in {_dtype_name(dtype)}"

        def judge(o, d=d, call=call, dtype=dtype):
            raised(o, call, "pred and target have the same shape; (pred - target) ** 2, then .mean().")
            out = o["out"]
            h.expect_close(out, np.mean(d ** 2), call, hint="MSE = mean((pred - target) ** 2) over all elements.",
                           scalar=True, **_tol(dtype))
            if not (isinstance(out, dict) and "__tensor__" in out):
                raise h.fail(f"{call} returned {h.kind_of(out)}, expected a scalar Tensor")
            if not out["grad_fn"]:
                raise h.fail(f"{call} returned a Tensor without a graph back to pred")
            expect_dtype(out, dtype, call)
            h.expect_close(o["grads"][0], 2 * d / d.size, f"the gradient of {call} with respect to pred",
                           hint="The gradient of the mean squared error is 2 (pred - target) / n.", **_tol(dtype))
        cases.append(h.with_kind(h.call_case("mse_loss", [pred_t, target_t], judge=judge, probe="call_or_error",
                                     backward=True, desc=f"pred {shape}, target {shape}"), kind))
    return cases


# ------------------------------------------------------------------ sgd_step
def _expect_param(got: Any, expected: np.ndarray, what: str, hint: str, tol: dict) -> None:
    a = h.obs_array(got)
    if a is None or a.shape != expected.shape or not np.allclose(a, expected, **tol):
        raise h.fail(f"{what} is {h.describe(got)}, expected {fmt(expected)}", hint)


@h.exercise("sgd_step")
def sgd_step(rng: np.random.Generator) -> list[h.Case]:
    cases = []
    plans = [  # (shapes, which grads are None, dtype, pass a generator, kind)
        ([(3, 2), (3,)], [], torch.float64, False, "float64"),
        ([(4,), (2, 2), (1,)], [1], torch.float32, False, "None grad"),
        ([(2, 3), (3,)], [], torch.float64, True, "generator"),
        ([(5,), (2, 1)], [], torch.float32, False, "float32"),
        ([(2,), (3,), (2, 2)], [0], torch.float64, False, "list"),
    ]
    for shapes, none_at, dtype, as_gen, kind in plans:
        lr = float(np.round(rng.uniform(0.05, 0.5), 3))
        values = [_t(rng.normal(0, 1, s), dtype) for s in shapes]
        grads = [None if i in none_at else _t(rng.normal(0, 1, s), dtype) for i, s in enumerate(shapes)]
        v64 = [v.numpy().astype(np.float64) for v in values]
        g64 = [None if g is None else g.numpy().astype(np.float64) for g in grads]
        what = "model.parameters()-like generator" if as_gen else "list"
        call = (f"sgd_step(<{what} of {len(shapes)} parameters"
                + (f", parameter {none_at[0]} with grad None" if none_at else "") + f">, lr={lr})")

        tol = _tol(dtype)

        def judge(o, v64=v64, g64=g64, lr=lr, call=call, tol=tol):
            raised(o, call, "Under torch.no_grad(), p -= lr * p.grad for each parameter with a gradient.",
                     {"NoneType": "sgd_step/none_grad",
                      "leaf Variable that requires grad": "sgd_step/no_no_grad"})
            for i, (v0, g) in enumerate(zip(v64, g64)):
                after = f"after {call}, parameter {i}"
                if g is None:
                    _expect_param(o["values"][i], v0, after + " (grad None)",
                                  "A parameter without a gradient is skipped: it stays unchanged.", tol)
                    continue
                _expect_param(o["values"][i], v0 - lr * g, after,
                              "theta <- theta - lr * grad, in place on the Parameter itself.", tol)
                grad = o["grads"][i]
                if grad is not None and np.any(h.obs_array(grad) != 0):
                    raise h.fail(f"{after} has .grad {h.describe(grad)}, expected zeros or None",
                                 "Zero each gradient after its update; the next backward() adds to it.")
            if not all(o["requires_grad"]):
                raise h.fail(f"after {call}, a parameter no longer requires grad",
                             "Update the values in place without changing requires_grad.")
            if o["shares_grad"]:
                raise h.fail(f"after {call}, parameter {o['shares_grad'][0]} changed when the gradient it "
                             "was given was changed later",
                             "The parameter must keep its own memory: update it in place.")
        payload = {"values": [h.enc(v) for v in values], "grads": [None if g is None else h.enc(g) for g in grads],
                   "lr": lr, "generator": as_gen}
        cases.append(h.with_kind(h.Case("sgd_step", payload, judge, call=call), kind))
    return cases
