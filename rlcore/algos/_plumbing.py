"""What every trainer shares, so that each algorithm file keeps only its loop.

- ``LearnerFunctionError``: the one error a trainer raises when a learner's exercise
  function raised or returned something unusable (catch it once for every trainer).
- ``learner_functions`` + ``call_learner`` + ``expect_tensor`` / ``expect_array``: plug the
  learner's functions in, check each against its visible check before training, call
  them so an error names the function and the call, validate what comes back.
- ``check_fields``: the config validation (every error names ``Config.field`` and its range).
- ``make_vec_env``: the one env factory (vectorized where possible, spaces checked).
- ``Curve``: the evaluation record every ``Result`` carries; ``Curve.record`` is the one
  evaluate-and-record step (greedy evaluation, solved bookkeeping, callback, live curve).
- ``TrainClock``: training wall clock with evaluation excluded (the benchmark protocol).
- ``NotLearning``: stops a run whose evaluations do not move and names what to re-check.

Benchmark protocol: every ``eval_every`` environment steps, the greedy (deterministic)
policy plays ``eval_episodes`` episodes; "solved" when their mean return reaches the
target. Evaluation time is not training time.
"""

from __future__ import annotations

import contextlib
import copy
import io
import math
import numbers
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from torch import nn

from .._display import CourseMessage
from .._format import brief, describe_exception, fmt, learner_line

__all__ = [
    "Curve",
    "LearnerFunctionError",
    "NotLearning",
    "TrainClock",
    "call_learner",
    "check_fields",
    "expect_array",
    "expect_tensor",
    "learner_functions",
    "make_vec_env",
    "progress_display",
]


class LearnerFunctionError(RuntimeError, CourseMessage):
    """A learner's exercise function given to a trainer raised or returned something unusable.

    ``function``: the exercise's name (``"pg_loss"``); ``call``: the call that went wrong.
    The message names both and says what to do; in Jupyter it shows without a traceback.
    """

    def __init__(self, function: str, message: str, call: Any = "", hint: str = "") -> None:
        call = str(call)  # a lazy ``Call`` is described only now, when something went wrong
        self.function, self.call, self.hint = function, call, hint
        text = f"\u2717 your {function} {message}"
        if call:
            text += f"\n  in the call {call}"
        if hint:
            text += f"\n  hint: {hint}"
        super().__init__(text)


class NotLearning(LearnerFunctionError):
    """Training stopped early: the evaluations did not improve within the budget."""


# ---------------------------------------------------------------- the learner's functions
def describe_call(name: str, args: tuple, kwargs: Mapping[str, Any] | None = None) -> str:
    """``name(Tensor(5,):float32, 0.9, tau=1.0)``: a call described by its arguments' shapes."""
    parts = [brief(a) for a in args] + [f"{k}={brief(v)}" for k, v in (kwargs or {}).items()]
    return f"{name}({', '.join(parts)})"


class Call:
    """The description of a call, ``name(Tensor(5,):float32, 0.9) during training``, made lazily.

    ``str(call)`` builds it; a trainer calls the learner's functions thousands of times and
    needs the text only in the one call that fails.
    """

    __slots__ = ("args", "name", "when")

    def __init__(self, name: str, args: tuple, when: str = "") -> None:
        self.name, self.args, self.when = name, args, when

    def __str__(self) -> str:
        text = describe_call(self.name, self.args)
        return f"{text} {self.when}" if self.when else text


def call_learner(name: str, fn: Callable, *args: Any, when: str = "during training",
                 **kwargs: Any) -> Any:
    """Return ``fn(*args, **kwargs)``; any exception becomes a LearnerFunctionError naming ``name``.

    when: said after the call ("before training, on a tiny batch").
    """
    try:
        return fn(*args, **kwargs)
    except LearnerFunctionError:
        raise
    except NotImplementedError:
        error = LearnerFunctionError(name, "is not written yet (it raised NotImplementedError)",
                                     hint=f"write {name} in its cell, run the cell and its check, then "
                                          "train again.")
    except Exception as e:  # noqa: BLE001 - whatever the learner's code raises is reported
        where = learner_line(e.__traceback__)  # the learner's line, not torch's internals
        at = f" (at {where})" if where else ""
        from .. import catalog

        known = catalog.get(name.split(".")[0])  # "ReplayBuffer.add" is ReplayBuffer's
        named = known.raised(e) if known is not None else None
        error = LearnerFunctionError(
            name, f"raised {describe_exception(e)}{at}", call=f"{describe_call(name, args, kwargs)} {when}",
            hint=named.message if named is not None
            else f"fix {name} (its visible check in the lesson should pass) and train again.")
        error.__cause__ = e  # kept for the folded details, not shown as a chained traceback
    raise error


