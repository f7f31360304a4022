"""Drive a notebook in JupyterLab the way a learner does: open it, Run > Run All Cells, look, drag.

Everything here acts through the page (menus, mouse, the rendered DOM); nothing reaches
into the kernel. Waits are for conditions on the page (prompts, images, status bar), each
with a generous timeout for a loaded CI machine; none is a fixed sleep.
"""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playwright.sync_api import Locator, Page
from playwright.sync_api import TimeoutError as PlaywrightTimeout

PUBLISHED = Path(__file__).resolve().parent / "artifacts"
TRACEBACK = "Traceback (most recent call last)"
CHECK_FAILED = "\u2717"  # the first character of every failed visible check's message


class FigureDidNotChange(AssertionError):
    """The figure next to a slider kept the same image after the slider moved."""


@dataclass
class Notebook:
    """One notebook open in JupyterLab; ``shots`` lists the screenshots taken, in order."""

    page: Page
    url: str
    shot_dir: Path
    prefix: str
    shots: list[Path] = field(default_factory=list)

    # --- opening and running -------------------------------------------------------------

    def open(self, timeout_s: float = 120) -> Notebook:
        """Load the notebook and wait until its kernel is idle; hide the file browser."""
        self.page.goto(self.url)
        self.page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=timeout_s * 1000)
        self.wait_kernel_idle(timeout_s)
        if self.page.locator(".jp-FileBrowser:visible").count():
            self.page.keyboard.press("Control+b")  # more room for the notebook in screenshots
        return self

    def wait_kernel_idle(self, timeout_s: float = 120) -> None:
        self.page.wait_for_function(
            "() => [...document.querySelectorAll('.jp-StatusBar-TextItem')]"
            ".some(e => /\\|\\s*Idle/.test(e.textContent))", timeout=timeout_s * 1000)

    def menu(self, top: str, item: str) -> None:
        """Click ``top`` in the menu bar, then ``item`` in its menu (e.g. Run > Run All Cells)."""
        self.page.click(f'.lm-MenuBar-itemLabel:text-is("{top}")')
        self.page.click(f'.lm-Menu-itemLabel:text-is("{item}")')

    def prompts(self) -> list[str]:
        return self.page.eval_on_selector_all(
            ".jp-Notebook .jp-CodeCell .jp-InputPrompt", "els => els.map(e => e.textContent.trim())")

    def running(self) -> bool:
        """True while some code cell is queued or executing (its prompt shows ``[*]``)."""
        return any("*" in p for p in self.prompts())

    def run_all(self, timeout_s: float = 300, while_running: Any = None) -> None:
        """Run > Run All Cells and wait until no cell is queued or running and the kernel is idle.

        while_running: optional callable polled (about every 0.25 s) while cells run,
        e.g. to watch a live progress line; it receives this notebook.
        """
        self.menu("Run", "Run All Cells")
        self.page.wait_for_function(
            "() => [...document.querySelectorAll('.jp-Notebook .jp-CodeCell .jp-InputPrompt')]"
            ".some(e => /\\[(\\*|\\d+)\\]/.test(e.textContent))", timeout=30_000)
        deadline_ms = timeout_s * 1000
        waited = 0
        while self.running():
            if while_running is not None:
                while_running(self)
            self.page.wait_for_timeout(250)
            waited += 250
            if waited > deadline_ms:
                raise PlaywrightTimeout(f"cells still running after {timeout_s:.0f} s: "
                                        f"{self.prompts()}")
        self.wait_kernel_idle(timeout_s)

    # --- typing, saving ----------------------------------------------------------------------

    def code_cell(self, pattern: str) -> Locator:
        """The first code cell whose source matches the regular expression ``pattern``."""
        cells = self.page.locator(".jp-Notebook .jp-CodeCell")
        seen = []
        for i in range(cells.count()):
            cell = cells.nth(i)
            cell.scroll_into_view_if_needed()
            editor = cell.locator(".jp-InputArea .cm-content")
            editor.wait_for(state="attached", timeout=30_000)  # windowed notebooks draw cells late
            text = editor.inner_text()
            if re.search(pattern, text):
                return cell
            seen.append(text[:50])
        raise AssertionError(f"no code cell matches {pattern!r}; cells: {seen}")

    def set_source(self, cell: Locator, text: str) -> None:
        """Replace the cell's text as a learner does: click in it, select all, type (paste) ``text``."""
        editor = cell.locator(".jp-InputArea .cm-content")
        editor.scroll_into_view_if_needed()
        editor.click()
        self.page.keyboard.press("Control+a")
        self.page.keyboard.press("Delete")
        self.page.keyboard.insert_text(text)  # one insertion, like a paste (no auto-indent)

    def run_cell(self, cell: Locator, timeout_s: float = 300) -> None:
        """Shift+Enter in ``cell``; wait until it has run (its prompt shows a number)."""
        cell.locator(".jp-InputArea .cm-content").click()
        self.page.keyboard.press("Shift+Enter")
        self.page.wait_for_function("(el) => /\\[\\d+\\]/.test(el.textContent)",
                                    arg=cell.locator(".jp-InputPrompt").element_handle(),
                                    timeout=timeout_s * 1000)
        self.wait_kernel_idle(timeout_s)

    def append_cell(self, text: str) -> Locator:
        """Add a code cell at the end (click the last cell, Esc, B), type ``text``; return the cell."""
        cells = self.page.locator(".jp-Notebook .jp-Cell")
        last = cells.nth(cells.count() - 1)
        last.scroll_into_view_if_needed()
        last.click()
        self.page.keyboard.press("Escape")
        self.page.keyboard.press("b")
        new = self.page.locator(".jp-Notebook .jp-Cell").nth(cells.count() - 1)
        new.locator(".cm-content").click()
        self.page.keyboard.insert_text(text)
        return new

    def save(self) -> None:
        """Ctrl+S, and wait until JupyterLab no longer marks the notebook as having unsaved changes."""
        self.page.keyboard.press("Control+s")
        self.page.wait_for_function(
            "() => !document.querySelector('.jp-mod-current.jp-mod-dirty, .lm-TabBar-tab.jp-mod-dirty')",
            timeout=30_000)

    def menu_labels(self) -> list[str]:
        """The labels of the top menu bar (File, Edit, ..., and any extension's menu)."""
        return self.page.eval_on_selector_all(".lm-MenuBar-itemLabel", "els => els.map(e => e.textContent)")

    # --- reading what the page shows ------------------------------------------------------

    def outputs(self) -> list[str]:
        """The text of every output area item, in page order."""
        return self.page.eval_on_selector_all(".jp-Notebook .jp-OutputArea-output",
                                              "els => els.map(e => e.textContent)")

    def tracebacks(self) -> list[str]:
        """The error outputs (tracebacks) shown in the notebook, shortened."""
        return [o[:600] for o in self.outputs() if TRACEBACK in o]

    def cell_with_output(self, pattern: str) -> Locator:
        """The first code cell whose output text matches the regular expression ``pattern``."""
        cells = self.page.locator(".jp-Notebook .jp-CodeCell")
        for i in range(cells.count()):
            cell = cells.nth(i)
            texts = cell.locator(".jp-OutputArea-output").all_text_contents()
            if any(re.search(pattern, t) for t in texts):
                return cell
        raise AssertionError(f"no output matches {pattern!r}; outputs: {self.outputs()[:20]}")

    def executed_count(self) -> int:
        return sum(bool(re.fullmatch(r"\[\d+\]:", p)) for p in self.prompts())

    def record_texts(self, pattern: str) -> None:
        """Start recording, in the page, every distinct output text matching ``pattern`` as it renders.

        A MutationObserver sees each re-render of an output (e.g. a status line a display
        handle updates in place), however fast; read the record with ``recorded_texts()``.
        """
        self.page.evaluate(
            """(pattern) => {
                 const re = new RegExp(pattern);
                 window.__recorded = [];
                 const scan = () => {
                   for (const el of document.querySelectorAll('.jp-Notebook .jp-OutputArea-output')) {
                     const m = (el.textContent || '').match(re);
                     if (m && window.__recorded[window.__recorded.length - 1] !== m[0])
                       window.__recorded.push(m[0]);
                   }
                 };
                 new MutationObserver(scan).observe(document.querySelector('.jp-Notebook'),
                   {subtree: true, childList: true, characterData: true});
               }""", pattern)

    def recorded_texts(self) -> list[str]:
        return self.page.evaluate("() => window.__recorded || []")

    # --- widgets ---------------------------------------------------------------------------

    def slider(self, label: str) -> Locator:
        """The ipywidgets slider whose description matches ``label`` (a regular expression)."""
        sliders = self.page.locator(".jp-Notebook .widget-slider")
        for i in range(sliders.count()):
            s = sliders.nth(i)
            if re.search(label, s.locator(".widget-label").text_content() or "", re.IGNORECASE):
                return s
        raise AssertionError(f"no slider labelled {label!r} on the page")

    def figure_next_to(self, slider: Locator) -> Locator:
        """The PNG image in the smallest widget/cell output around ``slider``."""
        handle = slider.element_handle()
        index = self.page.evaluate(
            """(el) => {
                 const imgs = [...document.querySelectorAll('.jp-Notebook img[src^="data:image/png"]')];
                 for (let a = el.parentElement; a; a = a.parentElement) {
                   const inside = imgs.findIndex(i => a.contains(i));
                   if (inside >= 0) return inside;
                 }
                 return -1;
               }""", handle)
        if index < 0:
            raise AssertionError("no figure next to the slider")
        return self.page.locator('.jp-Notebook img[src^="data:image/png"]').nth(index)

    def drag(self, slider: Locator, dx: float) -> str:
        """Drag the slider's handle by ``dx`` pixels with the mouse; return the new readout."""
        handle = slider.locator(".noUi-handle")
        handle.scroll_into_view_if_needed()
        box = handle.bounding_box()
        x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        before = slider.locator(".widget-readout").text_content()
        self.page.mouse.move(x, y)
        self.page.mouse.down()
        self.page.mouse.move(x + dx, y, steps=12)
        self.page.mouse.up()
        self.page.wait_for_function("([el, old]) => el.textContent !== old",
                                    arg=[slider.locator(".widget-readout").element_handle(),
                                         before], timeout=10_000)
        return slider.locator(".widget-readout").text_content()

    def drag_and_expect_new_figure(self, label: str, dx: float,
                                   timeout_s: float = 60) -> tuple[str, str]:
        """Drag slider ``label`` and wait until the figure next to it shows another image.

        Returns (old, new) image data. Raises FigureDidNotChange when the image data is
        the same after ``timeout_s`` (the widget did not redraw).
        """
        slider = self.slider(label)
        figure = self.figure_next_to(slider)
        old = figure.get_attribute("src")
        readout = self.drag(slider, dx)
        try:
            self.page.wait_for_function(
                """(old) => [...document.querySelectorAll('.jp-Notebook img[src^="data:image/png"]')]
                     .every(i => i.getAttribute('src') !== old)""",
                arg=old, timeout=timeout_s * 1000)
        except PlaywrightTimeout:
            raise FigureDidNotChange(
                f"slider {label!r} moved to {readout} but its figure kept the same image data "
                f"for {timeout_s:.0f} s") from None
        new = self.figure_next_to(self.slider(label)).get_attribute("src")
        return old, new

    # --- screenshots -----------------------------------------------------------------------

    def shot(self, name: str, target: Locator | None = None, publish: bool = False) -> Path:
        """Save a screenshot of the viewport (with ``target`` scrolled into view) as PNG.

        Every shot goes to ``shot_dir``; with ``publish`` and ``E2E_PUBLISH=1`` in the
        environment it is also copied to ``e2e/artifacts/`` (the committed set the README shows).
        """
        if target is not None:
            target.evaluate("e => e.scrollIntoView({block: 'center'})")
            target.wait_for(state="visible")
            # let the notebook's windowed rendering paint the scrolled-to cells
            self.page.evaluate("() => new Promise(r => requestAnimationFrame(() => "
                               "requestAnimationFrame(r)))")
        path = self.shot_dir / f"{self.prefix}-{len(self.shots) + 1:02d}-{name}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(path))
        self.shots.append(path)
        if publish and os.environ.get("E2E_PUBLISH") == "1":
            shutil.copy(path, PUBLISHED / f"{self.prefix}-{name}.png")
        return path
