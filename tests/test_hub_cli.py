"""`make hub`'s bad input, without starting a hub: one line each, and what to do."""

from __future__ import annotations

import socket

import pytest

from deploy.hub import run


@pytest.fixture
def no_setup(monkeypatch):
    monkeypatch.setattr(run, "ensure_setup", lambda: run.PYTHON)


def test_a_port_in_use_is_named_with_its_owner_and_another_port_to_use(tmp_path, no_setup):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        assert run.port_owner(port)
        hub = run.Hub(tmp_path / "state", port=port, learners=1, prefix="zq", quiet=True)
        with pytest.raises(run.HubError, match=rf"port {port} on 127.0.0.1 is in use by .*PORT="):
            hub.start()
        hub.stop()
    assert run.port_owner(port) == ""


def test_a_second_hub_on_the_same_state_is_refused_while_the_first_runs(tmp_path):
    first = run.Hub(tmp_path / "state", port=18100, learners=1, quiet=True)
    (tmp_path / "state").mkdir()
    first._take_lock()
    second = run.Hub(tmp_path / "state", port=18200, learners=1, quiet=True)
    with pytest.raises(run.HubError, match="a hub is already running .*pid .*18100.*Ctrl-C"):
        second._take_lock()
    first.stop()  # releases the lock
    second._take_lock()
    second.stop()


def test_make_hub_prints_one_line_and_exits_2_when_it_cannot_start(monkeypatch, capsys, tmp_path):
    def missing():
        raise run.HubError("node/npm is missing (...): apt-get install nodejs npm")

    monkeypatch.setattr(run, "ensure_setup", missing)
    assert run.main(["--state", str(tmp_path / "s"), "--port", "18300"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and err.startswith("make hub: node/npm is missing")
    assert run.main(["--setup-only"]) == 2


def test_the_course_link_is_nbgitpuller_on_the_local_clone(tmp_path):
    hub = run.Hub(tmp_path / "state", port=18400, learners=1)
    link = hub.course_link()
    assert link.startswith("http://127.0.0.1:18400/hub/user-redirect/git-pull?")
    assert "repo=file%3A%2F%2F" in link and "urlpath=lab%2Ftree%2Fdeep-rl-course%2Flessons" in link


def test_bench_hub_results_are_clean_and_the_docs_cite_them():
    import json
    from pathlib import Path

    from bench import hub_load

    report = json.loads(hub_load.OUT.read_text())
    ns = sorted(r["learners"] for r in report["runs"])
    assert 8 in ns and 16 in ns, ns
    for r in report["runs"]:
        assert not r["failures"] and r["lost_notebooks"] == 0, (r["learners"], r["failures"])
        assert r["lesson_s"]["done"] == r["learners"]
    doc = Path(hub_load.DOC).read_text()
    block = doc[doc.index(hub_load.START) + len(hub_load.START):doc.index(hub_load.END)]
    assert block.strip() == hub_load.render(report).strip(), (
        "docs/deploy.md's hub block is stale: python bench/hub_load.py --render")
    assert report["date"] in block and "p95" in block
