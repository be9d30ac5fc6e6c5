"""Package discovery only; everything else is in pyproject.toml.

The TFX side lives in the folder pipeline/ but installs under the namespaced
import name `deeprob_pipeline` (plain `pipeline` is a name other packages use).
pyproject.toml's `packages.find` cannot rename a folder, hence this file.
"""

from setuptools import find_packages, setup

setup(
    packages=find_packages(include=["deeprob_keras", "deeprob_keras.*"]) + [
        "deeprob_pipeline" + name[len("pipeline"):] for name in find_packages(include=["pipeline", "pipeline.*"])]
    + ["deeprob_pipeline.configs"],  # example configs: data only, no __init__.py
    package_dir={"deeprob_pipeline": "pipeline"},
    package_data={"deeprob_pipeline.configs": ["*.yaml"]},
)
