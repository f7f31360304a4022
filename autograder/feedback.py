"""``feedback``: one HTML page per student and assignment, ``grading/feedback/<student>/<assignment>/``.

The page shows the student's own notebook (markdown as text, code highlighted, no
outputs), and after each test cell the result of that test: status, points and the
message. Test cells are shown as *released* (the visible checks), never with the hidden
tests: the page is built from the submission, the released lesson and the stored
result only; the instructor's notebook is never read. Everything a student wrote is
escaped, so a notebook cannot put HTML or script into the page.
"""

from __future__ import annotations

import html
import shutil
from pathlib import Path

import nbformat

from . import batch, collect, notebook

STATUS_COLOR = {"passed": "#1a7f37", "failed": "#cf222e", "error": "#cf222e", "timeout": "#9a6700",
                "not-run": "#6e7781"}
FLAG_TEXT = {
    "edited-test-cell": "a test cell was edited (the original tests were used)",
    "deleted-test-cell": "a test cell was deleted (that test earns no marks)",
    "stripped-metadata": "a test cell lost its nbgrader metadata (recognised by its code)",
    "missing-answer-metadata": "an answer cell lost its nbgrader metadata",
    "assignment-metadata": "the notebook's assignment metadata is missing or changed",
    "patched": "the notebook replaced library functions (this cannot change the grade)",
    "uses-reference": "rlcore's reference implementation was used instead of your code",
    "forged-events": "something wrote to the grader's channel (those lines were ignored)",
    "stopped": "the notebook was stopped by a limit (time, memory or processes) or crashed",
    "no-sandbox": "graded without the sandbox (instructor's trusted mode)",
    "unreadable": "the file could not be read as a notebook",
    "no-hidden-tests": "a test has no hidden tests yet (not graded)",
    "grader-error": "the grader failed on this notebook (the instructor has been told)",
}
CSS = """
body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1f2328}
h1{font-size:1.5rem} table{border-collapse:collapse;margin:1rem 0} td,th{border:1px solid #d0d7de;padding:.3rem .6rem;text-align:left;vertical-align:top}
.cell{margin:.8rem 0} .md{white-space:pre-wrap;background:#f6f8fa;padding:.5rem;border-left:3px solid #d0d7de}
pre{background:#f6f8fa;padding:.6rem;overflow-x:auto;margin:0;font-size:.85rem}
.result{padding:.4rem .6rem;border-left:4px solid;margin-top:.2rem;background:#fff8f0;white-space:pre-wrap}
.label{font-size:.75rem;color:#57606a}
"""


def _code(src: str) -> str:
    try:
        from pygments import highlight
        from pygments.formatters import HtmlFormatter
        from pygments.lexers import PythonLexer

        return highlight(src, PythonLexer(), HtmlFormatter(noclasses=True, nowrap=False))
    except ImportError:  # pragma: no cover - pygments comes with nbconvert
        return f"<pre>{html.escape(src)}</pre>"


def _result_box(t: dict) -> str:
    color = STATUS_COLOR.get(t["status"], "#6e7781")
    return (f'<div class="result" style="border-color:{color}"><b style="color:{color}">'
            f'{html.escape(t["status"])}</b> {t["score"]:g}/{t["max_score"]:g} — '
            f'{html.escape(t["message"])}{_mistake_note(t)}</div>')


def _mistake_note(t: dict) -> str:
    """"Mistake: summed instead of averaged (pg_loss/sum)" for a test that matched a named mistake."""
    if not t.get("mistake"):
        return ""
    from rlcore import catalog

    m = catalog.find_mistake(t["mistake"])
    short = m.short if m is not None else ""
    return (f"<br><span class='label'>Mistake: {html.escape(short)} "
            f"(<code>{html.escape(t['mistake'])}</code>)</span>")


