"""Look for naming races: run every catalogued mutant of a lesson against its hidden tests on many seeds.

    .venv/bin/python tools/mutant_sweep.py 01 04 --seeds 300

A lesson's tests (``tests/test_lessonNN.py``) list realistic mistakes in ``MUTANTS`` and,
for most lessons, the phrase each message must contain in ``NAMED``. The grader draws
fresh inputs every time, so a mutant that some inputs let pass, or that some inputs make
look like another mistake (all differences positive: "not squared" and "absolute error"
agree), fails a grading test now and then. This prints every (mutant, outcome) that is
not "caught and named", with how many of the seeds produced it; nothing printed = no race.
"""

from __future__ import annotations

import argparse
import collections
import importlib
import sys
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def sweep(lesson: str, seeds: range) -> list[str]:
    """Return one line per mutant whose hidden-test outcome depends on the seed."""
    from autograder.hidden import Mistake, run_hidden

    module = importlib.import_module(f"test_lesson{lesson}")
    named = getattr(module, "NAMED", {})
    problems = []
    for name, mutants in module.MUTANTS.items():
        for i, source in enumerate(mutants):
            fn = module._define(source, name)
            want = named.get(name, [])[i] if i < len(named.get(name, [])) else None
            outcomes: collections.Counter[str] = collections.Counter()
            for seed in seeds:
                try:
                    run_hidden(name, fn, seed=seed, verbose=False)
                    outcomes["not caught"] += 1
                except Mistake as e:
                    if want and want.lower() not in str(e).lower():
                        outcomes[f"not named {want!r}: {str(e)[:160]}"] += 1
            for what, n in outcomes.items():
                problems.append(f"{lesson} {name} mutant {i}: {n}/{len(seeds)} seeds {what}")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("lessons", nargs="+", help="lesson numbers, e.g. 01 04")
    parser.add_argument("--seeds", type=int, default=200)
    parser.add_argument("--first-seed", type=int, default=1000)
    args = parser.parse_args(argv)
    sys.path[:0] = [str(ROOT / "tests"), str(ROOT)]
    warnings.filterwarnings("ignore")
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    problems = [line for lesson in args.lessons for line in sweep(lesson, seeds)]
    print("\n".join(problems) or f"no race in {', '.join(args.lessons)} over {args.seeds} seeds")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
