"""Binder, conda, the hub image and the Z2JH values: pins match pyproject.toml, sizing matches measurements."""

from __future__ import annotations

import json
import os
import re
import urllib.parse
from pathlib import Path

import pytest
import tomllib
import yaml

from bench.profile_lessons import END, START, render_markdown, sizing
from rlcore import colab

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
PIN = re.compile(r"^([A-Za-z0-9_.\-\[\]]+)==([^\s;]+)$")


def pins(requirements: list[str]) -> dict[str, str]:
    """{normalised name: version} of ``name==version`` requirements (others are ignored)."""
    out = {}
    for req in requirements:
        m = PIN.match(req.strip())
        if m:
            out[re.sub(r"[-_.]+", "-", m.group(1).lower())] = m.group(2)
    return out


PROJECT_PINS = pins(PYPROJECT["project"]["dependencies"])
COURSE_PINS = pins(PYPROJECT["project"]["optional-dependencies"]["course"])
PYTHON = "3.11"


def conda_env(path: Path) -> tuple[list, list[str]]:
    env = yaml.safe_load(path.read_text())
    deps = env["dependencies"]
    pip = next(d["pip"] for d in deps if isinstance(d, dict) and "pip" in d)
    return [d for d in deps if isinstance(d, str)], pip


def test_every_dependency_is_pinned_exactly():
    for group, reqs in [("dependencies", PYPROJECT["project"]["dependencies"]),
                        *PYPROJECT["project"]["optional-dependencies"].items()]:
        loose = [r for r in reqs if not PIN.match(r)]
        assert not loose, f"pyproject {group}: not pinned with ==: {loose}"


def test_environment_yml_installs_the_course_extra_on_python_311():
    conda, pip = conda_env(ROOT / "environment.yml")
    assert f"python={PYTHON}" in conda and "pip" in conda
    assert "-e .[course]" in pip, "environment.yml must install the package with its pins"
    assert not pins(pip), "environment.yml must take its pins from pyproject.toml, not repeat them"
    assert any(p.startswith("--extra-index-url") and p.endswith("/whl/cpu") for p in pip)


def test_binder_environment_spells_out_exactly_the_pyproject_pins():
    conda, pip = conda_env(ROOT / "binder" / "environment.yml")
    assert f"python={PYTHON}" in conda and "pip" in conda
    assert pins(pip) == {**PROJECT_PINS, **COURSE_PINS}
    loose = [p for p in pip if not p.startswith("--") and not PIN.match(p)]
    assert not loose, f"unpinned requirements in binder/environment.yml: {loose}"


def test_binder_postbuild_installs_the_package_itself():
    post = ROOT / "binder" / "postBuild"
    assert os.access(post, os.X_OK), "binder/postBuild must be executable"
    text = post.read_text()
    assert text.startswith("#!") and "set -euo pipefail" in text
    assert re.search(r"pip install --no-deps -e \.", text)


def dockerfile() -> str:
    return (ROOT / "Dockerfile").read_text()


def test_dockerfile_base_image_and_python_are_pinned():
    (base,) = re.findall(r"^FROM\s+(\S+)", dockerfile(), re.MULTILINE)
    _, _, tag = base.partition(":")
    assert tag and tag != "latest", f"base image {base} must have an exact tag"
    assert re.match(rf"{re.escape(PYTHON)}\.\d+-", tag), f"base image {base} is not Python {PYTHON}.x"


def pip_install_requirements(text: str) -> list[str]:
    """The requirements of every ``pip install`` in a Dockerfile (options and their values dropped)."""
    reqs = []
    for command in re.findall(r"pip install (.*?)(?:&&|$)", text.replace("\\\n", " "), re.MULTILINE):
        tokens = [t.strip('"') for t in command.split()]
        skip = False
        for t in tokens:
            if skip:
                skip = False
            elif t in ("--extra-index-url", "--index-url", "-r", "-c"):
                skip = True
            elif not t.startswith("-"):
                reqs.append(t)
    return reqs


def test_dockerfile_pins_agree_with_pyproject_and_the_hub():
    text = dockerfile()
    docker_pins = pins(re.findall(r"([A-Za-z0-9_.\-]+==[0-9][^\s\\\"]*)", text))
    for name, version in docker_pins.items():
        expected = {**PROJECT_PINS, **COURSE_PINS}.get(name)
        if expected is not None:
            assert version == expected, f"Dockerfile pins {name}=={version}, pyproject {expected}"
    # Z2JH chart 4.3.3 runs JupyterHub 5.4.4: the single-user side must match the hub
    chart = re.findall(r"--version (\d+\.\d+\.\d+)", (ROOT / "docs" / "deploy.md").read_text())
    assert set(chart) == {"4.3.3"} and "chart 4.3.3" in text
    assert "chart jupyterhub/jupyterhub 4.3.3" in (ROOT / "deploy" / "z2jh-values.yaml").read_text()
    assert docker_pins["jupyterhub"] == "5.4.4"
    assert "nbgitpuller" in docker_pins
    # the course (and so every pyproject pin) comes from this checkout's pyproject.toml
    assert re.search(r"COPY pyproject\.toml README\.md /opt/course/", text)
    assert '"/opt/course[course]"' in text
    assert "/opt/course[course]" in pip_install_requirements(text)
    loose = [r for r in pip_install_requirements(text)
             if not PIN.match(r) and r != "/opt/course[course]"]
    assert not loose, f"unpinned packages in the Dockerfile's pip install: {loose}"