def learner_functions(given: Mapping[str, Any], reference: Mapping[str, Any],
                      check: bool = True) -> dict[str, Any]:
    """Return {name: function to use}: the learner's where given, else the reference.

    given: the trainer's keyword arguments (None = use the reference). check: run each
    learner-given function's visible check (``rlcore.check.check_NAME``) quietly first;
    a failure raises LearnerFunctionError carrying the check's own message, so a broken
    function stops training before it starts instead of after a wasted budget.
    Raises ValueError for a name that is not one of the trainer's exercises.
    """
    unknown = set(given) - set(reference)
    if unknown:
        raise ValueError(f"unknown exercise functions {sorted(unknown)}; this trainer takes "
                         f"{sorted(reference)}")
    chosen = {name: (given.get(name) or ref) for name, ref in reference.items()}
    if check:
        for name, fn in chosen.items():
            if fn is not reference[name]:
                precheck(name, fn)
    return chosen


def precheck(name: str, fn: Any) -> None:
    """Run ``rlcore.check.check_<name>(fn)`` with its output captured; raise if it fails."""
    from .. import check  # visible checks import nothing from the trainers

    visible = getattr(check, f"check_{name}", None)
    if visible is None:
        return
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            visible(fn)
    except check.CheckFailed as e:
        if "not written yet" in str(e).splitlines()[0]:
            raise LearnerFunctionError(name, "is not written yet (it raised NotImplementedError)",
                                       hint=f"write {name} in its cell, run the cell and its check, "
                                            "then train again.") from None
        raise LearnerFunctionError(
            name, "does not pass its check yet, so training would not learn:\n"
            + "\n".join("  " + line for line in str(e).splitlines()),
            hint=f"run the check cell below {name} and fix what it says, then train again.",
        ) from None


def expect_tensor(name: str, out: Any, call: str, *, shape: tuple[int, ...] | None = None,
                  scalar: bool = False, requires_grad: bool | None = None,
                  finite: bool = True) -> torch.Tensor:
    """Return ``out`` if it is a Tensor of the expected kind, else raise naming ``name``.

    scalar: one number (any shape with one element; returned as 0-dim). requires_grad:
    True = must carry a gradient (a loss), False = must not (a target).
    """
    if not isinstance(out, torch.Tensor):
        hint = ("return the Tensor itself (no .item(), float() or .numpy()), so its gradient can "
                "flow" if requires_grad else "return a torch Tensor")
        raise LearnerFunctionError(name, f"returned {brief(out)}, not a Tensor", call, hint)
    if scalar:
        if out.numel() != 1:
            raise LearnerFunctionError(name, f"returned shape {tuple(out.shape)}, expected a scalar",
                                       call, "average over the batch (.mean()): one number.")
        out = out.reshape(())
    elif shape is not None and tuple(out.shape) != tuple(shape):
        raise LearnerFunctionError(name, f"returned shape {tuple(out.shape)}, expected {tuple(shape)}",
                                   call, _broadcast_hint(tuple(out.shape), tuple(shape)))
    if requires_grad is True and not out.requires_grad:
        raise LearnerFunctionError(name, "returned a Tensor with no gradient", call,
                                   "keep the network's output in the computation: no .detach(), "
                                   ".numpy() or torch.tensor(...) on it.")
    if requires_grad is False and out.requires_grad:
        raise LearnerFunctionError(name, "returned a Tensor that requires grad", call,
                                   "a target is a constant: compute it under torch.no_grad() or "
                                   ".detach() it.")
    if finite and not bool(torch.isfinite(out.detach()).all()):
        raise LearnerFunctionError(name, f"returned non-finite values (nan or inf): {fmt(out)}", call)
    return out


def checked_call(expect: Callable, name: str, fn: Callable, *args: Any, when: str, **checks: Any) -> Any:
    """Call the learner's ``fn(*args)`` as ``name`` and return ``expect(name, out, call, **checks)``.

    expect: ``expect_tensor``, ``expect_array`` or a function of the same signature; call is
    the description ``name(Tensor(5,):float32, ...) <when>`` that every message starts from.
    """
    out = call_learner(name, fn, *args, when=when)
    return expect(name, out, Call(name, args, when), **checks)


