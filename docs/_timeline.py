"""Draws docs/images/analyze-worker.svg: `asgi-lifecycle analyze` on the shop demo.

    hatch run python docs/_timeline.py

It migrates a database in a temporary folder, writes a ``pyproject.toml`` there with the
shop's config, and runs the command on the demo's own `Lifespan` for a Celery worker process:

    asgi-lifecycle analyze --lifespan lifecycle:lifespan --service-type worker --svg ...

The picture is the command's own output, unchanged; the terminal chart is printed.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
SHOP = HERE.parent / "examples" / "shop"
OUT = HERE / "images" / "analyze-worker.svg"

PYPROJECT = """\
[tool.asgi-lifecycle]
environment = "production"

[tool.asgi-lifecycle.config]
database = {{ path = "{database}" }}
inventory = {{ url = "http://127.0.0.1:8001" }}
"""


def main() -> int:
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        env = {k: v for k, v in os.environ.items() if not k.startswith("ASGI_LIFECYCLE_")}
        env.update(SHOP_DATA=str(work), PYTHONPATH=str(SHOP))
        database = work / "shop.sqlite3"
        subprocess.run([sys.executable, str(SHOP / "store.py"), str(database)], check=True, env=env)
        text = PYPROJECT.format(database=database.as_posix())
        (work / "pyproject.toml").write_text(text, encoding="utf-8")
        OUT.parent.mkdir(parents=True, exist_ok=True)
        command = [sys.executable, "-m", "asgi_lifecycle", "analyze"]
        command += ["--lifespan", "lifecycle:lifespan", "--service-type", "worker"]
        command += ["--svg", str(OUT)]
        return subprocess.run(command, cwd=work, env=env, check=False).returncode


if __name__ == "__main__":
    sys.exit(main())
