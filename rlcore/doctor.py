"""``rlcore.doctor()``: a self-check a learner runs first, with a fix for each problem."""

from __future__ import annotations

import importlib
import platform
import sys
from importlib import metadata

__all__ = ["doctor"]

_PINS = {
    "torch": "2.13.0", "numpy": "2.4.6", "gymnasium": "1.4.0", "matplotlib": "3.11.2",
    "ipywidgets": "8.1.9",
}
_FIX = "run `make setup` in the course folder (or, on Colab, run the lesson's first cell)"


def _check(label: str, fn) -> tuple[bool, str]:
    try:
        detail = fn()
        return True, f"\u2713 {label}" + (f": {detail}" if detail else "")
    except Exception as e:  # noqa: BLE001 - doctor reports every failure, never crashes
        return False, f"\u2717 {label}: {type(e).__name__}: {e}"


def _python() -> str:
    if sys.version_info < (3, 10):  # noqa: UP036 - doctor runs before anything else can fail
        raise RuntimeError(f"Python {platform.python_version()} is too old; the course needs 3.10+")
    return platform.python_version()


def _versions() -> str:
    wrong = []
    for pkg, want in _PINS.items():
        try:
            have = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            wrong.append(f"{pkg} missing")
            continue
        if have.split("+")[0] != want:
            wrong.append(f"{pkg} {have} (course tested {want})")
    if wrong:
        raise RuntimeError("; ".join(wrong) + f" -> {_FIX}")
    return ", ".join(f"{p} {v}" for p, v in _PINS.items())


def _kernel() -> str:
    try:
        from IPython import get_ipython
        ip = get_ipython()
    except ImportError:
        ip = None
    in_kernel = ip is not None and ("ipykernel" in sys.modules or "ZMQ" in type(ip).__name__)
    where = "Jupyter kernel" if in_kernel else ("IPython" if ip is not None else "plain Python")
    return f"{where}, {sys.executable}"


def _gym() -> str:
    import gymnasium as gym
    env = gym.make("CartPole-v1")
    obs, _ = env.reset(seed=0)
    obs = env.step(env.action_space.sample())[0]
    return f"CartPole-v1 steps (obs shape {obs.shape})"


def _torch() -> str:
    import torch
    x = torch.ones(3, requires_grad=True)
    (x * x).sum().backward()
    if not torch.allclose(x.grad, torch.full((3,), 2.0)):
        raise RuntimeError("autograd gave a wrong gradient")
    return f"autograd works, {torch.get_num_threads()} CPU threads"


def _plots() -> str:
    import io

    import matplotlib.pyplot as plt
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1])
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    if buf.tell() < 100:
        raise RuntimeError("matplotlib produced an empty image")
    return f"matplotlib backend {plt.get_backend()}"


def _rlcore() -> str:
    importlib.import_module("rlcore")
    from rlcore import gridworld
    return f"gridworld has {gridworld().n_states} states"


def doctor(verbose: bool = True) -> bool:
    """Check Python, package versions, the kernel, Gymnasium, torch and plotting.

    Prints one line per check and, for each failure, what to do. Returns True when
    everything works.
    """
    checks = [
        ("Python", _python), ("package versions", _versions), ("kernel", _kernel),
        ("Gymnasium", _gym), ("PyTorch", _torch), ("plots", _plots), ("rlcore", _rlcore),
    ]
    results = [_check(label, fn) for label, fn in checks]
    ok = all(r[0] for r in results)
    if verbose:
        for _, line in results:
            print(line)
        print("All good: you are ready for the course." if ok else
              f"Something needs fixing (see the \u2717 lines). Usually: {_FIX}, then restart the kernel.")
    return ok
