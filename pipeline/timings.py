"""Where a local run's wall time went: each TFX component's, from ML Metadata, plus the steps around them.

ML Metadata records when each execution was registered (after its inputs were
resolved, before its executor starts) and when it was last updated (when its
outputs were published): the difference is the component's wall time. The run
itself times what happens outside the components (the process's start-up,
pretraining a missing backbone, writing the examples, TFX's own work between
components), so the table adds up to the whole command and a stall shows in
the row where it happened.
"""

START_UP = "start-up"  # the process's own start: Python, TensorFlow, TFX and Beam imported
OUTSIDE_COMPONENTS = "(between components)"
OTHER = "(other)"


def process_start_time():
    """When this process started, in seconds since the epoch (`time.time()`'s clock), or None where
    that cannot be read (psutil missing): the run report then starts its table at the run itself."""
    try:
        import psutil

        return psutil.Process().create_time()
    except Exception:  # ImportError, or a platform that refuses: the report goes without the row
        return None


def execution_seconds(executions_by_node):
    """`{node: seconds}` from MLMD executions: last update minus creation, summed over a node's executions.

    Args:
        executions_by_node: `{node id: [metadata_store_pb2.Execution]}` in pipeline order.

    Returns:
        `{node id: seconds}`, same order; 0.0 for an execution whose times are missing.
    """
    seconds = {}
    for node, executions in executions_by_node.items():
        total = 0.0
        for e in executions:
            if e.create_time_since_epoch and e.last_update_time_since_epoch:
                total += max(0, e.last_update_time_since_epoch - e.create_time_since_epoch) / 1000.0
        seconds[node] = total
    return seconds


def wall_time_rows(stages, components, pipeline_seconds, total_seconds):
    """Rows `{"step", "seconds", "share"}` that add up to `total_seconds`.

    Args:
        stages: `{step: seconds}` timed by the run outside the TFX pipeline (backbone,
            examples), in order; their rows come first.
        components: `{node id: seconds}` from `execution_seconds`.
        pipeline_seconds: wall time of `LocalDagRunner().run(...)`, or None when it
            did not run; what the components do not account for becomes the row
            `(between components)`.
        total_seconds: wall time of the whole run; the rest becomes `(other)`.

    Returns:
        A list of rows; `share` is `seconds / total_seconds` (0 when the total is 0).
    """
    rows = [(step, float(s)) for step, s in stages.items()]
    rows += [(node, float(s)) for node, s in components.items()]
    if pipeline_seconds is not None:
        rows.append((OUTSIDE_COMPONENTS, max(0.0, pipeline_seconds - sum(components.values()))))
    rows.append((OTHER, max(0.0, total_seconds - sum(s for _, s in rows))))
    return [{"step": step, "seconds": round(s, 3), "share": round(s / total_seconds, 4) if total_seconds else 0.0}
            for step, s in rows]


def format_rows(rows, total_seconds, states=None):
    """The rows as aligned text lines: step, its executions' states (`states`: `{node: [state]}`),
    seconds, share of the total; then the total."""
    states = {step: ", ".join(s) for step, s in (states or {}).items()}
    width = max([len(r["step"]) for r in rows] + [5])
    state_width = max([len(s) for s in states.values()] + [5])
    lines = [f"  {'step':<{width}} {'state':<{state_width}} {'seconds':>8} {'share':>6}"]
    lines += [f"  {r['step']:<{width}} {states.get(r['step'], ''):<{state_width}} {r['seconds']:>8.1f} "
              f"{100 * r['share']:>5.1f}%" for r in rows]
    lines.append(f"  {'total':<{width}} {'':<{state_width}} {total_seconds:>8.1f} "
                 f"{100.0 if total_seconds else 0.0:>5.1f}%")
    return lines
