"""The import contracts of DESIGN.md ("Architecture"), checked with import-linter.

The contracts live in pyproject.toml (`[tool.importlinter]`): technique packages
import no assembly or app package; `deeprob_keras` never imports the pipeline,
the benchmarks, TFX or TFMA; no import circles. The first test runs them on the
real package; the others plant one bad import in a copy of the package and check
that the right contract breaks (so the first test can fail).
"""

import os
import shutil
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIG = os.path.join(ROOT, "pyproject.toml")
LINT_IMPORTS = os.path.join(os.path.dirname(sys.executable), "lint-imports")

pytestmark = pytest.mark.skipif(not os.path.exists(LINT_IMPORTS),
                                reason="import-linter is not installed (pip install -e '.[test]')")


def lint_imports(*args, cwd=ROOT, pythonpath=None):
    env = dict(os.environ)
    if pythonpath:
        env["PYTHONPATH"] = pythonpath + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.run([LINT_IMPORTS, "--config", CONFIG, "--no-cache", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


def test_the_package_keeps_its_import_contracts():
    result = lint_imports()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 kept, 0 broken" in result.stdout, result.stdout


@pytest.mark.parametrize("contract, module, planted", [
    # a technique reaching up into the assembly
    ("techniques-are-leaves", "layers/penalties.py", "from deeprob_keras.training import builders"),
    ("techniques-are-leaves", "transfer/model.py", "from deeprob_keras.models import build_model"),
    # the library reaching into the pipeline, TFX or the benchmarks
    ("library-without-pipeline", "training/export.py", "import deeprob_pipeline.cli"),
    ("library-without-pipeline", "cli.py", "from tfx import v1"),
    ("library-without-pipeline", "doctor/report.py", "import tensorflow_model_analysis"),
    ("library-without-pipeline", "data/pipelines.py", "import benchmarks"),
    # an import circle: training imports the CLI, which imports training
    ("no-import-circles", "training/builders.py", "import deeprob_keras.cli"),
    # an import circle inside a package
    ("no-import-circles", "training/export.py", "from deeprob_keras.training import run"),
])
def test_a_planted_import_breaks_its_contract(tmp_path, contract, module, planted):
    copy = tmp_path / "deeprob_keras"
    shutil.copytree(os.path.join(ROOT, "deeprob_keras"), copy, ignore=shutil.ignore_patterns("__pycache__"))
    target = copy / module
    target.write_text(target.read_text() + f"\n{planted}  # planted by the test\n")
    # The copy shadows the installed package (the editable finder comes after PYTHONPATH).
    found = subprocess.run([sys.executable, "-c", "import importlib.util; "
                            "print(importlib.util.find_spec('deeprob_keras').origin)"],
                           cwd=str(tmp_path), env={**os.environ, "PYTHONPATH": str(tmp_path)},
                           capture_output=True, text=True, timeout=60).stdout.strip()
    assert found == str(copy / "__init__.py")

    result = lint_imports("--contract", contract, cwd=str(tmp_path), pythonpath=str(tmp_path))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "0 kept, 1 broken" in result.stdout, result.stdout
    assert "BROKEN" in result.stdout
