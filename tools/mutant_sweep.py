"""Look for naming races: run every catalogued mistake of a lesson against its hidden tests on many seeds.

    .venv/bin/python tools/mutant_sweep.py 01 04 --seeds 300

The contract test (``tests/test_lesson_contract.py``) grades each catalogued wrong
implementation on three seeds. The grader draws fresh inputs every time, so a mistake that
some inputs let pass, or that some inputs make look like another one (all differences
positive: "not squared" and "absolute error" agree), fails a grade now and then. This
runs the same check over many seeds and prints every (mistake, outcome) that is not
"caught and named as itself", with how many seeds produced it; nothing printed = no race.
"""

from __future__ import annotations

import argparse
import collections
import sys
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def sweep(lesson: str, seeds: range) -> list[str]:
    """Return one line per catalogued mistake of ``lesson`` ("01") whose outcome depends on the seed."""
    from autograder.hidden import Mistake, run_hidden
    from autograder.notebook import assignments
    from rlcore import catalog

    matches = [a for a in assignments() if a.startswith(lesson)]
    if not matches:
        raise SystemExit(f"no lesson {lesson!r}; lessons: {', '.join(assignments())}")
    problems = []
    for ex in catalog.exercises_of(matches[0]):
        for m in ex.mistakes:
            if m.wrong is None or not callable(m.wrong):
                continue  # a quiz answer's wrong value: nothing to run
            wrong = ex.define(m.wrong)
            outcomes: collections.Counter[str] = collections.Counter()
            for seed in seeds:
                try:
                    run_hidden(ex.name, wrong, seed=seed, verbose=False)
                    outcomes["not caught"] += 1
                except Mistake as e:
                    if e.id != m.id:
                        outcomes[f"named as {e.id}: {str(e)[:160]}"] += 1
            problems += [f"{m.id}: {n}/{len(seeds)} seeds {what}" for what, n in outcomes.items()]
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("lessons", nargs="+", help="lesson numbers, e.g. 01 04")
    parser.add_argument("--seeds", type=int, default=200)
    parser.add_argument("--first-seed", type=int, default=1000)
    args = parser.parse_args(argv)
    sys.path[:0] = [str(ROOT)]
    warnings.filterwarnings("ignore")
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    problems = [line for lesson in args.lessons for line in sweep(lesson, seeds)]
    print("\n".join(problems) or f"no race in {', '.join(args.lessons)} over {args.seeds} seeds")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
