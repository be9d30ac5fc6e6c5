# Every target does all the set-up on a fresh machine (Python 3.10 venv, the
# package, Debian's Fashion-MNIST files); a second run reuses what exists.
VENV ?= .venv
PYTEST_ARGS ?=

.PHONY: setup demo train test bench

setup:
	@bash scripts/bootstrap.sh

# The main job: the TFX pipeline on its embedded defaults, then a check of the pushed model.
demo: setup
	$(VENV)/bin/deeprob pipeline run
	$(VENV)/bin/deeprob serve-check runs/pipeline/serving

# The default recipe trained end to end without TFX.
train: setup
	$(VENV)/bin/deeprob train recipes/fashion_mnist.yaml --out runs/fashion_mnist

test: setup
	$(VENV)/bin/python -m pytest -q -p no:cacheprovider $(PYTEST_ARGS)

bench: setup
	$(VENV)/bin/python benchmarks/run_all.py --budget small
