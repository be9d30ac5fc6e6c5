import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

# Under pytest-xdist (make test: 2 processes), each worker's TensorFlow gets its share of the cores
# for its kernels (intra-op threads) instead of a thread per core: two processes that each spin a full Eigen thread pool on 2 cores
# spent 32 min of CPU for 21 min of wall time, and single tests ran up to 9x slower than alone.
# Read by TensorFlow when it starts, so set before any test imports it; inherited by the
# `deeprob` subprocesses the tests start. An explicit setting in the environment wins.
_workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
if _workers > 1:
    _share = str(max(1, (os.cpu_count() or 1) // _workers))
    os.environ.setdefault("TF_NUM_INTRAOP_THREADS", _share)  # inter-op stays: blocking collectives need it

sys.path.insert(0, os.path.dirname(__file__))

# Test files that take minutes (subprocesses, pip, Beam, TFX), slowest first. Under xdist each file
# is one unit of work handed out in collection order (`--dist loadfile --no-loadscope-reorder` in
# the Makefile), so these go first and the many short files fill the gaps at the end; otherwise a
# multi-minute file dealt out last keeps one worker busy while the other idles. Order only: every
# test still runs. Seconds from `make test PYTEST_ARGS=--durations=0` summed per file.
SLOWEST_FILES = (
    "tests/pipeline/test_pipeline_e2e.py",
    "tests/reliability/test_kill_ema_snapshots.py",
    "tests/pipeline/test_transfer_default.py",
    "tests/install/test_base_install.py",
    "tests/training/test_recipe_switches.py",
    "tests/doctor/test_report_and_loop.py",
)


def pytest_collection_modifyitems(session, config, items):
    rank = {path: i for i, path in enumerate(SLOWEST_FILES)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::")[0], len(rank)))  # stable: the rest keep their order
