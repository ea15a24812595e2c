"""How the modules import each other: the layering written in .importlinter holds, no module
imports another that imports it back (inside functions included), and every module imports in
any order."""
import os
import random
import subprocess
import sys
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parent.parent


def app_modules() -> list[str]:
    return sorted(m for m in grimp.build_graph("partnernet", cache_dir=None).modules
                  if not m.startswith("partnernet.translations"))


def test_the_layering_contracts_hold():
    result = subprocess.run([str(Path(sys.executable).parent / "lint-imports"), "--no-cache"], cwd=ROOT,
                            capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert result.returncode == 0, result.stdout + result.stderr


def test_no_module_imports_one_that_imports_it_back():
    graph = grimp.build_graph("partnernet", cache_dir=None)  # imports inside functions count too
    circles = set()
    for module in graph.modules:
        for imported in graph.find_modules_directly_imported_by(module):
            back = graph.find_shortest_chain(importer=imported, imported=module)
            if back:
                circles.add(frozenset((module, *back)))
    assert not circles, sorted(sorted(c) for c in circles)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_every_module_imports_in_any_order(seed):
    order = app_modules()
    random.Random(seed).shuffle(order)
    script = "import importlib, sys\nfor name in sys.argv[1:]:\n    importlib.import_module(name)\n"
    result = subprocess.run([sys.executable, "-c", script, *order], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, f"order {order}:\n{result.stderr[-3000:]}"
