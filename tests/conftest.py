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
