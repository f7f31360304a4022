"""The course's own errors in a fresh Jupyter kernel: the message first and once, details folded."""

from __future__ import annotations

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

STUB = "def pg_loss(logp, weights):\n    raise NotImplementedError()\n"


def _run(*sources: str) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    with pytest.raises(CellExecutionError):
        NotebookClient(nb, timeout=120, kernel_name="python3").execute()
    return nb


def _error(cell) -> dict:
    return next(o for o in cell.outputs if o.output_type == "error")


@pytest.mark.slow
def test_trainer_error_in_a_fresh_kernel_is_short_with_folded_details():
    nb = _run("import rlcore\nfrom rlcore.algos import pg", STUB,
              "pg.train(pg.Config(max_env_steps=400), progress=False, pg_loss=pg_loss)")
    cell = nb.cells[2]
    err = _error(cell)
    shown = "\n".join(err["traceback"])
    assert err["ename"] == "LearnerFunctionError"
    assert "your pg_loss is not written yet" in shown and "hint:" in shown
    assert "rlcore/algos" not in shown and "Traceback" not in shown  # no frames into rlcore
    assert len(err["traceback"]) <= 4
    folded = [o for o in cell.outputs if o.output_type == "display_data"]
    assert folded and "<details>" in folded[0]["data"]["text/html"]
    assert "rlcore/algos" in folded[0]["data"]["text/html"]  # the frames are there, folded away


@pytest.mark.slow
def test_first_check_failure_in_a_fresh_kernel_prints_once_and_one_short_line():
    nb = _run("from rlcore.check import check_pg_loss", STUB, "check_pg_loss(pg_loss)")
    cell = nb.cells[2]
    printed = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
    assert printed.count("pg_loss is not written yet") == 1
    err = _error(cell)
    assert err["ename"] == "CheckFailed" and len(err["traceback"]) == 1
    assert "not written yet" not in err["traceback"][0]  # the message is not repeated
