"""Probes: how the grader calls a student's code inside the sandbox.

The grader never trusts what happens in the student's process. A *probe* runs there:
it decodes plain-data inputs, calls the student's function (or class) and encodes
what it observed as plain data. The *judge* (``autograder.hidden``), in the grader's
own process, compares those observations with reference values. Patching numpy,
torch or builtins in the notebook therefore cannot change a verdict.

This module holds no expected values and no hidden inputs: it is safe to expose.
Encoding is JSON-compatible (numbers, strings, lists, dicts) with tagged dicts for
arrays and tensors, so nothing is ever unpickled from the sandbox.
"""

from __future__ import annotations

import contextlib
import importlib
import math
import traceback
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

__all__ = ["PROBES", "ProbeError", "decode", "encode", "probe", "run_probe"]


class ProbeError(Exception):
    """The student's code raised, or returned something that cannot be observed."""


# ----------------------------------------------------------------- encoding
def _floats(a: np.ndarray) -> list:
    return a.tolist()


def encode(x: Any, depth: int = 0) -> Any:
    """Turn an observed value into plain JSON-able data, keeping type, dtype and shape."""
    if depth > 6:
        return {"__repr__": type(x).__name__}
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a dependency
        torch = None
    if torch is not None and isinstance(x, torch.Tensor):
        t = x.detach().cpu()
        if t.dtype == torch.bfloat16 or t.dtype == torch.float16:
            t = t.float()
        return {"__tensor__": _floats(t.numpy()), "dtype": str(x.dtype).replace("torch.", ""),
                "shape": list(x.shape), "requires_grad": bool(x.requires_grad),
                "grad_fn": x.grad_fn is not None}
    if isinstance(x, np.ndarray):
        if x.dtype == object:
            return {"__repr__": "ndarray[object]", "shape": list(x.shape)}
        return {"__nd__": _floats(x), "dtype": str(x.dtype), "shape": list(x.shape)}
    if isinstance(x, np.generic):
        return {"__np__": x.item(), "dtype": str(x.dtype)}
    if isinstance(x, bool) or x is None or isinstance(x, str):
        return x
    if isinstance(x, int):
        return x if abs(x) < 2**53 else float(x)
    if isinstance(x, float):
        return x
    if isinstance(x, tuple):
        return {"__tuple__": [encode(v, depth + 1) for v in x]}
    if isinstance(x, list):
        return [encode(v, depth + 1) for v in x]
    if isinstance(x, (set, frozenset)):  # a deterministic order: sorted by repr
        return {"__set__": [encode(v, depth + 1) for v in sorted(x, key=repr)]}
    if isinstance(x, dict):
        return {"__dict__": {str(k): encode(v, depth + 1) for k, v in x.items()}}
    return {"__repr__": type(x).__name__}


def decode(x: Any) -> Any:
    """Turn plain data from the judge into inputs: arrays, tensors, generators, envs, policies."""
    if isinstance(x, list):
        return [decode(v) for v in x]
    if not isinstance(x, dict):
        return x
    if "__nd__" in x:
        return np.asarray(x["__nd__"], dtype=x.get("dtype", "float64")).reshape(x["shape"])
    if "__tensor__" in x:
        import torch
        arr = np.asarray(x["__tensor__"]).reshape(x["shape"])
        t = torch.tensor(arr, dtype=getattr(torch, x.get("dtype", "float32")))
        if x.get("requires_grad"):
            t.requires_grad_(True)
        return t
    if "__tuple__" in x:
        return tuple(decode(v) for v in x["__tuple__"])
    if "__set__" in x:
        return {decode(v) for v in x["__set__"]}
    if "__dict__" in x:
        return {k: decode(v) for k, v in x["__dict__"].items()}
    if "__rng__" in x:
        return np.random.default_rng(x["__rng__"])
    if "__generator__" in x:
        import torch
        return torch.Generator().manual_seed(int(x["__generator__"]))
    if "__env__" in x:
        return make_env(x["__env__"])
    if "__policy__" in x:
        return make_policy(x["__policy__"])
    if "__float__" in x:
        return float(x["__float__"])
    if "__module__" in x:  # a torch.nn module class by name, e.g. nn.ReLU
        from torch import nn
        return getattr(nn, x["__module__"])
    raise ValueError(f"cannot decode {sorted(x)}")


