"""``flask …`` typed as the Flask docs teach finds the app from the project root through
``.flaskenv`` (``FLASK_APP=storefront``, read by python-dotenv): no ``--app`` needed."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from factories import ROOT

FLASK = Path(sys.executable).parent / "flask"


def _flask(*args: str, tmp_path: Path) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if key not in {"FLASK_APP", "STOREFRONT_ENV"}}
    env.update(DATABASE_URL=f"sqlite:///{tmp_path / 'cli.db'}", SECRET_KEY="cli", IP_HASH_SECRET="cli")
    return subprocess.run([str(FLASK), *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


def test_flask_commands_find_the_app_without_app_option(tmp_path):
    result = _flask("catalog", "import", "--help", tmp_path=tmp_path)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "Usage: flask catalog import" in result.stdout and "--company" in result.stdout


def test_flask_lists_the_storefront_commands(tmp_path):
    result = _flask("--help", tmp_path=tmp_path)

    assert result.returncode == 0, result.stderr
    for command in ("catalog", "tax", "users", "demo", "db", "run-demo"):
        assert f"\n  {command} " in result.stdout, result.stdout