def expect_array(name: str, out: Any, call: str, shape: tuple[int, ...],
                 finite: bool = True) -> np.ndarray:
    """Return ``out`` as a float64 array of ``shape``, else raise naming ``name``."""
    try:
        value = out.detach().cpu().numpy() if isinstance(out, torch.Tensor) else out
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as e:
        raise LearnerFunctionError(name, f"returned {brief(out)}, not an array of numbers ({e})",
                                   call) from None
    if arr.shape != tuple(shape):
        raise LearnerFunctionError(name, f"returned shape {arr.shape}, expected {tuple(shape)}", call,
                                   _broadcast_hint(arr.shape, tuple(shape)))
    if finite and not np.isfinite(arr).all():
        raise LearnerFunctionError(name, f"returned non-finite values (nan or inf): {fmt(arr)}", call)
    return arr


def _broadcast_hint(got: tuple[int, ...], want: tuple[int, ...]) -> str:
    if len(got) == len(want) + 1 and got[:-1] == want and got[-1] in (1, want[-1] if want else 1):
        return "a trailing dimension too many: (B, 1) - (B,) broadcasts to (B, B); .squeeze(-1) it."
    if len(got) == 2 and len(want) == 2 and got == want[::-1]:
        return "the two axes are swapped: time runs along axis 0, envs along axis 1."
    return ""


# ---------------------------------------------------------------- config
def check_fields(config: Any, *, positive_ints: Iterable[str] = (), nonneg_ints: Iterable[str] = (),
                 unit: Iterable[str] = (), positive: Iterable[str] = (),
                 optional_positive: Iterable[str] = (), sizes: Iterable[str] = (),
                 nonneg: Iterable[str] = (), bools: Iterable[str] = (),
                 optional_positive_ints: Iterable[str] = ()) -> None:
    """Raise ValueError naming ``Config.field`` and its allowed range for the first bad field.

    positive_ints: integers >= 1; nonneg_ints: integers >= 0; unit: numbers in [0, 1];
    positive: finite numbers > 0; optional_positive: None or a number > 0; sizes: tuples
    of positive ints (hidden layer widths); nonneg: finite numbers >= 0; bools: True or False;
    optional_positive_ints: None or an integer >= 1 (``threads``: None means all cores).
    """
    def value(name: str) -> Any:
        return getattr(config, name)

    def is_int(v: Any) -> bool:
        return isinstance(v, numbers.Integral) and not isinstance(v, bool)

    def is_real(v: Any) -> bool:
        return isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(float(v))

    kind = type(config).__name__
    for name in positive_ints:
        if not (is_int(value(name)) and value(name) >= 1):
            raise ValueError(f"{kind}.{name} must be an integer >= 1, got {value(name)!r}")
    for name in nonneg_ints:
        if not (is_int(value(name)) and value(name) >= 0):
            raise ValueError(f"{kind}.{name} must be an integer >= 0, got {value(name)!r}")
    for name in unit:
        if not (is_real(value(name)) and 0.0 <= float(value(name)) <= 1.0):
            raise ValueError(f"{kind}.{name} must be a number in [0, 1], got {value(name)!r}")
    for name in positive:
        if not (is_real(value(name)) and float(value(name)) > 0):
            raise ValueError(f"{kind}.{name} must be a number > 0, got {value(name)!r}")
    for name in optional_positive:
        v = value(name)
        if v is not None and not (is_real(v) and float(v) > 0):
            raise ValueError(f"{kind}.{name} must be None or a number > 0, got {v!r}")
    for name in nonneg:
        if not (is_real(value(name)) and float(value(name)) >= 0):
            raise ValueError(f"{kind}.{name} must be a number >= 0, got {value(name)!r}")
    for name in bools:
        if not isinstance(value(name), bool):
            raise ValueError(  # noqa: TRY004 - every Config error is a ValueError naming the field
                f"{kind}.{name} must be True or False, got {value(name)!r}")
    for name in sizes:
        v = value(name)
        if isinstance(v, (str, bytes)) or not isinstance(v, Iterable) or not (
                len(tuple(v)) > 0 and all(is_int(h) and h >= 1 for h in v)):
            raise ValueError(f"{kind}.{name} must be a non-empty tuple of positive ints, got {v!r}")
    for name in optional_positive_ints:
        if value(name) is not None and not (is_int(value(name)) and value(name) >= 1):
            raise ValueError(f"{kind}.{name} must be an integer >= 1, got {value(name)!r}")


