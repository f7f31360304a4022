"""End-to-end scenarios: a learner's JupyterLab session in headless Chromium.

Collected by ``tests/test_e2e.py`` (so ``make test`` runs them) and run alone by
``make e2e``. One JupyterLab serves a temporary copy of ``lessons/`` for the whole
module; the filled-in scenarios replace a lesson by its solutions notebook (what a
learner who solved every exercise has). A scenario whose lesson does not exist yet
is skipped with that reason; everything is skipped only when Chromium cannot be had.
Screenshots of every step land in ``e2e/artifacts/tmp/`` (``E2E_PUBLISH=1`` refreshes
the committed set in ``e2e/artifacts/``).
"""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path

import nbformat
import pytest

from autograder.release import release
from e2e.lab import ROOT, RUN_DIR, JupyterLab, ensure_chromium, launch_browser
from e2e.notebook import CHECK_FAILED, TRACEBACK, FigureDidNotChange, Notebook

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("e2e")]

WELCOME = "00-welcome"
RETURNS = "02-trajectories-and-returns"
POLICIES = "03-policies"
VALUES = "04-value-functions"
PG = "05-policy-gradients"
DQN = "06-dqn"
PPO = "08-actor-critic-ppo"
# rlcore.live.LiveCurve's status line, updated in place while a trainer runs
LIVE_STATUS = r"env steps\s+[\d,]+ \| train time"
GAMMA = r"γ|gamma|discount"
# rlcore.live.progress's line in lesson 05's comparison of variants
RUNS_PROGRESS = r"variants \(10 seeds each\): \d/3"


def notebook_path(kind: str, assignment: str) -> Path:
    return ROOT / kind / assignment / f"{assignment}.ipynb"


def require(kind: str, assignment: str) -> Path:
    path = notebook_path(kind, assignment)
    if not path.exists():
        pytest.skip(f"{kind}/{assignment} does not exist yet (lesson not written)")
    return path


@pytest.fixture(scope="module")
def chromium():
    path, why = ensure_chromium()
    if path is None:
        pytest.skip(f"no Chromium for the browser tests: {why}")
    return path


@pytest.fixture(scope="module")
def course_copy():
    """A temporary course folder (lessons/, solutions/, nbgrader's config), as a learner clones it."""
    tmp = Path(tempfile.mkdtemp(prefix="rl-course-e2e-"))
    shutil.copytree(ROOT / "lessons", tmp / "lessons")
    shutil.copytree(ROOT / "solutions", tmp / "solutions")
    shutil.copy(ROOT / "nbgrader_config.py", tmp)
    yield tmp
    shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture(scope="module")
def workspace(course_copy):
    """The folder JupyterLab serves: the copy's lessons/."""
    return course_copy / "lessons"


@pytest.fixture(scope="module")
def lab(workspace, chromium):
    RUN_DIR.mkdir(parents=True, exist_ok=True)
    with JupyterLab(workspace, RUN_DIR / "jupyterlab.log") as server:
        yield server


@pytest.fixture(scope="module")
def browser(chromium):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = launch_browser(p, chromium)
        yield b
        b.close()


@pytest.fixture
def open_notebook(lab, browser, workspace):
    """open_notebook(relative_path, prefix) -> Notebook open in a fresh browser tab."""
    contexts = []

    def _open(relpath: str, prefix: str) -> Notebook:
        ctx = browser.new_context(viewport={"width": 1280, "height": 900})
        contexts.append(ctx)
        return Notebook(ctx.new_page(), lab.url(relpath, workspace=prefix), RUN_DIR, prefix).open()

    yield _open
    for ctx in contexts:
        ctx.close()


def filled_in(workspace: Path, assignment: str) -> str:
    """Put the solutions notebook where the lesson is (= every exercise solved); return its path."""
    src = require("solutions", assignment)
    dest = workspace / assignment / f"{assignment}-filled-in.ipynb"
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(src, dest)
    return f"{assignment}/{dest.name}"


def assert_no_tracebacks(nb: Notebook) -> None:
    errors = nb.tracebacks()
    assert not errors, f"{len(errors)} cell(s) raised; first:\n{errors[0]}"


