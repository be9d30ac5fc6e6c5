# Both targets do all the set-up on a fresh machine (Python 3.10 venv, the
# package, Debian's Fashion-MNIST files); a second run reuses what exists.
VENV ?= .venv
PYTEST_ARGS ?=

.PHONY: setup demo test bench

setup:
	@bash scripts/bootstrap.sh

demo: setup
	$(VENV)/bin/deeprob train recipes/fashion_mnist.yaml --out runs/demo

test: setup
	$(VENV)/bin/python -m pytest -q -p no:cacheprovider $(PYTEST_ARGS)

bench: setup
	$(VENV)/bin/python benchmarks/augmentation.py
	$(VENV)/bin/python benchmarks/callback_overhead.py
