# Every target does all the set-up on a fresh machine (Python 3.10 venv, the
# package, Debian's Fashion-MNIST files); a second run reuses what exists.
VENV ?= .venv
PYTEST_ARGS ?=
# Test files run in this many processes (pytest-xdist; a file's tests stay in one process, so
# its module fixtures run once). 2 fits a 2-core machine: much of the suite waits on
# subprocesses, Beam and pip, not on the CPU. TEST_WORKERS=0 runs everything in one process.
TEST_WORKERS ?= 2
# The end-to-end runs of over a minute each that `make test` leaves out (marker `long`, listed in
# pyproject.toml); `make test-long` runs just them, `make test TEST_MARKERS=` everything.
TEST_MARKERS ?= not long

.PHONY: setup demo train test test-long bench image print-image lock

# The container image of the Kubeflow pipeline: by default the name that the pipeline
# itself uses (PipelineConfig.kubeflow_image in pipeline/config.py), read from there so
# that the two never differ. Override: make image IMAGE=REGISTRY/deeprob-keras:TAG
IMAGE ?= $(shell sed -n 's/^ *kubeflow_image: str = spec."\([^"]*\)".*/\1/p' pipeline/config.py)

setup:
	@bash scripts/bootstrap.sh

# The main job: the TFX pipeline on its embedded defaults, then a check of the pushed model.
demo: setup
	$(VENV)/bin/deeprob pipeline run
	$(VENV)/bin/deeprob serve-check runs/pipeline/serving

# The default recipe trained end to end without TFX.
train: setup
	$(VENV)/bin/deeprob train recipes/fashion_mnist_fast_4stage14.yaml --out runs/fashion_mnist_fast

test: setup
	$(VENV)/bin/python -m pytest -q -p no:cacheprovider -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder -m "$(TEST_MARKERS)" $(PYTEST_ARGS)

test-long:
	$(MAKE) test TEST_MARKERS=long

bench: setup
	$(VENV)/bin/python benchmarks/run_all.py --budget small

# Builds Dockerfile (TFX 1.16's image + this package with [pipeline] + recipes + the
# backbone if runs/pipeline/backbone/model.keras exists). Needs Docker and access to
# Docker Hub (tensorflow/tfx:1.16.0); not buildable on the development machines.
image:
	@test -n "$(IMAGE)" || { echo "make image: no image name (set IMAGE=..., or kubeflow_image in pipeline/config.py)"; exit 2; }
	docker build -t $(IMAGE) .

print-image:
	@echo $(IMAGE)

# Rewrites constraints.txt from the working venv (after a dependency change and a green make test).
lock: setup
	@{ sed -n '/^#/p' constraints.txt; $(VENV)/bin/python -m pip freeze --exclude-editable | grep -v '^deeprob-keras'; } > constraints.txt.new
	@mv constraints.txt.new constraints.txt
	@echo "constraints.txt: $$(grep -vc '^#' constraints.txt) packages"
