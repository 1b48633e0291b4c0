"""The configuration every process reads: ``[tool.asgi-lifecycle]`` and ``ASGI_LIFECYCLE_*``.

One precedence for every key: an explicit argument, then the environment
variable, then the file, then the default. The file is the nearest
``pyproject.toml`` (walking up from the working directory) that has a
``[tool.asgi-lifecycle]`` table, or the file ``ASGI_LIFECYCLE_CONFIG`` names.
`discover` imports the hook modules it lists and those installed libraries
declare in the ``asgi_lifecycle.modules`` entry point group. ``tomllib`` and
``importlib.metadata`` are imported only when a configuration is read.
"""

from __future__ import annotations

import dataclasses
import importlib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ._context import ENVIRONMENT_VARIABLE, LifespanContext
from ._errors import ConfigurationError, HookRegistrationError
from ._validation import close_match

__all__ = (
    "CONFIG_VARIABLE",
    "ENTRY_POINT_GROUP",
    "Settings",
    "discover",
    "load_settings",
)

CONFIG_VARIABLE = "ASGI_LIFECYCLE_CONFIG"
ENTRY_POINT_GROUP = "asgi_lifecycle.modules"
TABLE = "[tool.asgi-lifecycle]"

# key -> (environment variable, kind); kind is how a value is checked and parsed.
KEYS: dict[str, tuple[str | None, str]] = {
    "modules": ("ASGI_LIFECYCLE_MODULES", "names"),
    "service_type": ("ASGI_LIFECYCLE_SERVICE_TYPE", "name"),
    "environment": (ENVIRONMENT_VARIABLE, "name"),
    "config": (None, "table"),
    "timeout": ("ASGI_LIFECYCLE_TIMEOUT", "seconds"),
    "startup_timeout": ("ASGI_LIFECYCLE_STARTUP_TIMEOUT", "seconds"),
    "shutdown_timeout": ("ASGI_LIFECYCLE_SHUTDOWN_TIMEOUT", "seconds"),
    "concurrent": ("ASGI_LIFECYCLE_CONCURRENT", "bool"),
    "entry_points": ("ASGI_LIFECYCLE_ENTRY_POINTS", "bool"),
    "service": (None, "services"),
}
# The keys a [tool.asgi-lifecycle.service.<type>] table may override.
SERVICE_KEYS = ("modules", "config", "timeout", "startup_timeout", "shutdown_timeout", "concurrent")
_EXPECTED = {
    "names": "a list of module names such as ['myapp.lifecycle']",
    "name": "a non-empty string",
    "table": "a table (key = value pairs)",
    "seconds": "a number of seconds above 0, or false for no limit",
    "bool": "true or false",
    "services": "a table of tables, one per service type ([tool.asgi-lifecycle.service.worker])",
}
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}
_NO_LIMIT = {"none", "off", "false", "no"}