def test_lesson00_runs_every_cell_and_shows_the_episode_animation(open_notebook):
    require("lessons", WELCOME)
    nb = open_notebook(f"{WELCOME}/{WELCOME}.ipynb", "00-welcome")
    nb.shot("opened")
    nb.run_all(timeout_s=600)
    assert_no_tracebacks(nb)
    assert nb.executed_count() == len(nb.prompts()), f"not every cell ran: {nb.prompts()}"
    anim = nb.page.locator(".jp-Notebook .animation img")
    assert anim.count() >= 1, "no episode animation (matplotlib jshtml) in the outputs"
    first = anim.first
    nb.shot("animation", target=first, publish=True)
    controls = nb.page.locator(".jp-Notebook .animation").first
    controls.locator('button[title="First frame"]').click()
    frames = {first.get_attribute("src")}
    for _ in range(3):
        controls.locator('button[title="Next frame"]').click()
        frames.add(first.get_attribute("src"))
    assert None not in frames and "" not in frames, "the animation's script did not run"
    assert len(frames) >= 2, "stepping through the animation did not change the frame"
    nb.shot("animation-stepped", target=first)


def test_lesson04_filled_in_heat_map_redraws_when_gamma_is_dragged(open_notebook, workspace):
    nb = open_notebook(filled_in(workspace, VALUES), "04-value-functions")
    nb.run_all(timeout_s=600)
    assert_no_tracebacks(nb)
    slider = nb.slider(GAMMA)
    figure = nb.figure_next_to(slider)
    assert figure.evaluate("img => img.naturalWidth") > 200, "the value heat map is not drawn"
    widget_text = slider.locator("xpath=ancestor::div[contains(@class,'jp-OutputArea')][1]")
    assert "\u26a0" not in widget_text.text_content(), "the widget fell back to the reference"
    nb.shot("heat-map", target=figure, publish=True)
    old, new = nb.drag_and_expect_new_figure(GAMMA, dx=-60)
    assert old != new
    nb.shot("heat-map-after-gamma-drag", target=nb.figure_next_to(nb.slider(GAMMA)), publish=True)


def test_lesson03_filled_in_policy_distributions_follow_their_sliders(open_notebook, workspace):
    nb = open_notebook(filled_in(workspace, POLICIES), "03-policies")
    nb.run_all(timeout_s=600)
    assert_no_tracebacks(nb)
    figure = nb.figure_next_to(nb.slider("temperature"))
    nb.shot("policy-sliders", target=figure)
    for label, dx in (("temperature", 60), ("log std", -60)):
        old, new = nb.drag_and_expect_new_figure(label, dx=dx)
        assert old != new
    nb.shot("policy-sliders-moved", target=nb.figure_next_to(nb.slider("temperature")))


FROZEN_WIDGET = """\
import ipywidgets as widgets
from rlcore.widgets import interactive_plot

# a widget whose callback ignores the slider: the figure never changes
frozen = interactive_plot(lambda gamma: [0.0, 1.0], lambda y, fig: fig.subplots().plot(y),
                          gamma=widgets.FloatSlider(value=0.9, min=0.0, max=0.99, step=0.01,
                                                    description="discount \u03b3",
                                                    continuous_update=False))
frozen
"""


def test_the_redraw_check_fails_for_a_widget_that_does_not_redraw(open_notebook, workspace):
    """Negative control: the same drag-and-compare check must catch a frozen figure."""
    nb_file = workspace / "e2e-frozen-widget.ipynb"
    nb_json = nbformat.v4.new_notebook()
    nb_json.cells = [nbformat.v4.new_code_cell(FROZEN_WIDGET)]
    nb_json.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                      "language": "python"}
    nbformat.write(nb_json, nb_file)
    nb = open_notebook(nb_file.name, "frozen-widget")
    nb.run_all(timeout_s=120)
    slider = nb.slider(GAMMA)
    assert nb.figure_next_to(slider).count() == 1
    with pytest.raises(FigureDidNotChange, match="kept the same image"):
        nb.drag_and_expect_new_figure(GAMMA, dx=-120, timeout_s=10)
    assert nb.slider(GAMMA).locator(".widget-readout").text_content() != "0.90", "drag did not move"
    nb.shot("frozen-figure-caught")