# ---------------------------------------------------------------- environments
# Gymnasium ids without a vectorized implementation for which rlcore has one (numpy,
# same dynamics step for step, tested): "module:attribute" of a VectorEnv class.
VECTOR_ENVS: dict[str, str] = {"Pendulum-v1": "rlcore.pendulum:VectorPendulum"}


def make_vec_env(env_id: str, n_envs: int, actions: str = "discrete",
                 field_name: str = "Config.env_id") -> gym.vector.VectorEnv:
    """Return ``n_envs`` copies of ``env_id`` stepped together as one vector env.

    Gymnasium's own vectorized implementation when it has one (CartPole), else rlcore's
    (``VECTOR_ENVS``), else a SyncVectorEnv. actions: "discrete", "box" or "any" (either),
    the action space the trainer needs. Observations must be a flat Box.
    Raises ValueError naming ``field_name`` for an unknown id or unsuitable spaces.
    """
    if isinstance(env_id, str) and env_id.startswith("rlcore/"):
        from .. import probe_envs  # noqa: F401 - registers rlcore's probe environments
    try:
        spec = gym.spec(env_id)
    except Exception:  # noqa: BLE001 - any lookup failure means an unknown id
        raise ValueError(f"{field_name}: unknown Gymnasium environment {env_id!r}") from None
    if env_id in VECTOR_ENVS:
        import importlib

        module, attr = VECTOR_ENVS[env_id].split(":")
        envs = getattr(importlib.import_module(module), attr)(num_envs=n_envs)
    else:
        mode = "vector_entry_point" if spec.vector_entry_point is not None else "sync"
        envs = gym.make_vec(env_id, num_envs=n_envs, vectorization_mode=mode)
    want, wanted = {"discrete": (gym.spaces.Discrete, "Discrete"),
                    "box": (gym.spaces.Box, "continuous (Box)"),
                    "any": ((gym.spaces.Discrete, gym.spaces.Box), "Discrete or continuous (Box)")}[actions]
    problem = ""
    if not isinstance(envs.single_action_space, want):
        problem = f"has actions {envs.single_action_space}; this trainer needs {wanted} actions"
    elif not (isinstance(envs.single_observation_space, gym.spaces.Box)
              and len(envs.single_observation_space.shape) == 1):
        problem = f"needs a flat Box observation space, got {envs.single_observation_space}"
    if problem:
        envs.close()
        raise ValueError(f"{field_name}: {env_id!r} {problem}")
    return envs


# ---------------------------------------------------------------- evaluation and the record
def frozen_copy(net: nn.Module) -> nn.Module:
    """Return a deep copy of ``net`` whose parameters do not require grad (a target network)."""
    target = copy.deepcopy(net)
    for p in target.parameters():
        p.requires_grad_(False)
    return target


def adam(params: Any, **options: Any) -> torch.optim.Optimizer:
    """Return ``torch.optim.Adam(params, **options)``, fused (one kernel for every tensor) where torch allows.

    params: parameters or parameter groups (each with its own ``lr``); fused Adam is about
    1.8x faster a step for the course's tiny networks, with the same arithmetic.
    """
    params = list(params)
    try:
        return torch.optim.Adam(params, fused=True, **options)
    except (RuntimeError, TypeError, ValueError):  # pragma: no cover - builds without the fused kernel
        return torch.optim.Adam(params, **options)


def numpy_forward(net: nn.Module) -> Callable[[np.ndarray], np.ndarray]:
    """Return f(x) = net(x) on float32 numpy arrays, for a rollout's forward passes (no gradient).

    For an ``nn.Sequential`` of Linear, Tanh, ReLU and Identity layers (``rlcore.nets.mlp``)
    f computes each layer as ``x @ W^T + b`` and the activation in numpy, on views of the
    layers' tensors (shared memory: the optimiser's in-place updates show at the next call).
    For a batch of 16 observations that is ~3x cheaper than ``net(x)``: it skips torch's
    dispatch and module machinery, and numpy's tanh is several times faster than torch's on
    this CPU. Equal to ``net(x)`` up to float32 rounding (tested). Any other net: f converts
    x to a tensor, runs ``net`` under ``no_grad`` and returns its output as an array.
    """
    kinds = {nn.Tanh: np.tanh, nn.ReLU: lambda h: np.maximum(h, np.float32(0.0)), nn.Identity: None}
    if not isinstance(net, nn.Sequential) or not all(
            (isinstance(m, nn.Linear) and m.bias is not None) or type(m) in kinds for m in net):
        def through_torch(x: np.ndarray) -> np.ndarray:
            with torch.no_grad():
                return net(torch.from_numpy(np.asarray(x, dtype=np.float32))).numpy()
        return through_torch
    steps = [(m.weight.detach().numpy().T, m.bias.detach().numpy()) if isinstance(m, nn.Linear)
             else kinds[type(m)] for m in net]

    def forward(x: np.ndarray) -> np.ndarray:
        for s in steps:
            if isinstance(s, tuple):
                x = x @ s[0]
                x += s[1]
            elif s is not None:
                x = s(x)
        return x

    return forward