def make_env(spec: dict) -> Any:
    """Build an environment from a plain description (runs inside the sandbox)."""
    kind = spec["kind"]
    if kind == "gridworld":
        from rlcore.mdp import TabularEnv, gridworld
        return TabularEnv(gridworld(spec.get("slip", 0.0)), start_state=spec.get("start_state"),
                          max_episode_steps=spec.get("max_episode_steps", 100))
    if kind == "gym":
        import gymnasium as gym
        return gym.make(spec["id"], **spec.get("kwargs", {}))
    raise ValueError(f"unknown env kind {kind!r}")


def make_policy(spec: dict) -> Callable[[Any], Any]:
    """Build a deterministic policy from a plain description."""
    kind = spec["kind"]
    if kind == "table":  # tabular obs -> action
        table = list(spec["table"])
        return lambda s: table[int(s)]
    if kind == "linear":  # CartPole-like: action = int(w . obs + b > 0)
        w = np.asarray(spec["w"], dtype=np.float64)
        b = float(spec.get("b", 0.0))
        return lambda o: int(np.dot(w, np.asarray(o, dtype=np.float64)) + b > 0)
    if kind == "const":
        a = spec["action"]
        return lambda o: a
    raise ValueError(f"unknown policy kind {kind!r}")


# ------------------------------------------------------------------- probes
PROBES: dict[str, Callable[..., Any]] = {}


def probe(name: str) -> Callable:
    """Register a probe: ``fn(target, **payload) -> observation`` (plain data)."""
    def deco(f: Callable) -> Callable:
        PROBES[name] = f
        return f
    return deco


@contextlib.contextmanager
def reference_helpers(target: Any, helpers: dict[str, str] | None) -> Iterator[None]:
    """While inside, the names ``helpers`` maps ("rollout": "rlcore.trajectory:rollout") resolve
    to rlcore's references in ``target``'s globals, so an exercise that calls another one
    (estimate_return calls rollout) is graded on its own code, not charged for the other's mistake.
    Names the target's module does not define are left alone; everything is restored on exit."""
    namespace = getattr(target, "__globals__", None)
    saved: dict[str, Any] = {}
    if helpers and isinstance(namespace, dict):
        for name, where in helpers.items():
            if name in namespace:
                module, attr = where.split(":")
                saved[name] = namespace[name]
                helper = getattr(importlib.import_module(module), attr)
                # the grader's own swap is not the learner calling a reference (see runner)
                namespace[name] = getattr(helper, "__wrapped_reference__", helper)
    try:
        yield
    finally:
        if isinstance(namespace, dict):
            namespace.update(saved)


def _call(target: Any, payload: dict) -> Any:
    args = decode(payload.get("args", []))
    kwargs = decode(payload.get("kwargs", {"__dict__": {}})) if "kwargs" in payload else {}
    with reference_helpers(target, payload.get("reference_helpers")):
        return target(*args, **kwargs), args, kwargs


@probe("call")
def _probe_call(target: Any, **payload: Any) -> Any:
    """Call target(*args, **kwargs) and observe the result (and, optionally, input grads)."""
    out, args, _kwargs = _call(target, payload)
    obs = {"out": encode(out)}
    if payload.get("backward"):
        import torch
        if isinstance(out, torch.Tensor) and out.requires_grad:
            out.sum().backward()
        obs["grads"] = [encode(a.grad) if isinstance(a, torch.Tensor) and a.grad is not None
                        else None for a in args]
    if payload.get("observe_args"):  # for functions that work in place
        obs["args_after"] = [encode(a) for a in args]
    return obs