def test_lesson05_trains_with_a_live_progress_line_and_learning_curve(open_notebook, workspace):
    nb = open_notebook(filled_in(workspace, PG), "05-policy-gradients")
    nb.record_texts(f"(?:{LIVE_STATUS}|{RUNS_PROGRESS})" + r"[^\n]*")
    shots: list[str] = []

    def watch(notebook: Notebook) -> None:  # a screenshot while training, when we catch one
        if not shots and notebook.recorded_texts():
            shots.append(str(notebook.shot("training",
                                           target=notebook.cell_with_output(LIVE_STATUS))))

    nb.run_all(timeout_s=1200, while_running=watch)
    assert_no_tracebacks(nb)
    recorded = nb.recorded_texts()
    seen = [t for t in recorded if re.match(LIVE_STATUS, t)]
    assert len(seen) >= 2, (f"the progress line did not update while training (saw {seen}); "
                            "expected rlcore.live's status line to change in place")
    runs = [t for t in recorded if re.match(RUNS_PROGRESS, t)]
    assert any(re.search(r": [0-2]/3 ", t) for t in runs), (  # seen while it ran, not only at the end
        f"the comparison of variants (3 populations of 10 seeds) did not count them as they finished: {runs}")
    assert any(re.match(r"variants \(10 seeds each\): 3/3 in", t) for t in runs), runs  # and it ended
    cell = nb.cell_with_output(LIVE_STATUS)
    lines = [t for t in cell.locator(".jp-OutputArea-output").all_text_contents()
             if re.search(LIVE_STATUS, t)]
    assert len(lines) == 1, f"the status line was appended, not updated in place: {lines}"
    assert lines[0].strip() == seen[-1].strip()
    curve = cell.locator('img[src^="data:image/png"]')
    assert curve.count() >= 1, "no learning-curve figure next to the progress line"
    assert curve.first.evaluate("img => img.naturalWidth") > 200
    nb.shot("trained", target=curve.first, publish=True)


def test_lesson06_filled_in_passes_the_probes_trains_live_and_animates(open_notebook, workspace):
    nb = open_notebook(filled_in(workspace, DQN), "06-dqn")
    nb.record_texts(LIVE_STATUS + r"[^\n]*")
    nb.run_all(timeout_s=1200)
    assert_no_tracebacks(nb)
    assert nb.executed_count() == len(nb.prompts()), f"not every cell ran: {nb.prompts()}"
    text = "\n".join(nb.outputs())
    assert "all 5 probes passed" in text, "the probe check did not pass in the browser"
    assert len(nb.recorded_texts()) >= 2, "DQN's progress line did not update while training"
    cell = nb.cell_with_output(LIVE_STATUS)
    assert cell.locator('img[src^="data:image/png"]').count() >= 1, "no live learning curve"
    assert nb.page.locator(".jp-Notebook .animation img").count() >= 1, "no animation of the agent"
    nb.shot("dqn-trained", target=cell)


def test_lesson08_filled_in_passes_the_probes_and_solves_cartpole_twice_and_pendulum(open_notebook, workspace):
    nb = open_notebook(filled_in(workspace, PPO), "08-actor-critic-ppo")
    nb.record_texts(LIVE_STATUS + r"[^\n]*")
    nb.run_all(timeout_s=600)
    assert_no_tracebacks(nb)
    assert nb.executed_count() == len(nb.prompts()), f"not every cell ran: {nb.prompts()}"
    text = "\n".join(nb.outputs())
    assert "all 5 probes passed" in text, "the actor-critic probes did not pass in the browser"
    solved = re.findall(r"Result\((CartPole-v1|Pendulum-v1), .*?solved in", text)
    assert solved.count("CartPole-v1") >= 2 and "Pendulum-v1" in solved, (
        f"PPO and A2C on CartPole and PPO on Pendulum should each solve; solved: {solved}")
    assert len(nb.recorded_texts()) >= 2, "the trainer's progress line did not update while training"
    cell = nb.cell_with_output(LIVE_STATUS)
    assert cell.locator('img[src^="data:image/png"]').count() >= 1, "no live learning curve"
    nb.shot("ppo-trained", target=cell)


def test_unfilled_lesson02_shows_the_kind_check_message(open_notebook):
    require("lessons", RETURNS)
    nb = open_notebook(f"{RETURNS}/{RETURNS}.ipynb", "02-unfilled")
    nb.run_all(timeout_s=300)
    cell = nb.cell_with_output("^" + CHECK_FAILED)
    text = "\n".join(cell.locator(".jp-OutputArea-output").all_text_contents())
    message = text[text.index(CHECK_FAILED):]
    assert "not written yet" in message and "hint:" in message, message[:500]
    # the kind message comes first, above any traceback the stop produces
    assert TRACEBACK not in message.split("hint:")[0]
    nb.shot("check-message", target=cell.locator(".jp-OutputArea-output").first, publish=True)


ANSWER = ("def finite_horizon_return(rewards):\n"
          "    \"\"\"my answer, typed in the browser\"\"\"\n"
          "    return float(sum(rewards))\n")