def test_dockerfile_keeps_hidden_tests_out_and_starts_the_hub_server():
    text = dockerfile()
    assert not re.search(r"^COPY\s+.*autograder", text, re.MULTILINE), "the image must not hold hidden tests"
    assert 'CMD ["jupyterhub-singleuser"]' in text
    assert re.search(r"^USER \$\{NB_UID\}", text, re.MULTILINE), "servers must not run as root"


@pytest.fixture(scope="module")
def values() -> dict:
    return yaml.safe_load((ROOT / "deploy" / "z2jh-values.yaml").read_text())


def _mib(spec: str) -> float:
    m = re.fullmatch(r"(\d+(?:\.\d+)?)([KMGT])", str(spec))
    assert m, f"memory {spec!r} must look like 512M or 2G"
    return float(m.group(1)) * {"K": 1 / 1024, "M": 1, "G": 1024, "T": 1024**2}[m.group(2)]


def test_z2jh_values_have_the_required_keys(values):
    su = values["singleuser"]
    assert su["image"]["name"] and str(su["image"]["tag"]) not in ("", "latest")
    assert str(su["image"]["tag"]) == PYPROJECT["project"]["version"]
    for key in ("cpu", "memory"):
        assert {"guarantee", "limit"} <= set(su[key]), f"singleuser.{key} needs guarantee and limit"
    assert float(su["cpu"]["guarantee"]) <= float(su["cpu"]["limit"])
    assert _mib(su["memory"]["guarantee"]) <= _mib(su["memory"]["limit"])
    assert su["defaultUrl"].endswith("/lessons")
    assert values["cull"]["enabled"] is True
    assert values["hub"]["config"]["JupyterHub"]["authenticator_class"]


def test_z2jh_values_pull_this_repository_and_mount_the_exchange(values):
    su = values["singleuser"]
    cmd = su["lifecycleHooks"]["postStart"]["exec"]["command"]
    assert cmd[0] == "gitpuller" and cmd[1] == colab.REPO_URL
    assert su["defaultUrl"] == f"/lab/tree/{cmd[3]}/lessons"
    exchange = {v["name"]: v for v in su["storage"]["extraVolumes"]}["nbgrader-exchange"]
    assert exchange["persistentVolumeClaim"]["claimName"] == "nbgrader-exchange"
    (mount,) = [m for m in su["storage"]["extraVolumeMounts"] if m["name"] == "nbgrader-exchange"]
    config = (ROOT / "deploy" / "nbgrader_config.py").read_text()
    # the image's default (no $NBGRADER_EXCHANGE) is the mounted volume; `make hub` sets its own
    assert f'os.environ.get("NBGRADER_EXCHANGE", "{mount["mountPath"]}")' in config
    assert 'course_id = "deep-rl-course"' in config


def test_nbgitpuller_link_in_the_docs_opens_this_repository():
    doc = (ROOT / "docs" / "deploy.md").read_text()
    links = re.findall(r"https://\S+/hub/user-redirect/git-pull\?\S+", doc)
    assert links
    for link in links:
        q = urllib.parse.parse_qs(urllib.parse.urlparse(link).query)
        assert q["repo"] == [colab.REPO_URL]
        assert q["urlpath"][0].endswith("/lessons")
    assert colab.binder_url() in doc


PROFILE = ROOT / "bench" / "results" / "profile.json"


@pytest.fixture(scope="module")
def report() -> dict:
    if not PROFILE.exists():
        pytest.fail("bench/results/profile.json is missing: run `make profile`")
    return json.loads(PROFILE.read_text())


def test_profile_ran_cleanly_and_covers_every_lesson(report):
    measured = {r["assignment"]: r for r in report["lessons"]}
    lessons = sorted(p.parent.name for p in (ROOT / "solutions").glob("*/*.ipynb"))
    failed = {a: r["status"] for a, r in measured.items() if r["status"] != "ok"}
    assert not failed, f"lessons that raised while profiling: {failed}"
    missing = [a for a in lessons if a not in measured]
    if missing:  # a lesson added after the last `make profile`: sizing may be low, say so
        pytest.skip(f"lessons not profiled yet, run `make profile`: {missing}")


