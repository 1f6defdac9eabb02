"""The code imports with the data flow: no cycle and no upward import anywhere in trainer/."""
import importlib.util
import os
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_spec = importlib.util.spec_from_file_location("check_imports", os.path.join(REPO, "tools", "check_imports.py"))
check_imports = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(check_imports)


def test_trainer_has_no_cycle_and_no_upward_import():
    assert check_imports.check(REPO) == []


def test_checker_finds_a_hidden_cycle_and_an_upward_import(tmp_path):
    pkg = tmp_path / "pkg"
    (pkg / "low").mkdir(parents=True)
    (pkg / "high").mkdir()
    for d in (pkg, pkg / "low", pkg / "high"):
        (d / "__init__.py").write_text("")
    (pkg / "low" / "a.py").write_text("def f():\n    from pkg.low import b  # hidden in a function\n")
    (pkg / "low" / "b.py").write_text("from pkg.low import a\nfrom pkg.high import c\n")
    (pkg / "high" / "c.py").write_text("from . import d\n")
    (pkg / "high" / "d.py").write_text("")
    layers = (("pkg", "pkg.low"), ("pkg.high",))
    problems = check_imports.check(str(tmp_path), "pkg", layers)
    assert "cycle: pkg.low.a <-> pkg.low.b" in problems
    assert any(p.startswith("upward import: pkg.low.b (layer 0) imports pkg.high.c") for p in problems)
    assert check_imports.import_graph(str(tmp_path), "pkg")["pkg.high.c"] == {"pkg.high", "pkg.high.d"}


def test_loading_a_config_imports_no_tensorflow():
    code = ("import sys, importlib.util as u; s = u.spec_from_file_location('c', 'configs/gemma3_270m_lora.py'); "
            "m = u.module_from_spec(s); s.loader.exec_module(m); m.get_config(); "
            "heavy = [n for n in ('tensorflow', 'keras', 'keras_hub', 'presidio_analyzer', 'spacy') if n in sys.modules]; "
            "print(heavy); sys.exit(1 if heavy else 0)")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