@probe("call_many")
def _probe_call_many(target: Any, **payload: Any) -> Any:
    """Call target on several argument lists (e.g. a sampler with one shared generator)."""
    shared = decode(payload.get("shared", {"__dict__": {}}))
    outs = []
    for args in payload["calls"]:
        outs.append(encode(target(*decode(args), **shared)))
    return {"outs": outs}


@probe("trajectory")
def _probe_trajectory(target: Any, **payload: Any) -> Any:
    """Call a rollout-like function and observe the returned trajectory's fields."""
    out, _, _ = _call(target, payload)
    fields = {}
    for name in ("observations", "actions", "rewards", "terminated", "truncated"):
        if not hasattr(out, name):
            return {"type": type(out).__name__, "missing": name}
        value = getattr(out, name)
        if name in ("terminated", "truncated"):
            fields[name] = bool(np.asarray(value).item()) if np.size(value) == 1 else None
        else:
            fields[name] = encode(np.asarray(value, dtype=np.float64))
    try:
        fields["len"] = len(out)
    except TypeError:
        fields["len"] = None
    return {"type": type(out).__name__, **fields}


@probe("value")
def _probe_value(target: Any, **payload: Any) -> Any:
    """Observe a plain value (quiz answers)."""
    return {"out": encode(target)}


def describe_error(e: BaseException) -> str:
    """One line: the exception and the student's line that raised it."""
    tb = traceback.extract_tb(e.__traceback__)
    line = ""
    for fr in reversed(tb):
        if fr.filename.startswith("<ipython-input") or fr.filename.startswith("/tmp/ipykernel") \
                or "<cell" in fr.filename or fr.filename.startswith("<"):
            line = f" (line {fr.lineno}: {(fr.line or '').strip()})"
            break
    msg = str(e).splitlines()[0] if str(e) else ""
    return f"{type(e).__name__}: {msg}{line}"[:400]


def run_probe(name: str, target: Any, payload: dict) -> Any:
    """Run probe ``name`` on ``target``; raise ProbeError with a readable message on failure."""
    try:
        return PROBES[name](target, **payload)
    except NotImplementedError:
        raise ProbeError("NotImplementedError: it is not written yet (replace `raise NotImplementedError()` with your code)") from None
    except RecursionError:
        raise ProbeError("RecursionError: the function calls itself without end") from None
    except Exception as e:  # noqa: BLE001 - any student error is an observation
        raise ProbeError(describe_error(e)) from None


def is_finite_number(x: Any) -> bool:
    try:
        return math.isfinite(float(x))
    except (TypeError, ValueError):
        return False


# ------------------------------------------------ lessons 01 and 03 (nets, policies)
def _errors_observed(f: Callable[..., Any]) -> Callable[..., Any]:
    """Observe an exception of the student's code as {"error": "..."} so the judge can name
    the mistake behind it; NotImplementedError and RecursionError still propagate."""
    def wrapped(target: Any, **payload: Any) -> Any:
        try:
            return f(target, **payload)
        except (NotImplementedError, RecursionError):
            raise
        except Exception as e:  # noqa: BLE001 - the error is the observation
            return {"error": describe_error(e)}
    wrapped.__doc__ = f.__doc__
    return wrapped


probe("call_or_error")(_errors_observed(_probe_call))