@dataclasses.dataclass(frozen=True)
class Settings:
    """The configuration of a process, every key resolved (see `load_settings`).

    Attributes:
        modules: Hook modules to import before the first startup, in order.
        service_type: The service type of the process's run.
        environment: The deployment environment.
        config: The context's config (what hooks read with ``get_config``).
        timeout: Seconds each hook may take without a ``timeout=`` of its own.
        startup_timeout: Seconds the whole startup may take, or ``None``.
        shutdown_timeout: Seconds the whole shutdown may take, or ``None``.
        concurrent: Run the hooks of one priority concurrently.
        entry_points: Import the modules of the ``asgi_lifecycle.modules`` entry
            point group too.
        services: Per-service-type overrides (``[tool.asgi-lifecycle.service.<type>]``),
            applied by `for_service`.
        source: The file that was read, or ``None``.
        origins: Where each key's value came from: ``"argument"``, ``"$VARIABLE"``,
            a file's path, or ``"default"``.
    """

    modules: tuple[str, ...] = ()
    service_type: str = "app"
    environment: str = "development"
    config: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    timeout: float | None = None
    startup_timeout: float | None = None
    shutdown_timeout: float | None = 30.0
    concurrent: bool = False
    entry_points: bool = True
    services: Mapping[str, Mapping[str, Any]] = dataclasses.field(default_factory=dict)
    source: str | None = None
    origins: Mapping[str, str] = dataclasses.field(default_factory=dict)

    @property
    def configured(self) -> bool:
        """Whether a file or a variable configured anything (the environment alone does not)."""
        return self.source is not None or any(
            origin.startswith("$") and key != "environment" for key, origin in self.origins.items()
        )

    def for_service(self, service_type: str | None = None) -> Settings:
        """Return these settings with a service type's overrides applied.

        Args:
            service_type: The service type (default: `service_type`). Its table's
                ``modules`` are added to `modules`, its ``config`` is merged over
                `config`, its other keys replace the top-level ones.
        """
        name = self.service_type if service_type is None else service_type
        override = self.services.get(name)
        changes: dict[str, Any] = {"service_type": name}
        if override:
            where = f"{self.source or 'settings'} [tool.asgi-lifecycle.service.{name}]"
            origins = dict(self.origins)
            for key, value in override.items():
                if key == "modules":
                    value = (*self.modules, *(m for m in value if m not in self.modules))
                elif key == "config":
                    value = {**self.config, **value}
                changes[key] = value
                origins[key] = where
            changes["origins"] = origins
        return dataclasses.replace(self, **changes)

    def context(
        self,
        service_type: str | None = None,
        environment: str | None = None,
        config: Mapping[str, Any] | None = None,
    ) -> LifespanContext:
        """Build the `LifespanContext` these settings describe; arguments given win.

        The service type's overrides (`for_service`) supply the config.
        """
        settings = self.for_service(service_type)
        return LifespanContext(
            settings.service_type,
            environment or settings.environment,
            settings.config if config is None else config,
        )


def load_settings(
    start: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
    **explicit: Any,
) -> Settings:
    """Read the configuration: explicit argument > environment variable > file > default.

    Args:
        start: Where the search for ``pyproject.toml`` begins (default: the working
            directory); it walks up to the first one with a ``[tool.asgi-lifecycle]``
            table. ``$ASGI_LIFECYCLE_CONFIG`` names a file instead.
        env: The environment variables (default: ``os.environ``).
        **explicit: Values that win over everything else, by key (``service_type=
            "worker"``); ``None`` means not given.

    Returns:
        The resolved `Settings`.

    Raises:
        ConfigurationError: an unknown key (with a close match), a value of the
            wrong type, a variable that does not parse, or a file that is missing
            or not valid TOML; every problem is listed, each naming the file and
            key or the variable.
    """
    environ = os.environ if env is None else env
    problems: list[str] = []
    values: dict[str, Any] = {}
    origins: dict[str, str] = {}
    path, table = _find_file(start, environ, problems)
    source = None if path is None else str(path)
    if table is not None and source is not None:
        for key, value in table.items():
            where = f"{source}: {TABLE} key {key!r}"
            if key not in KEYS:
                problems.append(
                    f"{source}: {TABLE} has an unknown key {key!r}{close_match(key, KEYS)} "
                    f"(known keys: {', '.join(KEYS)})"
                )
                continue
            checked = _check(KEYS[key][1], value, where, problems, source)
            if checked is not _INVALID:
                values[key] = checked
                origins[key] = source
    for key, (variable, kind) in KEYS.items():
        raw = environ.get(variable) if variable else None
        if variable is None or not raw:
            continue
        parsed = _parse(kind, raw.strip(), f"${variable}={raw!r}", problems)
        if parsed is not _INVALID:
            values[key] = parsed
            origins[key] = f"${variable}"
    for key, value in explicit.items():
        if key not in KEYS or key == "service":
            known = [k for k in KEYS if k != "service"]
            problems.append(
                f"load_settings() got an unknown argument {key!r}{close_match(key, known)}"
            )
            continue
        if value is None:
            continue
        if isinstance(value, list | tuple) and KEYS[key][1] == "names":
            value = list(value)
        checked = _check(KEYS[key][1], value, f"load_settings({key}=...)", problems, None)
        if checked is not _INVALID:
            values[key] = checked
            origins[key] = "argument"
    if problems:
        raise ConfigurationError(problems)
    for key in KEYS:
        origins.setdefault(key, "default")
    if "service" in values:
        values["services"] = values.pop("service")
    return Settings(**values, source=source, origins=origins)


