"""`deeprob`'s plugin sub-commands: found through the `deeprob.commands` entry points, never imported by name.

When the package behind `deeprob pipeline` / `deeprob serve-check` (the
`[pipeline]` extra) is missing, those commands print one line naming the extra
and exit 2.
"""

import importlib.metadata

import pytest

from deeprob_keras import cli

HINT = "pip install 'deeprob-keras[pipeline]'"


def _entry_point(name, value):
    return importlib.metadata.EntryPoint(name=name, value=value, group=cli.ENTRY_POINT_GROUP)


@pytest.mark.parametrize("argv", [["pipeline", "run"], ["pipeline", "run", "--config", "x.yaml"],
                                  ["pipeline", "compile", "--kubeflow", "out.json"], ["pipeline"],
                                  ["serve-check", "runs/pipeline/serving"]])
def test_missing_pipeline_extra_names_the_extra(monkeypatch, capsys, argv):
    monkeypatch.setattr(cli, "_entry_points", lambda: [])
    assert cli.main(argv) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and HINT in lines[0], captured.err
    assert captured.out == ""


def test_entry_point_whose_dependencies_are_missing_gives_the_hint(monkeypatch, capsys):
    # deeprob_pipeline.cli raises ModuleNotFoundError(name="tfx") when TFX is absent; any
    # missing third-party module behaves the same.
    monkeypatch.setattr(cli, "_entry_points", lambda: [
        _entry_point("pipeline", "no_such_package_for_deeprob_tests.cli:add_pipeline_commands [pipeline]")])
    assert cli.main(["pipeline", "run"]) == 2
    assert HINT in capsys.readouterr().err


def test_missing_module_inside_the_plugin_package_is_a_bug_not_a_missing_extra(monkeypatch):
    monkeypatch.setattr(cli, "_entry_points", lambda: [
        _entry_point("pipeline", "deeprob_keras.no_such_module:add_commands")])
    with pytest.raises(ModuleNotFoundError):
        cli.build_parser()


def test_entry_point_commands_are_added(monkeypatch):
    calls = []

    def add(subparsers):
        calls.append(subparsers)
        p = subparsers.add_parser("pipeline")
        p.add_argument("what")
        p.set_defaults(func=lambda args: 7)

    monkeypatch.setattr(cli, "_entry_points", lambda: [_entry_point("pipeline", "m:add")])
    monkeypatch.setattr(importlib.metadata.EntryPoint, "load", lambda self: add)
    assert cli.main(["pipeline", "run"]) == 7 and len(calls) == 1
    # serve-check had no entry point here: it still answers with the hint
    args = cli.build_parser().parse_args(["serve-check", "d"])
    assert args.func(args) == 2


def test_installed_pipeline_commands_come_from_deeprob_pipeline():
    """In the full install (make test), the entry points give the real commands."""
    pytest.importorskip("tfx")
    names = {ep.name: ep.value for ep in cli._entry_points()}
    assert names.get("pipeline", "").startswith("deeprob_pipeline.cli:"), names
    args = cli.build_parser().parse_args(["pipeline", "run", "--config", "x.yaml"])
    assert args.func.__module__ == "deeprob_pipeline.cli" and args.config == "x.yaml"
    args = cli.build_parser().parse_args(["serve-check", "runs/pipeline/serving"])
    assert args.func.__module__ == "deeprob_pipeline.cli"


def test_the_library_does_not_name_the_pipeline_package():
    import inspect

    source = inspect.getsource(cli)
    assert "deeprob_pipeline" not in source and "pipeline.cli" not in source