@probe("mlp")
@_errors_observed
def _probe_mlp(target: Any, **payload: Any) -> Any:
    """Build target(*args, **kwargs); report its modules (nn.Identity, which computes nothing,
    left out) and Linear shapes, then run it in float64 on ``x`` after copying ``weights``
    [[W, b], ...] into its Linear layers in order."""
    import torch
    out, _, _ = _call(target, payload)
    obs: dict[str, Any] = {"type": type(out).__name__,
                           "sequential": isinstance(out, torch.nn.Sequential)}
    if not isinstance(out, torch.nn.Module):
        return obs
    children = list(out) if isinstance(out, torch.nn.Sequential) else list(out.children())
    children = [m for m in children if not isinstance(m, torch.nn.Identity)]
    linears = [m for m in out.modules() if isinstance(m, torch.nn.Linear)]
    obs.update(modules=[type(m).__name__ for m in children],
               n_distinct=len({id(m) for m in children}),
               linear_shapes=[[m.in_features, m.out_features] for m in linears])
    weights = decode(payload["weights"])
    if [list(w.shape[::-1]) for w, _ in weights] != obs["linear_shapes"]:
        return obs
    out.double()
    with torch.no_grad():
        for m, (w, b) in zip(linears, weights):
            m.weight.copy_(w)
            if m.bias is not None:
                m.bias.copy_(b)
        obs["out"] = encode(out(decode(payload["x"]).double()))
    return obs


@probe("sgd_step")
@_errors_observed
def _probe_sgd_step(target: Any, **payload: Any) -> Any:
    """Call target(params, lr) on Parameters with given values and grads (None allowed),
    passed as a list or a generator; report each original Parameter's value and grad after,
    which list entries were replaced by other objects, and which Parameters still share
    memory with the gradient they were given (they change when it is changed afterwards)."""
    import torch
    params = [torch.nn.Parameter(decode(v)) for v in payload["values"]]
    grads = [None if g is None else decode(g) for g in payload["grads"]]
    for p, g in zip(params, grads):
        p.grad = g
    given = list(params)
    target((p for p in given) if payload.get("generator") else given, payload["lr"])
    obs = {"values": [encode(p.detach()) for p in params],
           "grads": [None if p.grad is None else encode(p.grad) for p in params],
           "replaced": [i for i, (a, b) in enumerate(zip(given, params)) if a is not b],
           "requires_grad": [bool(p.requires_grad) for p in params]}
    after = [p.detach().clone() for p in params]
    with torch.no_grad():
        for g in grads:
            if g is not None:
                g.add_(1.0)  # the next backward() accumulates into the gradient like this
    obs["shares_grad"] = [i for i, (p, a) in enumerate(zip(params, after)) if not torch.equal(p.detach(), a)]
    return obs


@probe("sample_counts")
@_errors_observed
def _probe_sample_counts(target: Any, **payload: Any) -> Any:
    """Draw from target(batch, generator=g) ``repeats`` times, batch = logits (K, A) tiled
    ``tile`` times (row i is logits[i % K]); count the actions per logits row. Also observe
    whether two fresh generators with the same seed give the same first draw, and whether
    another seed gives a different one."""
    import torch
    logits = decode(payload["logits"])
    k, a = logits.shape
    batch = logits.repeat(int(payload["tile"]), 1)
    seed = int(payload["seed"])

    def draw(g: Any) -> Any:
        return target(batch, generator=g)

    gen = torch.Generator().manual_seed(seed)
    first = draw(gen)
    obs: dict[str, Any] = {"type": type(first).__name__,
                           "dtype": str(getattr(first, "dtype", "")).replace("torch.", ""),
                           "shape": list(getattr(first, "shape", []))}
    if not isinstance(first, torch.Tensor) or tuple(first.shape) != (batch.shape[0],):
        obs["first"] = encode(first)
        return obs
    counts = np.zeros((k, a), dtype=np.int64)
    rows = np.arange(batch.shape[0]) % k
    for r in range(int(payload["repeats"])):
        out = first if r == 0 else draw(gen)
        acts = np.asarray(out.detach().cpu().numpy()).astype(np.int64)
        if acts.min() < 0 or acts.max() >= a:
            obs["out_of_range"] = [int(acts.min()), int(acts.max())]
            return obs
        np.add.at(counts, (rows, acts), 1)
    obs["counts"] = counts.tolist()
    again = draw(torch.Generator().manual_seed(seed))
    other = draw(torch.Generator().manual_seed(seed + 1))
    obs["same_seed_equal"] = bool(torch.equal(torch.as_tensor(again).cpu(), first.cpu()))
    obs["other_seed_differs"] = not bool(torch.equal(torch.as_tensor(other).cpu(), first.cpu()))
    try:
        target(batch[:k])
        obs["default_generator_error"] = None
    except (NotImplementedError, RecursionError):
        raise
    except Exception as e:  # noqa: BLE001
        obs["default_generator_error"] = describe_error(e)
    return obs