def clip_grad_norm(params: list[torch.Tensor], max_norm: float) -> torch.Tensor:
    """Scale the gradients of ``params`` in place so that their joint norm is at most ``max_norm``.

    g <- g * min(1, max_norm / (||g||_2 + 1e-6)), ||g||_2 over all tensors together: the same
    arithmetic as ``torch.nn.utils.clip_grad_norm_`` (bit for bit, tested), at half its cost
    a step for a list of a few small tensors. Returns the norm before clipping.
    """
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:  # as torch: nothing to clip, norm 0
        return torch.tensor(0.0)
    norm = torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads)))
    torch._foreach_mul_(grads, torch.clamp(max_norm / (norm + 1e-6), max=1.0))
    return norm


def prepare(config: Any, cls: type, given: dict[str, Any], references: Any,
            check_functions: bool) -> tuple[dict[str, Any], list[str]]:
    """Validate a trainer's ``config`` (a ``cls``) and the learner's functions ``given``.

    references: the module holding rlcore's implementation of each name (used where the
    learner gave None). Returns (every part by name, the names the learner gave).
    Raises TypeError for a config of another class, ValueError naming the bad field,
    LearnerFunctionError for a given function that fails its visible check.
    """
    if not isinstance(config, cls):
        raise TypeError(f"config must be an {cls.__module__}.{cls.__name__}, got {type(config).__name__}")
    config.validate()
    parts = learner_functions(given, {name: getattr(references, name) for name in given},
                              check=check_functions)
    return parts, [name for name, fn in given.items() if fn is not None]


def close_all(envs: Any, live: Any) -> None:
    """Close the training envs and the live display (``None``: none), however training ended."""
    envs.close()
    if live is not None:
        live.close()


def stop_now(result: Any, stop: bool, config: Any, env_steps: int, seconds: float) -> bool:
    """Return True when training ends here: ``stop`` asked for it, or a budget is spent.

    A spent budget is recorded in ``result.stopped_by`` ("max_env_steps" or "max_seconds").
    """
    if not stop and (spent := budget_spent(config, env_steps, seconds)):
        result.stopped_by, stop = spent, True
    return stop


def budget_spent(config: Any, env_steps: int, seconds: float) -> str | None:
    """Why a run stops for its budget: ``"max_env_steps"`` once ``env_steps >=
    config.max_env_steps``, ``"max_seconds"`` once the training clock reaches
    ``config.max_seconds`` (None: no time limit), else None (go on)."""
    if env_steps >= config.max_env_steps:
        return "max_env_steps"
    if config.max_seconds is not None and seconds >= config.max_seconds:
        return "max_seconds"
    return None


class TrainClock:
    """Training wall clock that excludes evaluation: ``with clock.paused(): evaluate(...)``."""

    def __init__(self) -> None:
        self._start = time.perf_counter()
        self._paused = 0.0

    @property
    def seconds(self) -> float:
        """Seconds of training so far (evaluation excluded)."""
        return time.perf_counter() - self._start - self._paused

    @contextlib.contextmanager
    def paused(self) -> Any:
        t = time.perf_counter()
        try:
            yield
        finally:
            self._paused += time.perf_counter() - t


def progress_display(progress: bool, target: float | None, title: str) -> Any:
    """Return a ``rlcore.live.LiveCurve`` (figure + status line updated in place), or None."""
    if not progress:
        return None
    from ..live import LiveCurve

    return LiveCurve(target=target, title=title)


