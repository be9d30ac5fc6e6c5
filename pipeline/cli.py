"""`deeprob pipeline run|compile` and `deeprob serve-check`.

`deeprob` finds these through the `deeprob.commands` entry points (pyproject.toml);
the library never imports this package. Without TFX (the `[pipeline]` extra) this
module does not import, and `deeprob` answers these commands with the install hint.
"""

import importlib.util

if importlib.util.find_spec("tfx") is None:  # cheap: does not import TFX
    raise ModuleNotFoundError("No module named 'tfx' (install deeprob-keras[pipeline])", name="tfx")


def _config(args):
    from deeprob_pipeline.config import load_pipeline_config

    config = load_pipeline_config(args.config)
    extra = list(getattr(args, "beam_arg", None) or [])
    if extra:
        import dataclasses

        config = dataclasses.replace(config, beam_args=list(config.beam_args) + extra)
    return config


def cmd_run(args):
    config = _config(args)  # a bad config fails in one line before TFX is imported (~20 s)
    from deeprob_pipeline.runners import run_local
    from deeprob_pipeline.timings import process_start_time

    report = run_local(config, process_started=process_start_time())
    return 0 if report.succeeded else 1


def cmd_compile(args):
    from deeprob_pipeline.runners import compile_kubeflow

    compile_kubeflow(_config(args), args.kubeflow)
    return 0


def cmd_serve_check(args):
    from deeprob_pipeline.serve_check import run_from_args

    return run_from_args(args)


def add_pipeline_commands(subparsers):
    """Adds `pipeline run` and `pipeline compile` to the `deeprob` parser."""
    p = subparsers.add_parser("pipeline", help="the TFX pipeline: run locally or compile for Kubeflow")
    psub = p.add_subparsers(dest="pipeline_command", required=True)
    q = psub.add_parser("run", help="run with LocalDagRunner (SQLite metadata, Beam DirectRunner)")
    q.add_argument("--config", help="pipeline config YAML (default: built-in defaults, see pipeline/config.py)")
    q.add_argument("--beam-arg", action="append", metavar="FLAG",
                   help="extra Beam flag, repeatable; write it with '=': --beam-arg=--direct_num_workers=2")
    q.set_defaults(func=cmd_run)
    q = psub.add_parser("compile", help="compile a Kubeflow Pipelines V2 JSON spec")
    q.add_argument("--kubeflow", required=True, metavar="OUT.json", help="output JSON file")
    q.add_argument("--config", help="pipeline config YAML")
    q.set_defaults(func=cmd_compile)


def add_serve_check_command(subparsers):
    """Adds `serve-check` to the `deeprob` parser."""
    from deeprob_pipeline.serve_check import add_arguments

    p = subparsers.add_parser("serve-check", help="load the newest SavedModel version and predict real examples")
    add_arguments(p)
    p.set_defaults(func=cmd_serve_check)