def render(record: dict, submission: Path | None) -> str:
    """The feedback page of one graded submission (a stored result record)."""
    result = record["result"]
    assignment, student = result["assignment"], record["student"]
    released = notebook.released_notebook(assignment)
    rel_tests = {c.metadata.get("nbgrader", {}).get("grade_id"): c.source for c in released.cells
                 if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("grade")
                 and not c.metadata.get("nbgrader", {}).get("solution")}
    by_source = {src.strip(): gid for gid, src in rel_tests.items()}
    by_test = {t["name"]: t for t in result["tests"]}
    out = [(f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(assignment)} — "
            f"{html.escape(student)}</title><style>{CSS}</style></head><body>"),
           f"<h1>{html.escape(assignment)}: {result['score']:g} / {result['max_score']:g}</h1>",
           (f"<p>Student <b>{html.escape(student)}</b>, graded {html.escape(str(record.get('graded_at', '')))}."
            " Hidden tests ran your functions on fresh random inputs.</p>"),
           "<table><tr><th>test</th><th>status</th><th>points</th><th>message</th></tr>"]
    for t in result["tests"]:
        color = STATUS_COLOR.get(t["status"], "#6e7781")
        out.append(f"<tr><td>{html.escape(t['name'])}</td><td style='color:{color}'>"
                   f"{html.escape(t['status'])}</td><td>{t['score']:g}/{t['max_score']:g}</td>"
                   f"<td>{html.escape(t['message'])}{_mistake_note(t)}</td></tr>")
    out.append("</table>")
    if result["flags"]:
        out.append("<p><b>Notes from the grader:</b></p><ul>")
        for flag in result["flags"]:
            kind, _, what = flag.partition(":")
            text = FLAG_TEXT.get(kind, kind)
            out.append(f"<li>{html.escape(text)}{' (' + html.escape(what) + ')' if what else ''}</li>")
        out.append("</ul>")
    out.append("<h2>Your notebook</h2>")
    shown = set()
    try:
        nb = nbformat.read(submission, as_version=4) if submission else None
    except Exception:  # noqa: BLE001 - unreadable: the table above says so
        nb = None
    for cell in (nb.cells if nb else []):
        src = cell.get("source", "")
        src = "".join(src) if isinstance(src, list) else str(src)
        if cell.get("cell_type") == "markdown":
            out.append(f'<div class="cell md">{html.escape(src)}</div>')
            continue
        if cell.get("cell_type") != "code":
            continue
        meta = cell.get("metadata", {}).get("nbgrader", {})
        gid = meta.get("grade_id") if meta.get("grade") and not meta.get("solution") else None
        gid = gid if gid in rel_tests else by_source.get(src.strip())
        if gid is not None and gid not in shown:
            shown.add(gid)
            # the released test cell, never the submission's copy (which could hold anything)
            out.append(f'<div class="cell"><div class="label">test cell {html.escape(gid)}</div>'
                       f"{_code(rel_tests[gid])}")
            if gid in by_test:
                out.append(_result_box(by_test[gid]))
            out.append("</div>")
        else:
            out.append(f'<div class="cell">{_code(src)}</div>')
    for gid, t in by_test.items():
        if gid not in shown:
            out.append(f'<div class="cell"><div class="label">test {html.escape(gid)} '
                       f"(its cell is not in your notebook)</div>{_result_box(t)}</div>")
    out.append("</body></html>")
    return "\n".join(out)


def write_feedback(grading: str | Path, students: list[str] | None = None) -> list[Path]:
    """Write every student's feedback pages; return their paths."""
    grading = Path(grading)
    subs = {(s, a): p for s, a, p in collect.submissions(grading)}
    written = []
    for record in batch.load_records(grading):
        student, assignment = record["student"], record["assignment"]
        if students and student not in students:
            continue
        dest = grading / "feedback" / student / assignment / f"{assignment}.html"
        dest.parent.mkdir(parents=True, exist_ok=True)
        submission = subs.get((student, assignment))
        dest.write_text(render(record, submission), encoding="utf-8")
        if submission is not None:  # what `nbgrader release_feedback` reads beside the page
            for name in ("timestamp.txt", "submission_secret.txt"):
                if (submission.parent / name).exists():
                    shutil.copyfile(submission.parent / name, dest.parent / name)
        written.append(dest)
    return written
