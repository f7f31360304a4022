"""A learner on `make hub` in a real browser (headless Chromium, offline, 127.0.0.1 only).

Logs in through the hub's login page (a wrong password first), waits for the server, opens
the course link (nbgitpuller clones the course into the learner's home), runs lesson 02
until its first check speaks, then fetches and submits lesson 00 from the Assignments tab.
Skipped with the reason when not root, node is missing or Chromium cannot be had.
"""

from __future__ import annotations

import re

import pytest
from hubtest import running_hub, session, shell, skip_reason

from e2e.lab import RUN_DIR, ensure_chromium, launch_browser
from e2e.notebook import CHECK_FAILED, Notebook

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("grading-workflow")]  # as test_hub.py

COURSE = "deep-rl-course"
RETURNS = "02-trajectories-and-returns"
WELCOME = "00-welcome"


@pytest.fixture(scope="module")
def chromium():
    reason = skip_reason()
    if reason:
        pytest.skip(reason)
    path, why = ensure_chromium()
    if path is None:
        pytest.skip(f"no Chromium for the browser tests: {why}")
    return path


@pytest.fixture(scope="module")
def hub(chromium):
    with running_hub(learners=1) as h:
        yield h


def test_a_learner_logs_in_opens_the_course_runs_a_check_and_submits(hub, chromium):
    from playwright.sync_api import sync_playwright

    teacher = session(hub, hub.instructor)
    k = teacher.start_kernel("release.ipynb")
    rc, out = shell(k, f"nbgrader release_assignment {WELCOME}", cwd=f"~/{COURSE}")
    k.close()
    assert rc == 0, out
    name = hub.learners[0]
    RUN_DIR.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = launch_browser(p, chromium)
        ctx = browser.new_context(viewport={"width": 1280, "height": 900})
        page = ctx.new_page()
        try:
            page.goto(f"{hub.url}/hub/login")
            page.fill("#username_input", name)
            page.fill("#password_input", "not-my-password")
            page.click("#login_submit")
            page.wait_for_selector("text=Invalid username or password", timeout=30_000)
            page.fill("#username_input", name)
            page.fill("#password_input", hub.passwords[name])
            page.click("#login_submit")
            # the spawn page, then JupyterLab of this learner's own server
            page.wait_for_url(re.compile(rf"/user/{name}/lab"), timeout=300_000)
            page.wait_for_selector(".jp-LabShell", timeout=120_000)

            page.goto(hub.course_link())
            page.wait_for_url(re.compile(rf"/user/{name}/lab/tree/{COURSE}/lessons"),
                              timeout=300_000)
            assert (hub.home(name) / COURSE / "lessons" / RETURNS / f"{RETURNS}.ipynb").exists()

            url = f"{hub.url}/user/{name}/lab/tree/{COURSE}/lessons/{RETURNS}/{RETURNS}.ipynb"
            nb = Notebook(page, url, RUN_DIR, "hub-02").open(timeout_s=300)
            nb.run_all(timeout_s=300)
            cell = nb.cell_with_output("^" + CHECK_FAILED)
            text = "\n".join(cell.locator(".jp-OutputArea-output").all_text_contents())
            assert "not written yet" in text and "hint:" in text, text[:500]
            nb.shot("hub-check-message")

            nb.menu("Nbgrader", "Assignment List")
            panel = page.locator("#nbgrader-assignment-list")
            panel.locator("button:text-is('Fetch')").first.click(timeout=120_000)
            panel.locator("button:text-is('Submit')").first.click(timeout=120_000)
            panel.get_by_text(re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d")).first.wait_for(
                timeout=120_000)  # the submission's timestamp in the Submitted list
            page.screenshot(path=str(RUN_DIR / "hub-assignments.png"))
        finally:
            ctx.close()
            browser.close()
    inbound = hub.exchange / COURSE / "inbound"
    assert [q for q in inbound.iterdir() if q.name.startswith(f"{name}+{WELCOME}+")]
    assert (hub.home(name) / WELCOME / f"{WELCOME}.ipynb").exists()