def test_an_answer_typed_and_saved_in_jupyterlab_survives_make_release_and_self_checks(
        open_notebook, course_copy):
    """Point 1 and 5 of issue 14: the answer outlives `make release`; the learner grades it from a cell."""
    require("lessons", RETURNS)
    nb = open_notebook(f"{RETURNS}/{RETURNS}.ipynb", "02-answer-survives")
    answer = nb.code_cell(r"def finite_horizon_return")
    nb.set_source(answer, ANSWER)
    nb.run_cell(answer)
    nb.save()
    path = course_copy / "lessons" / RETURNS / f"{RETURNS}.ipynb"
    assert "my answer, typed in the browser" in path.read_text(), "Ctrl+S did not save the answer"
    mine = path.read_bytes()

    (done,) = release([RETURNS], root=course_copy)  # what `make release` does to this folder
    assert done.status == "refused", done
    assert "answers typed in: `finite_horizon_return`" in done.message(course_copy)
    assert path.read_bytes() == mine
    nb.page.reload()
    nb.page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=120_000)
    nb.wait_kernel_idle()
    assert "my answer, typed in the browser" in nb.code_cell(r"def finite_horizon_return").inner_text()
    nb.shot("answer-after-release", target=nb.code_cell(r"def finite_horizon_return"), publish=True)

    check = nb.append_cell("import rlcore\nrlcore.check_notebook()")
    nb.run_cell(check, timeout_s=600)
    text = "\n".join(check.locator(".jp-OutputArea-output").all_text_contents())
    assert "save it first" in text, text[:2000]
    assert "\u2713 test_finite_horizon_return [passed]" in text, text[:3000]
    assert "\u2717 test_rollout [error]" in text and "not written yet" in text, text[:3000]
    assert TRACEBACK not in text
    nb.shot("self-check-in-a-cell", target=check, publish=True)

    # a change that is run but not saved: the check says so instead of grading the old file
    answer = nb.code_cell(r"def finite_horizon_return")
    nb.set_source(answer, ANSWER.replace("float(sum(rewards))", "0.0"))
    nb.run_cell(answer)
    nb.run_cell(check, timeout_s=600)
    text = "\n".join(check.locator(".jp-OutputArea-output").all_text_contents())
    assert "Not checked" in text and "`finite_horizon_return`" in text and "Save the notebook" in text, text
    nb.shot("self-check-asks-to-save", target=check)

    # stuck: the learner puts the cell back as released, in place
    answer = nb.code_cell(r"def finite_horizon_return")
    nb.set_source(answer, 'import rlcore\nrlcore.restore_cell("finite_horizon_return")')
    nb.run_cell(answer)
    nb.page.wait_for_function(
        "() => [...document.querySelectorAll('.jp-Notebook .jp-CodeCell .jp-InputArea .cm-content')]"
        ".some(e => e.textContent.includes('def finite_horizon_return') && "
        "e.textContent.includes('raise NotImplementedError()'))", timeout=30_000)
    restored = nb.code_cell(r"def finite_horizon_return")
    assert "restore_cell(" not in restored.locator(".cm-content").inner_text()
    assert "now holds the released `finite_horizon_return`" in restored.inner_text()
    nb.shot("cell-restored", target=restored)


def disabled_extensions(nb: Notebook) -> list[str]:
    """The JupyterLab extensions the page was told to leave out (its page config)."""
    return nb.page.evaluate(
        "() => JSON.parse(document.getElementById('jupyter-config-data').textContent).disabledExtensions")


def test_learners_have_no_instructor_tools_and_instructors_do(open_notebook, lab, browser, course_copy):
    """Point 5: `make lab` (learner) shows no Nbgrader menu, Formgrader or Validate; `make lab-instructor` does."""
    nb = open_notebook(f"{WELCOME}/{WELCOME}.ipynb", "learner-menus")
    labels = nb.menu_labels()
    assert "File" in labels and "Nbgrader" not in labels, labels
    # the whole nbgrader extension (Validate, Assignment List, Create Assignment...) is off
    assert "@jupyter/nbgrader" in disabled_extensions(nb)
    nb.shot("learner-menus")
    import urllib.error
    import urllib.request
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(f"{lab.base}/formgrader?token={lab.token}", timeout=30)
    assert err.value.code == 404
    assert "exchange directory" not in lab.log_tail(10**6).lower()

    with JupyterLab(course_copy, RUN_DIR / "jupyterlab-instructor.log", learner=False) as instructor:
        ctx = browser.new_context(viewport={"width": 1280, "height": 900})
        try:
            inst = Notebook(ctx.new_page(), instructor.url(f"lessons/{WELCOME}/{WELCOME}.ipynb",
                                                           workspace="instructor"),
                            RUN_DIR, "instructor").open()
            assert "Nbgrader" in inst.menu_labels(), inst.menu_labels()
            assert "@jupyter/nbgrader" not in disabled_extensions(inst)
            inst.page.click('.lm-MenuBar-itemLabel:text-is("Nbgrader")')
            inst.page.wait_for_selector('.lm-Menu-itemLabel:text-is("Formgrader")', timeout=30_000)
            inst.shot("instructor-menu")
        finally:
            ctx.close()