@dataclass(kw_only=True)
class Curve:
    """The evaluations of a run: what every trainer's ``Result`` carries.

    env_steps[k], train_seconds[k], eval_return[k]: the k-th greedy evaluation (training
    time excludes evaluation); losses[k]: the mean loss since the previous one;
    diagnostics[key][k]: other per-evaluation numbers (entropy, approximate KL, ...).
    solved_at_seconds / solved_at_steps: at the first evaluation reaching the target
    (None if none did); post_solve_returns: the evaluations after it.
    """

    config: Any
    env_steps: list[int] = field(default_factory=list)
    train_seconds: list[float] = field(default_factory=list)
    eval_return: list[float] = field(default_factory=list)
    losses: list[float] = field(default_factory=list)
    diagnostics: dict[str, list[float]] = field(default_factory=dict)
    solved_at_seconds: float | None = None
    solved_at_steps: int | None = None
    post_solve_returns: list[float] = field(default_factory=list)
    stopped_by: str = ""  # "solved", "max_env_steps", "max_seconds", "callback", "not learning"

    @property
    def solved(self) -> bool:
        """True when some evaluation reached the target return."""
        return self.solved_at_steps is not None

    def record(self, returns: np.ndarray, env_steps: int, train_seconds: float, target: float,
               loss: float = math.nan, callback: Callable[[dict], Any] | None = None,
               live: Any = None, stop_on_solve: bool = False, evals_after_solve: int = 0,
               **extra: float) -> bool:
        """Append one evaluation (the greedy returns R(tau) of its episodes); return True to stop.

        Calls ``live(info)`` and ``callback(info)`` with info keys env_steps, train_seconds,
        eval_return, eval_returns, loss, solved and the ``extra`` diagnostics. Stops when the
        callback returns True, or ``evals_after_solve`` evaluations after solving when
        ``stop_on_solve``.
        """
        eval_return = float(np.mean(returns))
        self.env_steps.append(int(env_steps))
        self.train_seconds.append(float(train_seconds))
        self.eval_return.append(eval_return)
        self.losses.append(float(loss))
        for key, v in extra.items():
            self.diagnostics.setdefault(key, []).append(float(v))
        if self.solved:
            self.post_solve_returns.append(eval_return)
        elif eval_return >= target:
            self.solved_at_seconds, self.solved_at_steps = float(train_seconds), int(env_steps)
        info = dict(env_steps=int(env_steps), train_seconds=float(train_seconds),
                    eval_return=eval_return, eval_returns=np.asarray(returns), loss=float(loss),
                    solved=self.solved, **{k: float(v) for k, v in extra.items()})
        if live is not None:
            live(info)
        if callback is not None and callback(dict(info)):
            self.stopped_by = "callback"
            return True
        if stop_on_solve and self.solved and len(self.post_solve_returns) >= evals_after_solve:
            self.stopped_by = "solved"
            return True
        return False

    def summary(self) -> str:
        """``12 evaluations, best eval return 500.0, solved in 0.42 s / 38,000 steps``."""
        best = max(self.eval_return) if self.eval_return else float("nan")
        solved = (f"solved in {self.solved_at_seconds:.2f} s / {self.solved_at_steps:,d} steps"
                  if self.solved else "not solved")
        after = ""
        if self.post_solve_returns:
            after = (f", mean of the {len(self.post_solve_returns)} evaluations after solving "
                     f"{np.mean(self.post_solve_returns):.1f}")
        env = getattr(self.config, "env_id", "")
        return f"{env}, {len(self.eval_return)} evaluations, best eval return {best:.1f}, {solved}{after}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.summary()})"

    def watch(self, learner: Iterable[str], patience_steps: int, min_gain: float, target: float) -> None:
        """Raise NotLearning when ``patience_steps`` passed and no evaluation beat the first by ``min_gain``.

        learner: the exercise functions the learner supplied (named in the message); with
        none, the message points at the hyperparameters instead. min_gain: a fraction of
        the gap between the first evaluation and the target.
        """
        if not self.eval_return or self.env_steps[-1] < patience_steps or self.solved:
            return
        first, best = self.eval_return[0], max(self.eval_return)
        if best - first >= min_gain * abs(target - first):
            return
        names = sorted(learner)
        self.stopped_by = "not learning"
        what = (f"re-check {', '.join(names)}: each passes its own check, yet together they do "
                "not learn (a sign, a missing term, a gradient that does not flow)"
                if names else "this config does not learn: try the defaults, then change one "
                "field at a time")
        raise NotLearning(
            "training run" if not names else " and ".join(names),
            f"made no progress: after {self.env_steps[-1]:,d} env steps the best evaluation is "
            f"{best:.1f}, the first was {first:.1f} (target {target:g}); stopped early instead of "
            "running out the budget",
            hint=what)


