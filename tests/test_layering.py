"""The architecture, as the imports must show it: dependencies run one way.

``sandbox`` is execution only and knows nothing of rewards; the scorers depend on the
shared primitives in ``rewards.scoring``, never on the engine that dispatches to them;
the trainer gets rewards only through the server, so it never imports the engine.
Every import counts, top-level or inside a function.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT


def imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def offenders(package: str, forbidden: tuple[str, ...]) -> dict[str, list[str]]:
    found = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        bad = sorted(m for m in imported_modules(path) if m.startswith(forbidden))
        if bad:
            found[str(path.relative_to(ROOT))] = bad
    return found


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [
        ("sandbox", ("rewards", "trainer", "verirl")),
        ("trainer", ("rewards.engine",)),
        ("rewards/math", ("rewards.engine", "rewards.code", "verirl")),
        ("rewards/code", ("rewards.engine", "rewards.math", "verirl")),
    ],
)
def test_imports_run_one_way(package, forbidden):
    assert offenders(package, forbidden) == {}


def test_scorers_share_a_leaf_module():
    leaf = imported_modules(ROOT / "rewards" / "scoring.py")
    assert {m for m in leaf if m.startswith(("rewards", "sandbox", "verirl"))} == {
        "rewards.schema",
        "rewards.schema.Result",
        "rewards.schema.Sample",
    }


def test_the_scanner_sees_imports_inside_functions(tmp_path):
    """The rule above is only as good as the scan: a late import must count too."""
    module = tmp_path / "late.py"
    module.write_text("def f():\n    from rewards.engine import Engine\n    import sandbox.pool\n")
    assert imported_modules(module) >= {"rewards.engine", "rewards.engine.Engine", "sandbox.pool"}


def test_importing_the_sandbox_loads_nothing_of_rewards():
    code = (
        "import sys, sandbox.box, sandbox.pool, sandbox.image, sandbox.languages, sandbox.guest.wire;"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('rewards', 'trainer', 'verirl')))"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
