"""Counts the reliability figures of docs/RELIABILITY.md from the test sources (no test is run).

    .venv/bin/python scripts/count_reliability_cases.py [--markdown]

Bad inputs tried: every place a test feeds a bad input and expects a clean
refusal, i.e.
  - each `pytest.raises(...)` site (a bad argument, recipe, file, config ...),
  - each `assert <proc>.returncode == N` / `assert main([...]) == N` with N != 0
    (a bad command line or input refused by the CLI with an exit code),
each multiplied by the number of cases of the test's `@pytest.mark.parametrize`
decorators and of enclosing `for x in [literal]` loops. Parametrize values are
read from literals (or a module-level literal name); anything else counts as 1
and is listed as unresolved.

Kills survived: test functions that use `signal.SIGKILL` (to kill a run, or to
check that a child process was killed) and then check the resumed or next run.

Bad models pushed: 0 is what the listed tests assert; the script checks that
they exist.
"""

import argparse
import ast
import fnmatch
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TESTS = os.path.join(ROOT, "tests")

# Tests whose assertions prove that a bad model reaches no serving directory (or no export);
# names are fnmatch patterns.
NO_BAD_MODEL_TESTS = [
    ("tests/pipeline/test_pipeline_e2e.py", "test_worse_model*not_blessed*serving_dir_unchanged"),
    ("tests/pipeline/test_pipeline_e2e.py", "test_planted_anomaly_stops_before_training"),
    ("tests/reliability/test_crash_and_faults.py", "test_diverging_run_stops_at_once_and_exports_nothing"),
    ("tests/reliability/test_pipeline_kill_rerun.py",
     "test_pipeline_killed_during_trainer_then_same_command_completes"),
    ("tests/pipeline/test_atomic_pusher.py",
     "test_failure_in_the_middle_of_the_copy_leaves_no_version_then_next_push_cleans_up"),
    ("tests/pipeline/test_atomic_pusher.py", "test_sigkill_in_the_middle_of_the_push_leaves_no_version"),
    ("tests/pipeline/test_atomic_pusher.py", "test_copy_that_does_not_match_the_source_is_refused"),
    ("tests/pipeline/test_atomic_pusher.py", "test_executor_pushes_a_blessed_model_only"),
    ("tests/pipeline/test_atomic_pusher.py", "test_serve_check_skips_hidden_and_partial_versions"),
]


def _dotted(node):
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
    return ".".join(reversed(parts))


def _literal_len(node, module_literals):
    if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        return len(node.elts)
    if isinstance(node, ast.Name) and node.id in module_literals:
        return module_literals[node.id]
    if isinstance(node, ast.Call) and _dotted(node.func) in ("range",) and len(node.args) == 1 \
            and isinstance(node.args[0], ast.Constant):
        return int(node.args[0].value)
    return None


def _cases(func, module_literals, unresolved, where):
    """Number of parametrized cases of a test function."""
    n = 1
    for dec in func.decorator_list:
        if isinstance(dec, ast.Call) and _dotted(dec.func).endswith("mark.parametrize"):
            values = dec.args[1] if len(dec.args) > 1 else next(
                (k.value for k in dec.keywords if k.arg == "argvalues"), None)
            size = _literal_len(values, module_literals) if values is not None else None
            if size is None:
                unresolved.append(f"{where}: parametrize values not a literal")
                size = 1
            n *= size
    return n