def test_docs_show_the_current_measurements_and_sizing(report):
    doc = (ROOT / "docs" / "deploy.md").read_text()
    block = doc[doc.index(START) + len(START):doc.index(END)]
    assert block.strip() == render_markdown(report).strip(), (
        "docs/deploy.md's sizing block is stale: run `make profile`")


def test_values_and_tljh_limits_follow_the_measured_sizing(report, values):
    z = sizing(report)
    su = values["singleuser"]
    assert _mib(su["memory"]["guarantee"]) == z["mem_request_mib"]
    assert _mib(su["memory"]["limit"]) == z["mem_limit_mib"]
    assert float(su["cpu"]["guarantee"]) == z["cpu_request"]
    assert float(su["cpu"]["limit"]) == z["cpu_limit"]
    assert su["extraEnv"]["OMP_NUM_THREADS"] == str(z["cpu_limit"])
    doc = (ROOT / "docs" / "deploy.md").read_text()
    assert f"limits.memory {z['mem_limit_mib']}M" in doc
    assert f"limits.cpu {z['cpu_limit']}" in doc
    # the limit must hold the largest measured kernel next to a JupyterLab server
    assert z["mem_limit_mib"] >= z["server_mib"] + z["kernel_peak_mib"]


def test_sizing_arithmetic_on_a_hand_made_report():
    report = {"machine": {"torch_threads": 2}, "server": {"jupyterlab_idle_rss_mib": 100},
              "lessons": [{"assignment": "a", "status": "ok", "tree_peak_rss_mib": 400, "cpu_s": 90},
                          {"assignment": "b", "status": "ok", "tree_peak_rss_mib": 300, "cpu_s": 30},
                          {"assignment": "c", "status": "error", "tree_peak_rss_mib": 9999,
                           "cpu_s": 9999}]}
    z = sizing(report)
    assert z["mem_request_mib"] == 768          # 1.2 x (100 + 400) = 600 -> 768
    assert z["mem_limit_mib"] == 1536           # 1.2 x (100 + 800) = 1080 -> 1536
    assert z["cpu_request"] == 0.3              # 90 / 300
    assert z["cpu_limit"] == 2
    assert z["servers"][100] == {"ram_gib": 77, "cores": 30, "k8s_nodes": 2,
                                 "learners_per_node": 53}  # 16 / 0.3 = 53 a node: ceil(100 / 53)
    assert z["servers"][500]["k8s_nodes"] == 10  # ceil(500 / 53)


@pytest.mark.slow
def test_the_images_pip_install_resolves_to_the_pinned_versions(tmp_path):
    """pip resolves the Dockerfile's install from scratch (dry run; no Docker daemon needed)."""
    import shutil
    import subprocess
    import sys

    course = tmp_path / "course"
    course.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, course / name)
    shutil.copytree(ROOT / "rlcore", course / "rlcore", ignore=shutil.ignore_patterns("__pycache__"))
    reqs = [r.replace("/opt/course", str(course)) for r in pip_install_requirements(dockerfile())]
    report = tmp_path / "report.json"
    run = subprocess.run([sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed",
                          "--quiet", "--report", str(report), *reqs],
                         capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stderr[-3000:]
    got = {re.sub(r"[-_.]+", "-", i["metadata"]["name"].lower()): i["metadata"]["version"]
           for i in json.loads(report.read_text())["install"]}
    for name, version in {**PROJECT_PINS, **COURSE_PINS, "jupyterhub": "5.4.4"}.items():
        assert got[name].split("+")[0] == version, f"the image would get {name} {got[name]}"


def test_profiling_some_lessons_keeps_the_other_lessons_measurements(tmp_path, monkeypatch):
    """`python -m bench.profile_lessons 08-actor-critic-ppo` re-measures one lesson: the others'
    rows in profile.json (and so the hub's sizing in docs/deploy.md) must survive it."""
    import bench.profile_lessons as pl

    old = json.loads(PROFILE.read_text())
    out = tmp_path / "profile.json"
    out.write_text(json.dumps(old))
    doc = tmp_path / "deploy.md"
    doc.write_text(f"# sizing\n{START}\nstale\n{END}\n")
    one = old["lessons"][0]["assignment"]
    fresh = {**old["lessons"][0], "wall_s": 1.5, "cpu_s": 1.4, "slow_cells": []}
    monkeypatch.setattr(pl, "DOC", doc)
    monkeypatch.setattr(pl, "profile_notebook", lambda path, timeout: dict(fresh))
    monkeypatch.setattr(pl, "profile_server", lambda: old["server"])
    assert pl.main([one, "--out", str(out)]) == 0
    new = json.loads(out.read_text())
    assert [r["assignment"] for r in new["lessons"]] == [r["assignment"] for r in old["lessons"]]
    assert new["lessons"][0]["wall_s"] == 1.5
    assert new["lessons"][1:] == old["lessons"][1:]
    assert render_markdown(new).strip() in doc.read_text()
