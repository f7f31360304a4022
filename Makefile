# The user's vocabulary: setup, test, lab, release, check, grade, bench, e2e.
# Every target uses the project's virtual environment in .venv (made by `make setup`).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
KERNEL := rl-course
NB ?=

.PHONY: setup sandbox-tool test test-fast lab release check grade lint clean bench e2e profile
.PHONY: setup-grader collect feedback report bench-grading

## setup: create .venv, install rlcore (editable) with pinned deps, register the Jupyter kernel
setup: $(VENV)/.stamp-setup sandbox-tool

# The grader's sandbox (bubblewrap) is a system package: installed here when we may (root with
# apt-get); otherwise say how. Cheap when it is already there.
sandbox-tool:
	@command -v bwrap >/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing bubblewrap (the grader's sandbox)"; \
	    apt-get update -qq && apt-get install -y -qq bubblewrap >/dev/null; \
	  else \
	    echo "note: bubblewrap is missing; grading tests need it: sudo apt-get install bubblewrap"; \
	  fi; }

$(VENV)/.stamp-setup: pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[course,dev,e2e]'
	$(PY) -m ipykernel install --sys-prefix --name $(KERNEL) --display-name "Deep RL course (rlcore)" >/dev/null
	@touch $@
	@echo "Set-up done. Next: make test   (or: make lab to open the lessons)"

## test: unit tests, every notebook executed, lessons in sync, grading of good and bad submissions
test: setup
	$(PY) -m pytest -n 2 --dist loadgroup -q

## test-fast: only the unit tests (no notebook execution)
test-fast: setup
	$(PY) -m pytest -q -m "not slow"

## e2e: a learner's session in a real browser: JupyterLab + headless Chromium (apt-installed when root)
e2e: setup
	$(PY) -m pytest tests/test_e2e.py -v -rs

## profile: execute every lesson as a learner would; peak memory, CPU s -> bench/results/profile.json
profile: setup
	$(PY) -m bench.profile_lessons

## lab: open JupyterLab on the student notebooks
lab: setup
	$(VENV)/bin/jupyter lab $(if $(filter 0,$(shell id -u)),--allow-root) lessons/

## release: regenerate lessons/ from solutions/ with nbgrader (stubs, hidden tests removed, no outputs)
release: setup
	$(PY) -m autograder release

## check NB=path: run a notebook with the hidden tests and print passed/failed per exercise
check: setup
	@test -n "$(NB)" || { echo "usage: make check NB=lessons/02-trajectories-and-returns/02-trajectories-and-returns.ipynb"; exit 2; }
	$(PY) -m autograder check "$(NB)"

## bench [METHODS=rlcore-pg,sb3-ppo] [SEEDS=5]: CartPole time-to-solve vs Stable-Baselines3 (JSON, PNG, README table)
METHODS ?= rlcore-pg,rlcore-dqn,sb3-ppo,sb3-dqn
SEEDS ?= 5
bench: setup $(VENV)/.stamp-bench
	$(PY) bench/cartpole.py --methods "$(METHODS)" --seeds "$(SEEDS)"

$(VENV)/.stamp-bench: pyproject.toml
	$(PY) -m pip install --quiet -e '.[bench]'
	@touch $@

## setup-grader: install bubblewrap (the grader's sandbox) and check that a sandbox starts here
setup-grader: setup
	@command -v bwrap >/dev/null || { if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq bubblewrap; else sudo apt-get install -y bubblewrap; fi; }
	$(PY) -c "from autograder.sandbox import check_sandbox; check_sandbox(); print('sandbox OK')"

## collect DIR=hand-ins (a folder <student>/<assignment>.ipynb or an LMS .zip) -> grading/submitted/
collect: setup
	@test -n "$(DIR)" || { echo "usage: make collect DIR=path/to/hand-ins   (or DIR=submissions.zip)"; exit 2; }
	$(PY) -m autograder collect "$(DIR)"

## grade [GRADE_ARGS="--force --timeout 120 --memory 2048"]: grade new or changed submissions, sandboxed, parallel
grade: setup
	$(PY) -m autograder grade $(GRADE_ARGS)

## feedback: one HTML page per student and assignment in grading/feedback/
feedback: setup
	$(PY) -m autograder feedback

## report: grading/report.csv (scores per student and exercise, flags) and grading/report.png
report: setup
	$(PY) -m autograder report

## bench-grading: 30 students x every lesson graded sandboxed vs plain nbgrader -> bench/results/grading.json
bench-grading: setup
	$(PY) bench/grading.py

lint: setup
	$(VENV)/bin/ruff check rlcore autograder tests tools

clean:
	rm -rf $(VENV) .pytest_cache .nbgrader
