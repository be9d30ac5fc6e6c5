"""The Kubeflow image's Dockerfile against pyproject.toml, the Makefile and the pipeline's default.

Pure Python: reads files (and asks `make` for the image name); imports no TensorFlow.
The image itself cannot be built on the development machines (no container registry).
"""

import ast
import os
import re
import shutil
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _read(name):
    with open(os.path.join(ROOT, name), encoding="utf-8") as f:
        return f.read()


def _instructions():
    """Dockerfile instructions as (KEYWORD, argument) with continuation lines joined."""
    text = re.sub(r"\\\n", " ", _read("Dockerfile"))
    result = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, argument = line.partition(" ")
            result.append((keyword.upper(), argument.strip()))
    return result


def _optional_dependencies():
    """pyproject.toml's [project.optional-dependencies] (tomllib/tomli, else a small reader)."""
    text = _read("pyproject.toml")
    try:
        import tomllib
    except ImportError:
        try:
            import tomli as tomllib
        except ImportError:
            tomllib = None
    if tomllib is not None:
        return tomllib.loads(text)["project"]["optional-dependencies"]
    section = text.split("[project.optional-dependencies]", 1)[1]
    section = re.split(r"^\[", section, maxsplit=1, flags=re.M)[0]
    section = "\n".join(line for line in section.splitlines() if not line.strip().startswith("#"))
    return {name: ast.literal_eval(value)
            for name, value in re.findall(r"^([\w-]+)\s*=\s*(\[[^\]]*\])", section, flags=re.M | re.S)}


def _pipeline_default_image():
    """PipelineConfig.kubeflow_image's default, read from pipeline/config.py's source."""
    tree = ast.parse(_read(os.path.join("pipeline", "config.py")))
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and node.name == "PipelineConfig":
            for item in node.body:
                if isinstance(item, ast.AnnAssign) and getattr(item.target, "id", None) == "kubeflow_image":
                    return ast.literal_eval(item.value.args[0])
    raise AssertionError("PipelineConfig.kubeflow_image not found in pipeline/config.py")


def _pip_installs():
    return [arg for keyword, arg in _instructions() if keyword == "RUN" and "pip install" in arg]


def test_base_image_is_the_pinned_tfx_release():
    froms = [arg for keyword, arg in _instructions() if keyword == "FROM"]
    assert len(froms) == 1, froms
    base, _, tag = froms[0].partition(":")
    assert base == "tensorflow/tfx"
    tfx_pins = [d for d in _optional_dependencies()["pipeline"] if re.match(r"tfx(\[|=)", d)]
    assert tfx_pins == [f"tfx[kfp]=={tag}"], (froms[0], tfx_pins)


def test_pip_install_line_installs_this_package_with_the_pipeline_extra():
    installs = _pip_installs()
    assert len(installs) == 1, installs
    targets = re.findall(r"""["']?\.\[([^\]]*)\]["']?""", installs[0])
    assert len(targets) == 1, f"expected one `.[extras]` target in: {installs[0]}"
    extras = [e.strip() for e in targets[0].split(",")]
    declared = _optional_dependencies()
    assert set(extras) <= set(declared), f"extras {extras} not all in pyproject.toml's {sorted(declared)}"
    assert "pipeline" in extras
    assert "test" not in extras, "the image needs no test tools"
    # Nothing pinned by hand beside the package: pyproject.toml holds the versions.
    words = [w for w in installs[0].split() if not w.startswith("-")]
    assert words[words.index("install") + 1:] == [f'".[{targets[0]}]"'], installs[0]


def test_dockerfile_copies_what_the_install_needs_and_the_recipes():
    copies = " ".join(arg for keyword, arg in _instructions() if keyword == "COPY")
    for needed in ("pyproject.toml", "setup.py", "README.md", "deeprob_keras", "pipeline", "recipes"):
        assert re.search(rf"(^|\s){re.escape(needed)}(\s|$)", copies), needed
    ignored = [line.strip() for line in _read(".dockerignore").splitlines()
               if line.strip() and not line.strip().startswith("#")]
    for needed in ("pyproject.toml", "setup.py", "README.md", "deeprob_keras", "pipeline", "recipes"):
        assert needed not in ignored


def test_makefile_image_name_is_the_pipeline_default():
    default = _pipeline_default_image()
    assert default and ":" in default
    makefile = _read("Makefile")
    assert re.search(r"^image:", makefile, flags=re.M)
    assert re.search(r"^\tdocker build -t \$\(IMAGE\) \.$", makefile, flags=re.M)
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    env = {k: v for k, v in os.environ.items() if k not in ("IMAGE", "MAKEFLAGS", "MFLAGS")}
    out = subprocess.run(["make", "-s", "--no-print-directory", "-C", ROOT, "print-image"],
                         capture_output=True, text=True, env=env, check=True).stdout.strip()
    assert out == default
