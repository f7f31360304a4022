"""docs/seed-map.md: every heading of the talk is mapped, and every lesson cell it names exists."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
from gradelib import ROOT

MAP = ROOT / "docs" / "seed-map.md"
SEED_CANDIDATES = [
    ROOT.parent / "shared" / "seed" / "intro-to-deep-rl-part1.md",  # /work/shared next to the checkout
    ROOT / "seed" / "intro-to-deep-rl-part1.md",
]
SEED = next((p for p in SEED_CANDIDATES if p.exists()), None)

# The talk's `#`/`##` headings, kept here so the check runs where the talk itself is not
# checked out (CI); when it is, a test asserts this list is still exactly what it contains.
SEED_HEADINGS = [
    "Introduction to Deep RL, Part 1", "1.0: What is Spinning Up?", "Education at OpenAI",
    "Mandate from OpenAI Charter:", "Spinning Up in Deep RL", "Spinning Up Workshops",
    "1.1: What is deep RL, and why do we care about it?", "What is Deep RL?",
    "When would you want to use RL?", "When would you want to use deep learning?",
    "When would you want to use deep RL?", "Interlude: Recap of deep learning patterns",
    "Deep Learning: What makes it deep?", "1.2: How do we formulate RL problems?", "What is RL?",
    "Key Concepts in RL", "Reward and Return", "The Reinforcement Learning Problem",
    "Value Functions and Action-Value Functions", "Deep RL Algorithms", "A Few Notes",
    "Example Implementation", "Example Implementation (Continued)", "Experience replay:",
    "Target networks:", "Recommended Reading: Deep RL Algorithms",
]

# Claims of the talk that sit under no heading of their own; each must have a row.
KEY_CLAIMS = ["Bellman equations", "Q* gives a policy", "mean-squared Bellman error",
              "two approaches", "learning the model", "exact models", "policy gradient",
              "reward-to-go", "normalize advs trick", "core idea", "won't work",
              "Algorithm 1", "epsilon-greedy", "running-robot example", "policies",
              "on-policy vs off-policy", "trade-offs"]


def _cells(line: str) -> list[str]:
    """The cells of a markdown table row (``\\|`` is a literal bar inside a cell)."""
    parts = re.split(r"(?<!\\)\|", line.strip())[1:-1]
    return [p.strip() for p in parts]


def map_rows(text: str) -> list[dict[str, str]]:
    """Rows of the map's tables as {talk, claim, lesson, cell}; header and rule rows skipped."""
    rows = []
    for line in text.splitlines():
        if not line.startswith("|"):
            continue
        cells = _cells(line)
        if len(cells) != 4 or cells[0] == "talk" or set(cells[0]) <= set("-: "):
            continue
        rows.append(dict(zip(("talk", "claim", "lesson", "cell"), cells)))
    return rows


def seed_headings(text: str) -> list[str]:
    """The talk's `#` and `##` headings, skipping code listings (their `# make model` comments)."""
    out, in_code = [], False
    for line in text.splitlines():
        if line.strip().startswith("```"):
            in_code = not in_code
            continue
        m = re.match(r"^#{1,2} (.+?)\s*$", line)
        if m and not in_code:
            out.append(m.group(1))
    return list(dict.fromkeys(out))


def notebook_headings(assignment: str) -> set[str]:
    """Text of every markdown heading (any level) in the lesson's solutions notebook."""
    path = ROOT / "solutions" / assignment / f"{assignment}.ipynb"
    nb = nbformat.read(path, as_version=4)
    return {m.group(1).strip() for c in nb.cells if c.cell_type == "markdown"
            for m in re.finditer(r"^#{1,6} (.+)$", c.source, flags=re.MULTILINE)}


ROWS = map_rows(MAP.read_text())
LESSONS = sorted({r["lesson"] for r in ROWS})


def test_the_map_has_rows_for_every_lesson_that_teaches_the_talk():
    assert len(ROWS) > 50
    assert {"00-welcome", "01-deep-learning-recap", "02-trajectories-and-returns", "03-policies",
            "04-value-functions", "05-policy-gradients", "06-dqn",
            "07-taxonomy-and-next-steps"} == set(LESSONS)


@pytest.mark.parametrize("lesson", LESSONS)
def test_every_cell_the_map_names_exists_in_its_lesson(lesson):
    if not (ROOT / "solutions" / lesson / f"{lesson}.ipynb").exists():
        pytest.fail(f"docs/seed-map.md maps the talk to {lesson}, which has no solutions notebook")
    headings = notebook_headings(lesson)
    missing = sorted({r["cell"] for r in ROWS if r["lesson"] == lesson} - headings)
    assert not missing, (f"docs/seed-map.md names headings that {lesson} does not have: {missing}; "
                         f"its headings are {sorted(headings)}")


def test_every_heading_of_the_talk_is_mapped():
    mapped = {r["talk"].split(" \u203a ")[0] for r in ROWS}
    missing = [h for h in SEED_HEADINGS if h not in mapped]
    assert not missing, f"talk headings with no row in docs/seed-map.md: {missing}"


@pytest.mark.skipif(SEED is None, reason="the talk (shared/seed) is not next to this checkout")
def test_the_list_of_talk_headings_is_the_talks():
    headings = seed_headings(SEED.read_text())
    assert "make model" not in headings  # code comments are not headings
    assert headings == SEED_HEADINGS


def test_key_claims_without_headings_are_mapped():
    talk = " ".join(r["talk"] for r in ROWS).lower()
    missing = [c for c in KEY_CLAIMS if c.lower() not in talk]
    assert not missing, f"claims of the talk with no row in docs/seed-map.md: {missing}"


def test_rows_are_complete():
    for r in ROWS:
        assert all(r.values()), r


def test_parsers_on_small_examples():
    assert seed_headings("# A\n```\n# code\n```\n## B\n### C\n# A\n") == ["A", "B"]
    rows = map_rows("| talk | what | lesson | cell |\n|---|---|---|---|\n| X › y | 1/\\|D\\| | L | H |\n")
    assert rows == [{"talk": "X › y", "claim": "1/\\|D\\|", "lesson": "L", "cell": "H"}]
    assert Path(MAP).name == "seed-map.md"
