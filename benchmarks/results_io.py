"""Writing the benchmarks' result files so that a kill never leaves half of one.

A resumable study keeps its finished runs in one JSON file, rewritten after
every run: written in place, a kill or a full disk during the write would
truncate it and lose hours of finished runs. Every result file is therefore
written beside its target and renamed over it (`os.replace` is atomic on
POSIX): a reader sees the old file or the new one, never a mixture.
"""

import json
import os


def json_beside(report_path):
    """The JSON that goes with a report: `results/x.md` -> `results/x.json`."""
    return os.path.splitext(report_path)[0] + ".json"


def write_text(path, text):
    """Writes `text` to `path` atomically (creating its folder); returns `path`."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    tmp = os.path.join(folder, f".{os.path.basename(path)}.tmp-{os.getpid()}")
    try:
        with open(tmp, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path


def write_json(path, data, indent=1):
    """Writes `data` as JSON to `path` atomically. The whole text is made before the file is
    touched, so data that cannot be serialized leaves the previous file as it was."""
    return write_text(path, json.dumps(data, indent=indent))


def read_json(path, default=None):
    """The JSON at `path`, or `default` when there is no such file."""
    if not os.path.exists(path):
        return default
    with open(path) as f:
        return json.load(f)
