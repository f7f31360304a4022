"""Hostile submissions, graded for real in the sandbox: each has an exact expected outcome.

After every hostile notebook the same sandbox grades a correct one, which must still
earn full marks (other submissions are unaffected).
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from fixtures import hostile as H
from fixtures import sandboxes
from gradelib import seed_of

from autograder import sandbox
from autograder.grade import grade
from autograder.notebook import ROOT

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("hostile")]  # one sandbox per module
A = H.A


worker = pytest.fixture(scope="module")(sandboxes.worker)


@pytest.fixture(scope="module")
def canary(tmp_path_factory):
    return H.correct(tmp_path_factory.mktemp("canary"))


def _grade(worker, path, **kw) -> dict:
    result = grade(path, worker=worker, seed=seed_of(path), **kw)
    assert set(result) == {"assignment", "score", "max_score", "tests", "flags"}
    for t in result["tests"]:
        assert t["status"] in ("passed", "failed", "error", "timeout", "not-run")
        assert t["message"]
        assert t["score"] == (t["max_score"] if t["status"] == "passed" else 0)
    return result


def _by(result: dict) -> dict[str, dict]:
    return {t["name"]: t for t in result["tests"]}


@pytest.fixture
def check(worker, canary):
    """Grade a hostile notebook, then the canary on the same sandbox (full marks)."""
    def run(path, **kw):
        result = _grade(worker, path, **kw)
        after = _grade(worker, canary)
        assert after["score"] == after["max_score"] == 8 and after["flags"] == [], after
        return result
    return run


def _stopped(r: dict, status: str, flag: str, *phrases: str) -> None:
    """Assert a score of 0, ``status`` for every test, each phrase in the first message, ``flag`` raised."""
    assert r["score"] == 0, r
    assert {t["status"] for t in r["tests"]} == {status}, r
    for phrase in phrases:
        assert phrase in r["tests"][0]["message"], (phrase, r["tests"][0]["message"])
    assert flag in r["flags"], r["flags"]


def test_infinite_loop_in_a_cell_times_out(check, tmp_path):
    r = check(H.with_cell(tmp_path, H.INFINITE_LOOP), timeout=6)
    _stopped(r, "timeout", "stopped:timeout", "time limit of 6 s", "while True")


def test_infinite_loop_in_one_function_fails_only_that_test(check, tmp_path):
    path = H.with_answers(tmp_path, {"reward_to_go": "def reward_to_go(rewards, gamma=1.0):\n"
                                                     "    while True:\n        pass\n"})
    r = check(path, timeout=12)
    by = _by(r)
    assert by["test_reward_to_go"]["status"] == "timeout"
    assert "did not return within 3 s" in by["test_reward_to_go"]["message"]
    assert all(by[t]["status"] == "passed" for t in H.TESTS if t != "test_reward_to_go")
    assert r["score"] == 6


@pytest.mark.parametrize("bomb", ["MEMORY_BOMB", "MEMORY_BOMB_GRADUAL"])
def test_memory_bomb_is_stopped(check, tmp_path, bomb):
    r = check(H.with_cell(tmp_path, getattr(H, bomb)), memory_mb=512)
    assert r["score"] == 0
    assert {t["status"] for t in r["tests"]} == {"error"}
    assert "more than its 512 MiB of memory" in r["tests"][0]["message"]
    assert "stopped:memory" in r["flags"]


def test_memory_of_several_processes_counts_together(check, tmp_path):
    r = check(H.with_cell(tmp_path, H.MEMORY_BOMB_FORKED), memory_mb=512, timeout=60)
    assert r["score"] == 0 and "stopped:memory" in r["flags"], r


def test_os_exit_is_a_crash_not_a_silent_zero(check, tmp_path):
    r = check(H.with_cell(tmp_path, H.OS_EXIT))
    _stopped(r, "not-run", "stopped:crashed", "exited with code 0", "os._exit")


def test_os_exit_inside_a_function_keeps_earlier_results(check, tmp_path):
    path = H.with_answers(tmp_path, {"reward_to_go": "import os\ndef reward_to_go(rewards, gamma=1.0):\n"
                                                     "    os._exit(1)\n"})
    r = check(path)
    by = _by(r)
    assert [by[t]["status"] for t in H.TESTS] == ["passed", "passed", "passed", "not-run", "not-run"]
    assert "while the hidden tests ran" in by["test_reward_to_go"]["message"]
    assert r["score"] == 4


def test_killed_kernel(check, tmp_path):
    r = check(H.with_cell(tmp_path, H.KILL_KERNEL))
    assert r["score"] == 0 and "killed by signal 9 (SIGKILL)" in r["tests"][0]["message"]


def test_killing_the_grader_process_only_hurts_itself(check, tmp_path):
    r = check(H.with_cell(tmp_path, H.KILL_PARENT))
    assert r["score"] == 0 and {t["status"] for t in r["tests"]} == {"error"}
    assert "stopped:worker" in r["flags"]


def test_fork_bomb_is_contained(check, tmp_path):
    r = check(H.with_cell(tmp_path, H.FORK_BOMB), timeout=60)
    _stopped(r, "error", "stopped:processes", "more than 64 processes")


def test_nothing_secret_is_readable_or_writable(check, tmp_path):
    other = H.correct(tmp_path / "other-student")
    absent = [str(ROOT / "grading" / "gradebook.db"), str(ROOT / "solutions" / A / f"{A}.ipynb"),
              str(ROOT / "autograder" / "hidden" / "lesson02.py"),
              str(ROOT / "autograder" / "hidden" / "__init__.py"), str(other), str(ROOT / ".git"),
              str(ROOT / "tests"), "/root/.bash_history", "/etc/shadow", "/etc/passwd", "/home"]
    unreadable = ["/proc/1/environ", "/proc/1/mem"]
    writable = [str(ROOT / "rlcore" / "__init__.py"), str(ROOT / "autograder" / "probes.py"),
                str(ROOT / "pwned.txt"), "/usr/pwned.txt"]
    answer = H.leaky_reader(absent, unreadable, writable)
    r = check(H.with_answers(tmp_path / "me", {"finite_horizon_return": answer}))
    t = _by(r)["test_finite_horizon_return"]
    assert t["status"] == "passed", t["message"]
    assert not (ROOT / "pwned.txt").exists()


def test_no_network(check, tmp_path):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    listener.settimeout(0.5)
    try:
        port = listener.getsockname()[1]
        r = check(H.with_answers(tmp_path, {"discounted_return": H.network_probe(port)}))
        t = _by(r)["test_discounted_return"]
        assert t["status"] == "passed", t["message"]
        with pytest.raises(socket.timeout):
            listener.accept()
    finally:
        listener.close()


def _only_discounted_return_fails(check, path: Path) -> dict:
    """Grade ``path`` (a wrong discounted_return beside something hostile); return the result.

    Only test_discounted_return may fail: estimate_return is graded with rlcore's
    discounted_return swapped in, so the mistake is charged once, not twice.
    """
    r = check(path)
    by = _by(r)
    assert by["test_discounted_return"]["status"] == "failed"
    assert all(by[t]["status"] == "passed" for t in H.TESTS if t != "test_discounted_return"), by
    return r


def test_patched_numpy_and_probes_change_nothing(check, tmp_path):
    r = _only_discounted_return_fails(check, H.with_cell(tmp_path, H.PATCH_NUMPY + "\n" + H.WRONG_DISCOUNTED))
    patched = next(f for f in r["flags"] if f.startswith("patched:"))
    for name in ("numpy.allclose", "numpy.isclose", "builtins.isinstance", "math.isclose",
                 "numpy.testing.assert_allclose", "autograder.probes"):
        assert name in patched


def test_deleted_test_cell_earns_nothing(check, tmp_path):
    r = check(H.without_cells(tmp_path, ["test_discounted_return"]))
    by = _by(r)
    assert by["test_discounted_return"]["status"] == "not-run"
    assert "was deleted" in by["test_discounted_return"]["message"]
    assert r["score"] == 7 and "deleted-test-cell:test_discounted_return" in r["flags"]


def test_stripped_metadata_is_graded_against_the_release(check, tmp_path):
    r = check(H.stripped(tmp_path))
    assert r["score"] == r["max_score"] == 8
    assert "assignment-metadata:missing" in r["flags"]
    assert {f"stripped-metadata:{t}" for t in H.TESTS} <= set(r["flags"])


def test_altered_points_and_edited_test_cell(check, tmp_path):
    r = check(H.altered_points(tmp_path))
    assert r["max_score"] == 8 and r["score"] == 8
    r = check(H.edited(tmp_path / "edit", {"test_reward_to_go": "pass  # checks removed"}))
    assert r["score"] == 8 and "edited-test-cell:test_reward_to_go" in r["flags"]


def test_hard_coded_visible_answers_fail(check, tmp_path):
    r = check(H.with_answers(tmp_path, H.HARD_CODED))
    by = _by(r)
    assert by["test_discounted_return"]["status"] == "failed"
    assert by["test_reward_to_go"]["status"] == "failed"
    assert by["test_estimate_return"]["status"] == "passed"  # graded with rlcore's discounted_return
    assert r["score"] == 5  # 8 minus discounted_return and reward_to_go (1 + 2 points)


def test_another_exercises_reference_is_flagged_and_failed(check, tmp_path):
    r = check(H.with_answers(tmp_path, H.SIBLING_REFERENCE))
    by = _by(r)
    for name in ("finite_horizon_return", "discounted_return"):  # lesson 02's and lesson 05's
        assert by[f"test_{name}"]["status"] == "failed", by[f"test_{name}"]
        assert "reference implementation" in by[f"test_{name}"]["message"]
        assert f"uses-reference:test_{name}" in r["flags"]
    assert by["test_reward_to_go"]["status"] == "passed"  # the reference solution's own


def test_estimate_return_may_call_the_library_rollout(check, tmp_path):
    r = check(H.with_answers(tmp_path, H.ESTIMATE_WITH_LIBRARY_ROLLOUT))
    assert _by(r)["test_estimate_return"]["status"] == "passed", r
    assert not [f for f in r["flags"] if f.startswith("uses-reference")]


def test_reference_implementation_is_flagged_and_failed(check, tmp_path):
    r = check(H.with_answers(tmp_path, H.REFERENCE))
    by = _by(r)
    for name in ("discounted_return", "reward_to_go", "finite_horizon_return"):
        assert by[f"test_{name}"]["status"] == "failed"
        assert "reference implementation" in by[f"test_{name}"]["message"]
        assert f"uses-reference:test_{name}" in r["flags"]
    assert r["score"] == 4


def test_forged_events_are_ignored_and_flagged(check, tmp_path):
    r = _only_discounted_return_fails(check, H.with_cell(tmp_path, H.WRONG_DISCOUNTED + "\n" + H.FORGE_EVENTS))
    assert "forged-events" in r["flags"] and r["score"] == 7  # 8 minus discounted_return (1)


def test_stderr_output_is_not_a_failure(check, tmp_path):
    r = check(H.with_cell(tmp_path, H.STDERR_NOISE, after="discounted_return"))
    assert r["score"] == 8 and r["flags"] == []


def test_files_and_processes_do_not_reach_the_next_submission(worker, tmp_path):
    first = _grade(worker, H.with_cell(tmp_path / "a", H.LEAVE_TRACES))
    assert first["score"] == 8
    second = _grade(worker, H.with_answers(tmp_path / "b", {"finite_horizon_return": H.CHECK_TRACES}))
    t = _by(second)["test_finite_horizon_return"]
    assert t["status"] == "passed", t["message"]


def test_unsandboxed_grading_is_flagged(tmp_path):
    w = sandbox.Worker(False, preload=["numpy"])
    try:
        r = grade(H.correct(tmp_path), worker=w)
    finally:
        w.close()
    assert r["score"] == 8 and r["flags"] == ["no-sandbox"]


def test_missing_bubblewrap_stops_with_a_clear_error(monkeypatch):
    monkeypatch.setattr(sandbox.shutil, "which", lambda name: None)
    with pytest.raises(sandbox.SandboxUnavailable, match="make setup-grader"):
        sandbox.Worker(True).start()


def test_not_a_notebook_cannot_be_graded(tmp_path):
    from autograder.notebook import GradeError

    bad = tmp_path / A / f"{A}.ipynb"
    bad.parent.mkdir()
    bad.write_text("{ not json")
    with pytest.raises(GradeError, match="not a readable notebook"):
        grade(bad, worker=object())  # fails before any sandbox is used
    assert Path(bad).exists()


@pytest.mark.skipif("06-dqn" not in __import__("autograder.notebook").notebook.assignments(),
                    reason="lesson 06 not written yet")
def test_subclass_of_a_reference_class_is_caught(check, tmp_path):
    src = "from rlcore.dqn_parts import ReplayBuffer as _RB\nclass ReplayBuffer(_RB):\n    pass\n"
    r = check(H.with_answers(tmp_path, {"ReplayBuffer": src}, assignment="06-dqn"))
    t = _by(r)["test_ReplayBuffer"]
    assert t["status"] == "failed" and "reference implementation" in t["message"]
    assert "uses-reference:test_ReplayBuffer" in r["flags"]
    assert all(x["status"] == "passed" for x in r["tests"] if x["name"] != "test_ReplayBuffer")