_INVALID: Any = object()


def _find_file(
    start: str | os.PathLike[str] | None, environ: Mapping[str, str], problems: list[str]
) -> tuple[Path | None, dict[str, Any] | None]:
    named = environ.get(CONFIG_VARIABLE)
    if named:
        path = Path(named).expanduser()
        if not path.is_file():
            problems.append(
                f"${CONFIG_VARIABLE}={named!r}: no such file; point it at a pyproject.toml "
                f"with a {TABLE} table, or unset it"
            )
            return None, None
        data = _read(path, problems)
        if data is None:
            return None, None
        table = data.get("tool", {}).get("asgi-lifecycle")
        if table is None:
            problems.append(
                f"${CONFIG_VARIABLE}={named!r}: {path} has no {TABLE} table; add one or "
                f"point the variable at another file"
            )
            return None, None
        return path, _as_table(table, path, problems)
    here = Path.cwd() if start is None else Path(start)
    for folder in (here, *here.parents):
        path = folder / "pyproject.toml"
        try:
            text = path.read_text(encoding="utf-8")
        except OSError:
            continue
        if "asgi-lifecycle" not in text:  # a cheap test before parsing every pyproject met
            continue
        data = _read(path, problems, text)
        if data is None:
            return None, None
        table = data.get("tool", {}).get("asgi-lifecycle")
        if table is not None:
            return path, _as_table(table, path, problems)
    return None, None


def _as_table(table: Any, path: Path, problems: list[str]) -> dict[str, Any] | None:
    if not isinstance(table, dict):
        problems.append(f"{path}: tool.asgi-lifecycle must be a table ({TABLE}), not a value")
        return None
    return table


def _read(path: Path, problems: list[str], text: str | None = None) -> dict[str, Any] | None:
    import tomllib  # only when there is a file to read: `import asgi_lifecycle` stays cheap

    try:
        return tomllib.loads(path.read_text(encoding="utf-8") if text is None else text)
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        problems.append(f"{path}: cannot be read as TOML: {exc}")
        return None


def _check(kind: str, value: Any, where: str, problems: list[str], source: str | None) -> Any:
    """Check a value from the file or an argument; return it normalised, or _INVALID."""
    ok = True
    if kind == "names":
        ok = isinstance(value, list) and all(_is_module_name(v) for v in value)
        value = tuple(value) if ok else value
    elif kind == "name":
        ok = isinstance(value, str) and bool(value.strip())
    elif kind == "table":
        ok = isinstance(value, Mapping)
        value = dict(value) if ok else value
    elif kind == "seconds":
        if value is False:
            return None
        ok = isinstance(value, int | float) and not isinstance(value, bool) and value > 0
        value = float(value) if ok else value
    elif kind == "bool":
        ok = isinstance(value, bool)
    elif kind == "services":
        return _check_services(value, where, problems, source)
    if not ok:
        problems.append(f"{where} must be {_EXPECTED[kind]}, got {value!r}")
        return _INVALID
    return value


def _check_services(value: Any, where: str, problems: list[str], source: str | None) -> Any:
    if not isinstance(value, Mapping) or not all(isinstance(v, Mapping) for v in value.values()):
        problems.append(f"{where} must be {_EXPECTED['services']}, got {value!r}")
        return _INVALID
    services: dict[str, dict[str, Any]] = {}
    for name, table in value.items():
        services[name] = {}
        for key, item in table.items():
            inner = f"{source}: [tool.asgi-lifecycle.service.{name}] key {key!r}"
            if key not in SERVICE_KEYS:
                problems.append(
                    f"{source}: [tool.asgi-lifecycle.service.{name}] has an unknown key "
                    f"{key!r}{close_match(key, SERVICE_KEYS)} (a service table may set: "
                    f"{', '.join(SERVICE_KEYS)})"
                )
                continue
            checked = _check(KEYS[key][1], item, inner, problems, source)
            if checked is not _INVALID:
                services[name][key] = checked
    return services


