"""A local pipeline run imports only the TFX it uses: not `tfx.v1`, whose import pulls in every
component, kfp and the Google Cloud extensions (about 3 s of start-up, docs/MEASUREMENTS_NOTES.md)."""

import os
import subprocess
import sys

import pytest

UNUSED_LOCALLY = ("tfx.v1", "kfp", "google.cloud.aiplatform")


@pytest.mark.slow
def test_the_local_run_path_does_not_import_tfx_v1_kfp_or_the_cloud_extensions():
    code = ("import sys, deeprob_pipeline.runners, deeprob_pipeline.trainer_module; "
            f"print(sorted(m for m in {UNUSED_LOCALLY!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600,
                         env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "[]"
