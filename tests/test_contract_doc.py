"""docs/contract.md and the exercise catalog agree: the same names, the same parameters."""

from __future__ import annotations

import inspect
import re

from gradelib import ROOT

from rlcore import catalog

TEXT = (ROOT / "docs" / "contract.md").read_text()


def _listed() -> dict[str, dict[str, list[str]]]:
    """{lesson number: {name: [parameter names]}} from the "- `name(a, b=1)`" lines of each section."""
    out: dict[str, dict[str, list[str]]] = {}
    lesson = None
    for line in TEXT.splitlines():
        m = re.match(r"### (\d\d) ", line)
        if m:
            lesson = m.group(1)
            continue
        if line.startswith("## "):
            lesson = None
        m = re.match(r"- `(\w+)\(([^`]*)\)`", line)
        if lesson and m:
            params = [p.split("=")[0].strip() for p in m.group(2).split(",") if p.strip()]
            out.setdefault(lesson, {})[m.group(1)] = params
    return out


def _parameters(ex) -> list[inspect.Parameter]:
    target = ex.reference.__init__ if inspect.isclass(ex.reference) else ex.reference
    return [p for p in inspect.signature(target).parameters.values() if p.name != "self"]


def test_every_catalogued_exercise_is_in_the_contract_with_its_parameters():
    listed = _listed()
    for ex in catalog.load_all().values():
        if not callable(ex.reference):
            continue  # quiz answers: values, listed by name
        names = listed.get(ex.lesson[:2], {})
        assert ex.name in names, f"docs/contract.md does not list {ex.name} under lesson {ex.lesson[:2]}"
        params = _parameters(ex)
        contract = names[ex.name]
        assert [p.name for p in params[: len(contract)]] == contract, (ex.name, contract, params)
        extra = params[len(contract):]  # extra optional keyword arguments are allowed
        assert all(p.default is not inspect.Parameter.empty for p in extra), (ex.name, extra)


def test_every_name_the_contract_lists_for_a_catalogued_lesson_is_catalogued():
    exercises = catalog.load_all()
    lessons = {ex.lesson[:2] for ex in exercises.values()}
    for lesson, names in _listed().items():
        if lesson in lessons:
            assert set(names) <= set(exercises), (lesson, sorted(set(names) - set(exercises)))


def test_no_module_cites_a_contract_outside_the_repository():
    for path in [*ROOT.glob("rlcore/**/*.py"), *ROOT.glob("autograder/**/*.py"), *ROOT.glob("tests/*.py")]:
        assert "COURSE.md" not in path.read_text() or path.name == "test_contract_doc.py", path
