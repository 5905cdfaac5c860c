"""What a web worker loads at start-up: the heavy statistics stack (SciPy, NumPy) is loaded
only by the screen that needs it, so every worker does not carry it in memory."""
from __future__ import annotations

import subprocess
import sys

from factories import ROOT

PROBE = """
import sys
from storefront import create_app
create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://"})
print(" ".join(sorted(m for m in ("scipy", "numpy") if m in sys.modules)))
"""


def test_creating_the_app_does_not_load_scipy():
    loaded = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert loaded.returncode == 0, loaded.stderr[-2000:]
    assert loaded.stdout.strip() == "", f"loaded at start-up: {loaded.stdout.strip()}"
