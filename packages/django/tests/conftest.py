"""Fixtures: the test project, migrated once; in-process Django; a fresh hook registry."""

from __future__ import annotations

import atexit
import importlib
import shutil
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from ._support import PROJECT, project_env, read_events, run_manage

# The project's modules (djl_site, djl_shop) for the in-process tests.
if str(PROJECT) not in sys.path:
    sys.path.insert(0, str(PROJECT))

HOOK_MODULES = ("djl_site.lifecycle", "djl_shop.lifecycle")
INPROCESS_DIR = Path(tempfile.mkdtemp(prefix="asgi-lifecycle-django-"))
atexit.register(shutil.rmtree, INPROCESS_DIR, ignore_errors=True)


def _configure_django() -> None:
    """Set the test project up in this process, while tests are collected.

    Django can be configured once per process, and other packages' tests configure
    it only if nobody did ("the first Django test of the session configures it"),
    so it is done before any test runs. ``settings.configure`` and no
    ``DJANGO_SETTINGS_MODULE``: nothing leaks into other tests' subprocesses (a
    Celery worker would set Django up from that variable). The project's logging
    setup is left out, so other tests' log output stays as it was.
    """
    import django
    from django.conf import settings

    if settings.configured:
        raise RuntimeError(
            "Django was configured before the asgi-lifecycle-django tests were collected; "
            "their in-process tests need the test project's settings"
        )
    import djl_site.settings as project_settings

    values = {name: getattr(project_settings, name) for name in dir(project_settings)}
    values = {name: value for name, value in values.items() if name.isupper()}
    values.pop("LOGGING")
    values["DATABASES"] = {
        "default": {**project_settings.DATABASES["default"], "NAME": str(INPROCESS_DIR / "db")}
    }
    settings.configure(**values)
    django.setup()


_configure_django()


@pytest.fixture(scope="session")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite database of the test project, copied by each test that needs one."""
    folder = tmp_path_factory.mktemp("template")
    db = folder / "db.sqlite3"
    status, output = run_manage(
        project_env(db, folder / "hooks.log"), folder / "migrate.out", "migrate", "-v0"
    )
    assert status == 0, output
    return db


@dataclass
class Project:
    """Paths of one test's copy of the project's database and hook log."""

    db: Path
    log: Path
    tmp: Path

    def env(self, **extra: str) -> dict[str, str]:
        """The environment of a process of the test project."""
        return project_env(self.db, self.log, extra=extra)

    def events(self) -> list[tuple[int, str]]:
        """The ``(pid, event)`` pairs the hooks recorded."""
        return read_events(self.log)

    def out(self, name: str) -> Path:
        """A file for a process's output."""
        return self.tmp / f"{name}.out"


@pytest.fixture
def project(template_db: Path, tmp_path: Path) -> Project:
    """A fresh copy of the migrated database and an empty hook log, for subprocesses."""
    db = tmp_path / "db.sqlite3"
    shutil.copyfile(template_db, db)
    return Project(db=db, log=tmp_path / "hooks.log", tmp=tmp_path)


@pytest.fixture(scope="session")
def django_setup() -> None:
    """The in-process test project's database, migrated."""
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


@pytest.fixture
def hooks_log(
    django_setup: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    """The default registry holds exactly the project's hooks; they record to the returned log.

    Other tests of the session may have emptied or used the process-wide registry,
    so it is reset and the project's hook modules are imported again.
    """
    from asgi_lifecycle import lifespan

    log = tmp_path / "hooks.log"
    monkeypatch.setenv("DJL_LOG", str(log))
    monkeypatch.delenv("ASGI_LIFECYCLE_ENV", raising=False)
    lifespan.reset_instance()
    for name in HOOK_MODULES:
        importlib.reload(importlib.import_module(name))
    yield log
    lifespan.reset_instance()
