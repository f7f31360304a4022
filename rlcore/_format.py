"""How the course shows values in messages: ``fmt`` for a value, ``brief`` for its type and shape.

One formatter for every message of the course (visible checks, hidden tests, trainers),
so a Tensor reads the same wherever the learner meets it.
"""

from __future__ import annotations

import sysconfig
import traceback
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["brief", "describe_exception", "fmt", "learner_frame", "learner_line", "to_numpy"]

_LIBRARY_DIRS = tuple(str(Path(p).resolve()) for p in {sysconfig.get_paths()["stdlib"],
                                                        sysconfig.get_paths()["purelib"],
                                                        sysconfig.get_paths()["platlib"]})
_RLCORE_DIR = str(Path(__file__).resolve().parent)


def to_numpy(x: Any) -> Any:
    """Return tensors and array-likes as numpy arrays (other objects unchanged)."""
    if hasattr(x, "detach") and hasattr(x, "numpy"):
        return x.detach().cpu().numpy()
    return x


def fmt(x: Any, limit: int = 160) -> str:
    """A short, readable repr of a value for messages."""
    if hasattr(x, "detach") and hasattr(x, "shape"):
        arr = to_numpy(x)
        body = np.array2string(arr, precision=4, threshold=12, edgeitems=3, suppress_small=True)
        s = f"tensor({body}, shape={tuple(arr.shape)}, dtype={str(x.dtype).replace('torch.', '')})"
    elif isinstance(x, np.ndarray):
        body = np.array2string(x, precision=4, threshold=12, edgeitems=3, suppress_small=True)
        s = f"array({body}, shape={x.shape})" if x.ndim else f"{x.item()!r}"
    elif isinstance(x, float):
        s = f"{x:.6g}"
    elif isinstance(x, (list, tuple)) and any(hasattr(v, "shape") for v in x):  # e.g. parameters
        inner = ", ".join(fmt(v, max(20, limit // max(1, len(x)))) for v in x)
        s = f"[{inner}]" if isinstance(x, list) else f"({inner})"
    elif callable(x) and getattr(x, "__name__", None) and not isinstance(x, type):
        name = x.__name__
        s = "<a lambda>" if name == "<lambda>" else f"<function {name}>"
    else:
        s = repr(x)
        if " at 0x" in s:  # the default repr says nothing useful: show the type
            s = f"<{type(x).__name__}>"
    s = " ".join(s.split())
    return s if len(s) <= limit else s[: limit - 3] + "..."


def brief(x: Any) -> str:
    """Type, shape and dtype of ``x`` without its values: ``Tensor(5, 2):float32``, ``array(3,):int64``."""
    if hasattr(x, "detach") and hasattr(x, "shape") and hasattr(x, "dtype"):
        grad = ", requires grad" if getattr(x, "requires_grad", False) else ""
        return f"Tensor{tuple(x.shape)}:{str(x.dtype).replace('torch.', '')}{grad}"
    if isinstance(x, np.ndarray):
        return f"array{x.shape}:{x.dtype}"
    if isinstance(x, float):
        return f"{x:.4g}"
    if isinstance(x, (bool, int, str)) or x is None:
        return repr(x)
    if isinstance(x, (list, tuple)):
        kind = "list" if isinstance(x, list) else "tuple"
        return f"{kind} of {len(x)}"
    return f"<{type(x).__name__}>"


def learner_frame(tb: Any) -> traceback.FrameSummary | None:
    """The deepest frame of traceback ``tb`` in the learner's own code, or None if ``tb`` is empty.

    Frames inside installed libraries (torch, numpy), the standard library and rlcore are
    skipped, so an error raised by ``1 - dones`` deep inside torch is shown at the learner's
    line that called it. When every frame is library code, the deepest one is returned.
    """
    frames = traceback.extract_tb(tb)
    if not frames:
        return None
    def library(filename: str) -> bool:
        if filename.startswith("<"):  # a notebook cell or exec'd code, unless a frozen stdlib module
            return filename.startswith("<frozen")
        if not Path(filename).is_absolute():  # compiled extensions: "numpy/random/_generator.pyx"
            return True
        if "site-packages" in filename or "dist-packages" in filename:
            return True
        resolved = str(Path(filename).resolve())
        return resolved.startswith(_LIBRARY_DIRS) or resolved.startswith(_RLCORE_DIR)
    own = [f for f in frames if not library(f.filename)]
    return (own or frames)[-1]


def describe_exception(e: BaseException) -> str:
    """``"ValueError: bad shape"``, or just ``"AssertionError"`` when the error has no message
    (so a message built from it never ends at a colon)."""
    text = str(e).strip()
    return f"{type(e).__name__}: {text}" if text else type(e).__name__


def learner_line(tb: Any) -> str:
    """``"line 3: return 1 - dones"`` for the learner's frame of traceback ``tb`` (``learner_frame``);
    ``"line 3"`` when its source is not available, ``""`` for an empty traceback."""
    frame = learner_frame(tb)
    if frame is None:
        return ""
    code = (frame.line or "").strip()
    return f"line {frame.lineno}: {code}" if code else f"line {frame.lineno}"
