"""What the de-identification tests share: the clinic they configure and how they look at spans."""
import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
CLINICIANS = ["Dr. Anita Patel", "Dr. Laura Chen", "Dr. Miguel Reyes"]
CLINICS = ["Riverside Family Clinic"]


def load_tool(name):
    """A script under tools/ as a module (tools/ is no package)."""
    spec = importlib.util.spec_from_file_location(name, ROOT / "tools" / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def found(deid, text):
    return [(s.text, s.type) for s in deid.find(text)]


def covered(deid, text, piece):
    """True when every character of `piece` in `text` is inside a found span."""
    start = text.index(piece)
    spans = deid.find(text)
    return all(any(s.start <= i < s.end for s in spans) for i in range(start, start + len(piece))
               if not text[i].isspace())
