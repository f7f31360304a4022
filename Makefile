# The user's vocabulary: setup, test, lab, release, check, grade, bench, e2e.
# Every target uses the project's virtual environment in .venv (made by `make setup`).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
KERNEL := rl-course
NB ?=

.PHONY: setup sandbox-tool test test-fast lab lab-instructor release check grade lint clean bench e2e profile help
.PHONY: setup-grader collect feedback report bench-grading bench-pendulum hub hub-setup bench-hub

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
	@echo "Set-up done. Learners: make lab (opens your workspace/). Contributors: make test"

## help: list the commands
help:
	@grep -h '^## ' $(MAKEFILE_LIST) | sed 's/^## /  make /'

## test [PYTEST_ARGS=tests/test_x.py]: unit tests, every notebook executed, lessons in sync, grading
test: setup
	$(PY) -m pytest -n 2 --dist loadgroup -q $(PYTEST_ARGS)

## test-fast: only the unit tests (no notebook execution)
test-fast: setup
	$(PY) -m pytest -q -m "not slow"

## e2e: a learner's session in a real browser: JupyterLab + headless Chromium (apt-installed when root)
e2e: setup
	$(PY) -m pytest tests/test_e2e.py -v -rs

## profile: execute every lesson as a learner would; peak memory, CPU s -> bench/results/profile.json
profile: setup
	$(PY) -m bench.profile_lessons

# A learner works in workspace/ (git-ignored): `make lab` copies lessons/ there on first use and
# later only adds new files; no command here ever changes or deletes a file in it.
WORKSPACE := workspace
LAB_ARGS ?=
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root)

## lab: JupyterLab on workspace/, your own copy of the lessons (made on first use, never overwritten)
lab: setup
	@$(PY) -m autograder workspace $(WORKSPACE)
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" JUPYTER_CONFIG_PATH="$(CURDIR)/etc/jupyter-learner" \
	  $(VENV)/bin/jupyter lab $(ROOT_FLAG) $(LAB_ARGS) $(WORKSPACE)/

## lab-instructor: JupyterLab on the course folder, with nbgrader's Formgrader and Create Assignment
lab-instructor: setup
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(VENV)/bin/jupyter lab $(ROOT_FLAG) $(LAB_ARGS) .

## release [FORCE=1]: regenerate lessons/ from solutions/; refuses to overwrite a learner's work unless FORCE=1 (backs it up)
release: setup
	$(PY) -m autograder release $(if $(filter 1 yes true,$(FORCE)),--force)

## check [NB=02]: grade your saved notebooks as the grader does (default: every lesson you started in workspace/)
check: setup
	@$(PY) -m autograder check $(NB)

## bench [METHODS=rlcore-pg,sb3-ppo] [SEEDS=20] [SB3_SEEDS=5]: CartPole and Pendulum time-to-solve distributions vs Stable-Baselines3 (JSON, PNG, README tables)
METHODS ?= rlcore-pg,rlcore-dqn,rlcore-ppo,rlcore-a2c,sb3-ppo,sb3-a2c,sb3-dqn
SEEDS ?= 20
SB3_SEEDS ?= 5
bench: setup $(VENV)/.stamp-bench
	$(PY) bench/cartpole.py --methods "$(METHODS)" --seeds "$(SEEDS)" --sb3-seeds "$(SB3_SEEDS)"
	$(PY) bench/pendulum.py --methods "$(PMETHODS)" --seeds "$(SB3_SEEDS)"

## bench-pendulum [PMETHODS=rlcore-sac,sb3-sac] [SB3_SEEDS=5]: Pendulum time-to-solve of PPO/TD3/SAC/DDPG vs Stable-Baselines3
PMETHODS ?= rlcore-td3,rlcore-sac,rlcore-ddpg,rlcore-ppo,sb3-td3,sb3-sac,sb3-ppo
bench-pendulum: setup $(VENV)/.stamp-bench
	$(PY) bench/pendulum.py --methods "$(PMETHODS)" --seeds "$(SB3_SEEDS)"

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

## report: grading/report.csv (scores, flags), report.png, report-mistakes.csv/.png (students per named mistake)
report: setup
	$(PY) -m autograder report

## bench-grading: 30 students x every lesson graded sandboxed vs plain nbgrader -> bench/results/grading.json
bench-grading: setup
	$(PY) bench/grading.py

## hub [LEARNERS=4] [PORT=8000] [PREFIX=]: a JupyterHub on 127.0.0.1 for a workshop (accounts, exchange, limits, culler); Ctrl-C stops it
LEARNERS ?= 4
PORT ?= 8000
PREFIX ?=
hub: setup hub-setup
	$(PY) deploy/hub/run.py --learners $(LEARNERS) --port $(PORT) --prefix "$(PREFIX)"

## hub-setup: install JupyterHub (pip, the [hub] extra) and configurable-http-proxy (npm, in .hub/)
hub-setup: setup
	@$(PY) deploy/hub/run.py --setup-only

## bench-hub [HUB_N=8,16]: N simulated learners log in, spawn and run lesson 06 on a real hub -> bench/results/hub.json
HUB_N ?= 8,16
bench-hub: setup hub-setup
	$(PY) bench/hub_load.py --learners "$(HUB_N)"

lint: setup
	$(VENV)/bin/ruff check rlcore autograder tests tools deploy bench/hub_load.py

## clean: remove the virtual environment and caches (never lessons/, workspace/, grading/ or backups/)
clean:
	rm -rf $(VENV) .pytest_cache .nbgrader
