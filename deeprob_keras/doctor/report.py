"""The doctor's report: Markdown with PNGs, a JSON of every verdict, and the proposed recipe."""

import json
import os

from deeprob_keras.recipe import save_recipe

LONG_LISTS = 40  # lists longer than this are left out of doctor.json (they are in the PNGs)


def _json_safe(value):
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()
                if not (isinstance(v, list) and len(v) > LONG_LISTS)}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if hasattr(value, "line") and hasattr(value, "measured"):  # a Verdict
        return _json_safe({"step": value.step, "name": value.name, "passed": value.passed,
                           "message": value.message, "likely_cause": value.likely_cause,
                           "measured": value.measured, "plots": value.plots})
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


def _rel(path, out_dir):
    return os.path.relpath(path, out_dir).replace(os.sep, "/")


def _fmt(value):
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _values_text(values):
    return ", ".join(f"`{k}`={_fmt(v)}" for k, v in values.items())


def search_table_markdown(table):
    """The search trials as a Markdown table (best first)."""
    if not table:
        return "(no trials)\n"
    keys = list(table[0]["values"])
    head = "| # | " + " | ".join(f"`{k}`" for k in keys) + " | val accuracy | val loss | seconds |"
    rows = [head, "|" + "---|" * (len(keys) + 4)]
    for r in table:
        rows.append(f"| {r['trial']} | " + " | ".join(_fmt(r["values"].get(k)) for k in keys)
                    + f" | {_fmt(r['val_accuracy'])} | {_fmt(r['val_loss'])} | {r['seconds']:.0f} |")
    return "\n".join(rows) + "\n"


def refine_table_markdown(runs):
    """The refine runs as a Markdown table (best first)."""
    rows = ["| run | hyperparameters | epochs | best val acc | final train acc | diagnosis | seconds |",
            "|---|---|---|---|---|---|---|"]
    for r in runs:
        kinds = ", ".join(r["diagnosis"].measured["kinds"])
        rows.append(f"| {r['label']} | {_values_text(r['values'])} | {r['epochs']} | {r['best_val_accuracy']:.4f} | "
                    f"{r['final_train_accuracy']:.4f} | {kinds} | {r['seconds']:.0f} |")
    return "\n".join(rows) + "\n"


def write_report(out_dir, recipe, verdicts, chosen_values, proposed_recipe, notes=(), title=None):
    """Writes `report.md`, `doctor.json` and `proposed_recipe.yaml` under `out_dir`.

    Args:
        out_dir: report directory (PNG paths inside it are linked relatively).
        recipe: the recipe that was examined.
        verdicts: the `Verdict`s in step order (search and refine verdicts carry tables).
        chosen_values: {dotted key: value} of the chosen hyperparameters.
        proposed_recipe: the recipe with them filled in (saved with `save_recipe`).
        notes: extra lines for the summary (budget, timings).
        title: heading; default "Hyperparameter doctor: <recipe name>".

    Returns:
        dict of paths: report, json, recipe.

    Example:
        >>> write_report("docs/doctor", recipe, verdicts, {"optimizer.learning_rate": 0.02}, proposed)
    """
    os.makedirs(out_dir, exist_ok=True)
    recipe_path = save_recipe(proposed_recipe, os.path.join(out_dir, "proposed_recipe.yaml"))
    lines = [f"# {title or 'Hyperparameter doctor: ' + recipe.name}", ""]
    lines += ["The lecture's procedure (Training Neural Networks II): check the initial loss, overfit a "
              "small sample, find a learning rate that makes the loss go down, coarse search, refine "
              "without decay, read the curves, loop.", ""]
    lines += ["## Summary", ""]
    for v in verdicts:
        lines.append(f"- step {v.step}, {v.name}: **{'PASS' if v.passed else 'FAIL'}** - {v.message}")
    lines += [f"- notes: {n}" for n in notes]
    lines += ["", "## Chosen hyperparameters", "", _values_text(chosen_values) or "(none)", "",
              f"Proposed recipe: [`{os.path.basename(recipe_path)}`]({os.path.basename(recipe_path)}) "
              f"(the original recipe, its schedule included, with these values). Train it with "
              f"`deeprob train {_rel(recipe_path, os.getcwd())}`.", ""]
    for v in verdicts:
        lines += [f"## Step {v.step}: {v.name}", "", f"**{'PASS' if v.passed else 'FAIL'}**: {v.message}", ""]
        if v.likely_cause:
            lines += [f"Likely cause: {v.likely_cause}", ""]
        if "table" in v.measured:
            lines += [search_table_markdown(v.measured["table"]), ""]
        if "runs" in v.measured:
            lines += [refine_table_markdown(v.measured["runs"]), ""]
            for r in v.measured["runs"]:
                lines += [f"- {r['label']}: {r['diagnosis'].message}"]
            lines.append("")
        scalars = {k: x for k, x in v.measured.items() if isinstance(x, (int, float, str)) or x is None}
        if scalars:
            lines += ["| measured | value |", "|---|---|"]
            lines += [f"| {k} | {_fmt(x)} |" for k, x in scalars.items()]
            lines.append("")
        for p in v.plots:
            lines += [f"![{v.name}]({_rel(p, out_dir)})", ""]
    report = os.path.join(out_dir, "report.md")
    with open(report, "w") as f:
        f.write("\n".join(lines))
    json_path = os.path.join(out_dir, "doctor.json")
    with open(json_path, "w") as f:
        json.dump(_json_safe({"recipe": recipe.name, "chosen": chosen_values, "verdicts": verdicts,
                              "notes": list(notes)}), f, indent=2)
    return {"report": report, "json": json_path, "recipe": recipe_path}
