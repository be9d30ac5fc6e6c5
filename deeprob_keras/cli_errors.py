"""User errors of the `deeprob` command: one line on stderr, exit status 2, no traceback.

A user error is a bad input the user can fix (a recipe, a path, a flag value);
anything else is an internal error and keeps its traceback. `--verbose` (or
`DEEPROB_VERBOSE=1`) prints the traceback of user errors too.
"""

import argparse
import math
import os
import sys

from deeprob_keras.quiet import verbose_requested  # noqa: F401  (re-exported: the command's --verbose)


class UsageError(Exception):
    """A bad input the user can fix; `deeprob` prints `deeprob: <message>` and exits 2."""


def _one_line(text):
    return " ".join(str(text).split())


def user_error(exc):
    """`(exit_status, one-line message)` for a user error, or None for an internal error.

    Args:
        exc: the exception a command raised.

    Returns:
        `(2, "bad recipe: ...")` for a `RecipeError`, `(3, "training stopped: ...")`
        for `TrainingDiverged`, `(2, message)` for a `UsageError` or an `OSError`
        (missing, unreadable or unwritable file, full disk, unparseable file),
        None otherwise.

    Example:
        >>> user_error(FileNotFoundError(2, "No such file or directory", "r.yaml"))
        (2, 'No such file or directory: r.yaml')
    """
    from deeprob_keras.recipe import RecipeError

    if isinstance(exc, RecipeError):
        return 2, f"bad recipe: {_one_line(exc)}"
    if isinstance(exc, UsageError) or getattr(exc, "deeprob_user_error", False):
        return 2, _one_line(exc)
    run_dir = sys.modules.get("deeprob_keras.training.run_dir")
    if run_dir is not None and isinstance(exc, run_dir.RunDirConflict):
        return 2, _one_line(exc)
    diverged = sys.modules.get("deeprob_keras.training.run")
    if diverged is not None and isinstance(exc, diverged.TrainingDiverged):
        return 3, f"training stopped: {_one_line(exc)}"
    if isinstance(exc, OSError):
        if exc.filename is not None and exc.strerror:
            where = exc.filename if exc.filename2 is None else f"{exc.filename} -> {exc.filename2}"
            return 2, _one_line(f"{exc.strerror}: {where}")
        return 2, _one_line(exc)
    return None


class Parser(argparse.ArgumentParser):
    """`ArgumentParser` whose errors are one line, `deeprob: <problem> (see --help)`, exit 2."""

    def error(self, message):
        self.exit(2, f"deeprob: {_one_line(message)} (see `{self.prog} --help`)\n")


def int_at_least(minimum):
    """An argparse `type`: an integer >= `minimum`."""

    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer >= {minimum}. Received: {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected an integer >= {minimum}. Received: {value}")
        return value

    parse.__name__ = f"integer >= {minimum}"
    return parse


def number_above(minimum):
    """An argparse `type`: a finite number > `minimum`."""

    def parse(text):
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number > {minimum:g}. Received: {text!r}") from None
        if not math.isfinite(value) or value <= minimum:
            raise argparse.ArgumentTypeError(f"expected a finite number > {minimum:g}. Received: {text}")
        return value

    parse.__name__ = f"number > {minimum:g}"
    return parse


def _check_writable_parent(path):
    parent = os.path.dirname(os.path.abspath(path))
    while not os.path.exists(parent):
        parent = os.path.dirname(parent)
    if not os.path.isdir(parent):
        raise argparse.ArgumentTypeError(f"{parent} is a file, so {path} cannot be created. Received: {path}")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise argparse.ArgumentTypeError(f"{parent} is not writable. Received: {path}")


def output_dir(text):
    """An argparse `type` for `--out` directories: not an existing file, inside a writable folder."""
    if not text:
        raise argparse.ArgumentTypeError("expected a directory path. Received: ''")
    if os.path.exists(text) and not os.path.isdir(text):
        raise argparse.ArgumentTypeError(f"expected a directory, but {text} is an existing file")
    if os.path.isdir(text):
        if not os.access(text, os.W_OK | os.X_OK):
            raise argparse.ArgumentTypeError(f"directory {text} is not writable")
    else:
        _check_writable_parent(text)
    return text


def output_file(text):
    """An argparse `type` for output files (PNG, JSON): not an existing directory, inside a writable folder."""
    if not text:
        raise argparse.ArgumentTypeError("expected a file path. Received: ''")
    if os.path.isdir(text):
        raise argparse.ArgumentTypeError(f"expected a file path, but {text} is an existing directory")
    _check_writable_parent(text)
    return text
