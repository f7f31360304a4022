"""The browser tests' machinery: the JupyterLab server always goes away; a missing Chromium is explained."""

from __future__ import annotations

import urllib.request
from pathlib import Path

import psutil
import pytest

from e2e import lab as e2e_lab


def test_without_chromium_and_without_root_the_skip_reason_says_why(monkeypatch, tmp_path):
    monkeypatch.setattr(e2e_lab, "CHROMIUM", tmp_path / "no-chromium")
    monkeypatch.setattr(e2e_lab.os, "geteuid", lambda: 1000)
    path, why = e2e_lab.ensure_chromium()
    assert path is None
    assert "no-chromium is missing" in why and "apt-get install chromium" in why


@pytest.mark.slow
@pytest.mark.xdist_group("e2e")
def test_the_server_and_its_kernels_are_gone_after_a_failure(tmp_path):
    server = e2e_lab.JupyterLab(tmp_path, tmp_path / "lab.log")
    with pytest.raises(RuntimeError, match="a scenario failed"), server:
        with urllib.request.urlopen(f"{server.base}/api/status?token={server.token}") as r:
            assert r.status == 200
        # start a kernel through the server, as opening a notebook does
        req = urllib.request.Request(f"{server.base}/api/kernels?token={server.token}",
                                     data=b'{"name": "python3"}', method="POST",
                                     headers={"Content-Type": "application/json"})
        urllib.request.urlopen(req).close()
        pid = server.proc.pid
        tree = [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]
        assert len(tree) >= 2, "the kernel process did not start"
        raise RuntimeError("a scenario failed")
    _, alive = psutil.wait_procs(tree, timeout=10)
    assert not [p for p in alive if p.status() != psutil.STATUS_ZOMBIE], alive
    assert server.proc is None
    with pytest.raises(OSError):
        urllib.request.urlopen(f"{server.base}/api/status?token={server.token}", timeout=2)
    assert Path(tmp_path / "lab.log").read_text()  # the log stays for debugging