def _parse(kind: str, raw: str, where: str, problems: list[str]) -> Any:
    """Parse an environment variable; return the value, or _INVALID after noting why."""
    if kind == "names":
        names = tuple(part.strip() for part in raw.split(",") if part.strip())
        bad = [name for name in names if not _is_module_name(name)]
        if not bad:
            return names
        problems.append(
            f"{where} must be module names separated by commas (myapp.lifecycle,other.hooks); "
            f"{bad[0]!r} is not a module name"
        )
    elif kind == "name":
        return raw
    elif kind == "seconds":
        if raw.lower() in _NO_LIMIT:
            return None
        try:
            seconds = float(raw)
        except ValueError:
            seconds = -1.0
        if seconds > 0 and seconds != float("inf"):
            return seconds
        problems.append(f"{where} must be a number of seconds above 0 (such as 10), or 'none'")
    elif kind == "bool":
        if raw.lower() in _TRUE:
            return True
        if raw.lower() in _FALSE:
            return False
        problems.append(f"{where} must be one of 1, true, yes, on or 0, false, no, off")
    return _INVALID


def _is_module_name(name: Any) -> bool:
    return isinstance(name, str) and bool(name) and all(p.isidentifier() for p in name.split("."))


_imported: set[str] = set()


def discover(settings: Settings) -> tuple[str, ...]:
    """Import the configured hook modules, then the entry point group's, once per process.

    The configured `Settings.modules` come first, in their order; then the
    modules of the ``asgi_lifecycle.modules`` entry point group (unless
    ``entry_points = false``), sorted by entry point name. A module already
    imported by this function is not imported again.

    Args:
        settings: The settings whose modules to import.

    Returns:
        The modules imported by this call, in order.

    Raises:
        ConfigurationError: a module does not import; every failure is listed
            with the module, where it was named, and what to fix.
    """
    problems: list[str] = []
    done: list[str] = []
    origin = settings.origins.get("modules", "default")
    named = "an argument" if origin == "argument" else origin
    for module in settings.modules:
        if module in _imported:
            continue
        problem = _import(module, f"{module!r} (modules in {named})")
        if problem:
            problems.append(problem)
        else:
            _imported.add(module)
            done.append(module)
    if settings.entry_points:
        from importlib.metadata import entry_points

        for point in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda p: p.name):
            label = f"entry:{point.name}={point.value}"
            if label in _imported:
                continue
            dist = getattr(point.dist, "name", None) or "its distribution"
            where = (
                f"{point.value!r} (entry point {point.name!r} of {dist}, group "
                f"{ENTRY_POINT_GROUP!r})"
            )
            problem = _import(point.module, where, uninstall=dist)
            if problem:
                problems.append(problem)
            else:
                _imported.add(label)
                done.append(point.module)
    if problems:
        raise ConfigurationError(problems)
    return tuple(done)


def _import(module: str, where: str, uninstall: str | None = None) -> str | None:
    """Import one module; return the problem, or None."""
    try:
        importlib.import_module(module)
    except ModuleNotFoundError as exc:
        missing = exc.name or module
        if module == missing or module.startswith(f"{missing}."):
            fix = (
                f"reinstall or uninstall {uninstall}"
                if uninstall
                else "check the spelling, and that the module's folder is on sys.path (run "
                "from the project directory, or install the project)"
            )
            return f"hook module {where} was not found: no module named {missing!r}; {fix}"
        return (
            f"hook module {where} failed to import: it imports {missing!r}, which is not "
            f"installed; install it"
        )
    except HookRegistrationError as exc:
        return f"hook module {where} registers a hook wrongly: {exc}"
    except Exception as exc:
        return (
            f"hook module {where} raised {type(exc).__name__} while being imported{_at(exc)}: "
            f"{exc}; fix the error in the module"
        )
    return None


def _at(exc: BaseException) -> str:
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    return "" if tb is None else f" at {tb.tb_frame.f_code.co_filename}:{tb.tb_lineno}"


def _reset_discovery() -> None:
    """Forget what `discover` imported (for tests)."""
    _imported.clear()
