"""The shape of trainer.deid: every module imports alone, types sits at the bottom, no import is
hidden in a function, and no module reads another's private names."""
import ast
import subprocess
import sys
from pathlib import Path

import pytest

from tests.deid.helpers import ROOT

PACKAGE = ROOT / "trainer" / "deid"


def _module(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


FILES = sorted(PACKAGE.rglob("*.py"))
MODULES = [_module(p) for p in FILES]


def _deid_imports(tree: ast.AST) -> list[ast.ImportFrom | ast.Import]:
    return [n for n in ast.walk(tree)
            if (isinstance(n, ast.ImportFrom) and (n.module or "").startswith("trainer.deid"))
            or (isinstance(n, ast.Import) and any(a.name.startswith("trainer.deid") for a in n.names))]


@pytest.mark.parametrize("module", MODULES)
def test_every_module_imports_alone_in_a_fresh_interpreter(module):
    out = subprocess.run([sys.executable, "-c", f"import {module}"], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr


def test_types_is_the_bottom():
    code = ("import sys, trainer.deid.types; "
            "print(sorted(m for m in sys.modules if m.startswith('trainer.deid.') and m != 'trainer.deid.types'))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_no_import_of_the_package_is_hidden_in_a_function():
    hidden = []
    for path in FILES:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for fn in ast.walk(tree):
            if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                hidden += [f"{_module(path)}:{n.lineno}" for n in _deid_imports(fn)]
    assert hidden == []


def test_no_module_reads_another_modules_private_names():
    private = []
    for path in FILES:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        modules = set()  # names bound to trainer.deid modules
        for node in _deid_imports(tree):
            if isinstance(node, ast.ImportFrom):
                private += [f"{_module(path)} imports {node.module}.{a.name}" for a in node.names
                            if a.name.startswith("_")]
                modules |= {a.asname or a.name for a in node.names}
            else:
                modules |= {a.asname or a.name.split(".")[0] for a in node.names}
        private += [f"{_module(path)} reads {n.value.id}.{n.attr}" for n in ast.walk(tree)
                    if isinstance(n, ast.Attribute) and n.attr.startswith("_") and not n.attr.startswith("__")
                    and isinstance(n.value, ast.Name) and n.value.id in modules]
    assert private == []