class _Sites(ast.NodeVisitor):
    """Refusal sites and SIGKILLs inside one test function, with loop multipliers."""

    def __init__(self, module_literals, unresolved, where):
        self.module_literals, self.unresolved, self.where = module_literals, unresolved, where
        self.multiplier = [1]
        self.raises = 0
        self.exits = 0
        self.kills = 0

    def visit_For(self, node):
        size = _literal_len(node.iter, self.module_literals)
        if size is None:
            size = 1
            if any(isinstance(n, ast.Call) and _dotted(n.func) == "pytest.raises" for n in ast.walk(node)):
                self.unresolved.append(f"{self.where}: pytest.raises in a loop over a non-literal")
        self.multiplier.append(self.multiplier[-1] * size)
        self.generic_visit(node)
        self.multiplier.pop()

    def visit_Call(self, node):
        name = _dotted(node.func)
        if name == "pytest.raises":
            self.raises += self.multiplier[-1]
        self.generic_visit(node)

    def visit_Attribute(self, node):
        if _dotted(node) == "signal.SIGKILL":  # sent here, or by a child process this test checks
            self.kills += 1
        self.generic_visit(node)

    def visit_Assert(self, node):
        test = node.test
        if isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], ast.Eq):
            left, right = test.left, test.comparators[0]
            if isinstance(right, ast.Constant) and isinstance(right.value, int) and right.value != 0 \
                    and not isinstance(right.value, bool):
                is_exit = (isinstance(left, ast.Attribute) and left.attr == "returncode") or (
                    isinstance(left, ast.Call) and _dotted(left.func).split(".")[-1].endswith(("main", "run_from_args")))
                if is_exit:
                    self.exits += self.multiplier[-1]
        self.generic_visit(node)


def scan():
    per_file, kills, unresolved, functions = {}, [], [], set()
    for dirpath, _, files in os.walk(TESTS):
        for name in sorted(files):
            if not (name.startswith("test_") and name.endswith(".py")):
                continue
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, ROOT)
            tree = ast.parse(open(path).read(), path)
            module_literals = {}
            for node in tree.body:
                if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                    size = _literal_len(node.value, {})
                    if size is not None:
                        module_literals[node.targets[0].id] = size
            count = 0
            for node in ast.walk(tree):
                if not (isinstance(node, ast.FunctionDef) and node.name.startswith("test_")):
                    continue
                functions.add((rel, node.name))
                where = f"{rel}::{node.name}"
                sites = _Sites(module_literals, unresolved, where)
                for stmt in node.body:
                    sites.visit(stmt)
                cases = _cases(node, module_literals, unresolved if sites.raises + sites.exits else [], where)
                count += (sites.raises + sites.exits) * cases
                if sites.kills:
                    kills.append(where)
            if count:
                per_file[rel] = count
    return per_file, sorted(kills), unresolved, functions


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--markdown", action="store_true", help="print the per-file table as Markdown")
    args = parser.parse_args(argv)
    per_file, kills, unresolved, functions = scan()
    found = {(f, t): sorted(n for g, n in functions if g == f and fnmatch.fnmatchcase(n, t))
             for f, t in NO_BAD_MODEL_TESTS}
    missing = [f"{f}::{t}" for (f, t), names in found.items() if not names]
    total = sum(per_file.values())
    if args.markdown:
        print("| test file | bad inputs tried |\n| --- | ---: |")
        for rel, n in sorted(per_file.items()):
            print(f"| `{rel}` | {n} |")
        print(f"| **total** | **{total}** |")
    else:
        for rel, n in sorted(per_file.items()):
            print(f"{n:5d}  {rel}")
        print(f"{total:5d}  bad inputs tried (pytest.raises sites + non-zero exit asserts, x parametrize cases)")
    areas = {}
    for rel, n in per_file.items():
        area = rel.split(os.sep)[1]
        areas[area] = areas.get(area, 0) + n
    print("\nby test folder: " + ", ".join(f"{a} {n}" for a, n in sorted(areas.items())))
    print(f"\nkills survived: {len(kills)} (tests that SIGKILL a run, then check the rerun)")
    for k in kills:
        print(f"  {k}")
    print(f"\nbad models pushed: 0, asserted by {len(NO_BAD_MODEL_TESTS) - len(missing)} tests:")
    for (f, t), names in found.items():
        print(f"  {f}::{names[0] if names else t + '   <-- MISSING'}")
    if unresolved:
        print("\ncounted as 1 (not a literal):")
        for u in unresolved:
            print(f"  {u}")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