# ------------------------------------------------------------------- lesson 06 (DQN)
@probe("replay_buffer")
@_errors_observed
def _probe_replay_buffer(target: Any, **payload: Any) -> Any:
    """Build target(capacity, obs_shape, seed=seed) and run ``ops`` in order:
    ["add", obs, actions, rewards, next_obs, dones] | ["len"] | ["sample", batch_size] |
    ["new"] (start again with a fresh buffer) | ["poke"] (add 1000 in place to the float arrays
    of the last add: what was stored must not change); observe len() and every sample's
    fields (or the error a sample raised)."""
    def build() -> Any:
        return target(payload["capacity"], decode(payload["obs_shape"]), seed=payload["seed"])

    buf = build()
    results: list[Any] = []
    last: list[Any] = []
    for op in payload["ops"]:
        if op[0] == "new":  # a second buffer with the same arguments (same seed)
            buf = build()
            results.append(None)
        elif op[0] == "add":
            last = decode(op[1:])
            buf.add(*last)
            results.append(None)
        elif op[0] == "poke":  # the caller reuses its arrays after add
            for a in last:
                if isinstance(a, np.ndarray) and a.dtype.kind == "f":
                    a += 1000.0
            results.append(None)
        elif op[0] == "len":
            results.append(len(buf))
        else:
            try:
                batch = buf.sample(int(op[1]))
            except (NotImplementedError, RecursionError):
                raise
            except Exception as e:  # noqa: BLE001 - sampling an empty buffer must raise
                results.append({"error": type(e).__name__, "message": describe_error(e)})
                continue
            results.append({"type": type(batch).__name__, **{
                f: encode(getattr(batch, f)) if hasattr(batch, f) else {"missing": f}
                for f in ("obs", "actions", "rewards", "next_obs", "dones")}})
    return {"results": results}


@probe("update_target")
@_errors_observed
def _probe_update_target(target: Any, **payload: Any) -> Any:
    """Build two nets Linear -> ReLU -> Linear holding ``target_weights`` / ``online_weights``
    ([W1, b1, W2, b2]), call target(target_net, online_net[, tau=tau]); observe both nets'
    parameters after, whether the target kept its Parameter objects, and the target's
    parameters again after the online ones were changed in place (they must not follow)."""
    import torch

    def build(weights: list) -> Any:
        w = [torch.as_tensor(np.asarray(decode(x), dtype=np.float32)) for x in weights]
        net = torch.nn.Sequential(torch.nn.Linear(w[0].shape[1], w[0].shape[0]), torch.nn.ReLU(),
                                  torch.nn.Linear(w[2].shape[1], w[2].shape[0]))
        with torch.no_grad():
            for p, v in zip(net.parameters(), w):
                p.copy_(v)
        return net

    target_net, online_net = build(payload["target_weights"]), build(payload["online_weights"])
    before = list(target_net.parameters())
    kwargs = {"tau": payload["tau"]} if "tau" in payload else {}
    target(target_net, online_net, **kwargs)
    after = list(target_net.parameters())
    obs = {"target": [encode(p.detach()) for p in after],
           "online": [encode(p.detach()) for p in online_net.parameters()],
           "same_objects": len(before) == len(after) and all(a is b for a, b in zip(before, after))}
    with torch.no_grad():  # a training step on the online network...
        for p in online_net.parameters():
            p.add_(1.0)
    obs["target_after_online_change"] = [encode(p.detach()) for p in target_net.parameters()]
    return obs
