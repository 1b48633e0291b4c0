"""The ``asgi-lifecycle`` command: ``plan``, ``check``, ``run``, ``health`` and ``analyze``.

Standard library only (argparse). Every subcommand reads the configuration
(`load_settings`), imports the hook modules (`discover`) and works on the
process-wide `lifespan`. `run_cli` is the same command for a framework that
resolves the configuration and the `Lifespan` itself: Django's
``manage.py lifecycle`` calls it with the settings ``settings.ASGI_LIFECYCLE``
describes. ``argparse`` and the timeline are imported only when the command runs,
so that ``import asgi_lifecycle`` stays cheap.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import json
import subprocess
import sys
import traceback
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from ._calling import SyncRunner
from ._config import Settings, discover, load_settings
from ._context import LifespanContext
from ._errors import ConfigurationError, HookRegistrationError, StartupFailed
from ._hook import Hook
from ._lifespan import Lifespan, lifespan
from ._report import HookResult, LifecycleReport

if TYPE_CHECKING:
    import argparse

__all__ = ("Output", "SettingsLoader", "main", "run_cli")

PROG = "asgi-lifecycle"
_FIRST = -sys.maxsize - 1  # the priority adapters give the hooks that must run first
_LAST = sys.maxsize  # ... and last


class Output(Protocol):
    """Where the command writes: a text stream (``sys.stdout``), or anything with ``write``."""

    def write(self, text: str, /) -> object:
        """Write ``text``; the command ends each line with a newline itself."""


SettingsLoader = Callable[[str | None, str | None], Settings]
"""Resolves the settings of a run from ``--service-type`` and ``--environment`` (or ``None``).

It returns settings already resolved for their service type (`Settings.for_service`):
the command builds the run's context from ``service_type``, ``environment`` and
``config`` as they are.
"""


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``asgi-lifecycle`` command and return its exit status.

    Args:
        argv: The arguments (default: ``sys.argv[1:]``).

    Returns:
        0 on success; 1 for a configuration, registration or startup problem;
        for ``run``, the command's own exit status.
    """
    return run_cli(argv)


def run_cli(
    argv: Sequence[str] | None = None,
    *,
    prog: str = PROG,
    settings: SettingsLoader | None = None,
    lifespan: Lifespan | None = None,
    sync_runner: SyncRunner | None = None,
    stdout: Output | None = None,
    stderr: Output | None = None,
) -> int:
    """Run the ``asgi-lifecycle`` command (``plan``, ``check``, ``run``, ``health``, ``analyze``).

    ``main`` (the console script, ``python -m asgi_lifecycle``) calls it with no
    keyword: the settings come from `load_settings` and the hooks from the
    process-wide `lifespan` (or ``--lifespan MODULE:NAME``). A framework adapter
    passes what it resolved itself, so that its own command prints and exits the
    same; Django's ``manage.py lifecycle`` is this function.

    Args:
        argv: The arguments after the command's name (default: ``sys.argv[1:]``).
        prog: The name in the help and in error messages.
        settings: Resolves the settings from ``--service-type`` and
            ``--environment`` (see `SettingsLoader`); default: `load_settings`
            with those as explicit arguments, for the service type.
        lifespan: The `Lifespan` to work on; given, the ``--lifespan`` option is
            not offered. Default: ``--lifespan``, else the process-wide one.
        sync_runner: How runs call sync hooks (see `Lifespan.run_blocking`).
        stdout: Where reports go (default: ``sys.stdout``).
        stderr: Where errors and tracebacks go (default: ``sys.stderr``).

    Returns:
        0 on success; 1 for a configuration, registration or startup problem, or
        a hook that failed under ``check --run``; 2 for a usage error; for
        ``run``, the command's own exit status.
    """
    command = _Command(
        prog=prog,
        load=settings or _file_settings,
        fixed=lifespan,
        sync_runner=sync_runner,
        out=sys.stdout if stdout is None else stdout,
        err=sys.stderr if stderr is None else stderr,
    )
    parser = _parser(prog, with_lifespan=lifespan is None)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, or a usage error argparse printed
        return exc.code if isinstance(exc.code, int) else 2
    if args.command is None:
        command.err.write(parser.format_help())
        return 2
    if args.command == "check":
        return _check(command, args)
    try:
        resolved = command.settings(args)
        owner = command.owner(args)
        owner.configure_from(resolved)
    except (ConfigurationError, HookRegistrationError) as exc:
        command.error(str(exc))
        return 1
    handler = {"plan": _plan, "run": _run, "health": _health, "analyze": _analyze}[args.command]
    return handler(command, args, resolved, owner)


@dataclasses.dataclass
class _Command:
    """What one invocation works with: where to write, how to resolve settings and the owner."""

    prog: str
    load: SettingsLoader
    fixed: Lifespan | None
    sync_runner: SyncRunner | None
    out: Output
    err: Output

    def say(self, text: str) -> None:
        self.out.write(f"{text}\n")

    def error(self, message: str) -> None:
        self.err.write(f"{self.prog}: error: {message}\n")

    def settings(self, args: argparse.Namespace) -> Settings:
        settings = self.load(args.service_type, args.environment)
        extra = [m for m in args.module if m not in settings.modules]
        if extra:
            origins = {**settings.origins, "modules": "--module"}
            settings = dataclasses.replace(
                settings, modules=(*settings.modules, *extra), origins=origins
            )
        return settings

    def owner(self, args: argparse.Namespace) -> Lifespan:
        if self.fixed is not None:
            return self.fixed
        return _owner(args.lifespan)

    def runner(self, owner: Lifespan, settings: Settings) -> Any:
        context = LifespanContext(settings.service_type, settings.environment, settings.config)
        return owner.run_blocking(context, sync_runner=self.sync_runner)


def _file_settings(service_type: str | None, environment: str | None) -> Settings:
    return load_settings(service_type=service_type, environment=environment).for_service()


def _parser(prog: str, *, with_lifespan: bool) -> argparse.ArgumentParser:
    import argparse  # only when the command runs: `import asgi_lifecycle` stays cheap

    parser = argparse.ArgumentParser(
        prog=prog,
        description="Show, check and run the startup and shutdown hooks of this project "
        "(configured by [tool.asgi-lifecycle] in pyproject.toml and ASGI_LIFECYCLE_* variables).",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    def common(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("--service-type", help="the run's service type (default: configured)")
        sub.add_argument("--environment", help="the run's environment (default: configured)")
        sub.add_argument(
            "--module",
            action="append",
            default=[],
            metavar="MODULE",
            help="a hook module to import, in addition to the configured ones (repeatable)",
        )
        if with_lifespan:
            sub.add_argument(
                "--lifespan",
                metavar="MODULE:NAME",
                help="the Lifespan the hooks are registered on, if not asgi_lifecycle.lifespan "
                "(for a service that makes its own, such as lifecycle:lifespan)",
            )

    plan = commands.add_parser("plan", help="list the hooks in start order, running nothing")
    common(plan)
    plan.add_argument("--format", choices=("text", "json"), default="text")
    check = commands.add_parser(
        "check",
        help="import every hook module and validate the configuration and hooks, running "
        "nothing; with --run, also run a real startup and shutdown",
    )
    common(check)
    check.add_argument(
        "--run",
        action="store_true",
        help="after the validation, run the startup and the shutdown for real and exit 1, "
        "with the reports and tracebacks, if any hook failed",
    )
    run = commands.add_parser(
        "run",
        help="run the startup, a command (run -- COMMAND...) or a function (run module:function), "
        "then the shutdown; exits with the command's status",
    )
    common(run)
    run.add_argument("target", nargs=argparse.REMAINDER, metavar="-- COMMAND... | module:function")
    health = commands.add_parser(
        "health", help="run the startup, print the readiness report as JSON, shut down"
    )
    common(health)
    analyze = commands.add_parser(
        "analyze",
        help="run the startup and the shutdown, print a Gantt chart of the hooks and write "
        "an SVG timeline with the critical path marked",
    )
    common(analyze)
    analyze.add_argument(
        "--svg",
        default="lifecycle-timeline.svg",
        metavar="PATH",
        help="where to write the SVG picture (default: lifecycle-timeline.svg; - for none)",
    )
    analyze.add_argument("--format", choices=("text", "json"), default="text")
    analyze.add_argument(
        "--width", type=int, default=60, help="columns of the text chart (default: 60)"
    )
    return parser


def _plan(command: _Command, args: argparse.Namespace, settings: Settings, owner: Lifespan) -> int:
    try:
        hooks = owner.plan(settings.service_type, settings.environment)
    except HookRegistrationError as exc:
        command.error(str(exc))
        return 1
    described = [_describe(hook, owner) for hook in hooks]
    if args.format == "json":
        document = {
            "service_type": settings.service_type,
            "environment": settings.environment,
            "config_file": settings.source,
            "concurrent": owner.concurrent,
            "timeout": owner.timeout,
            "startup_timeout": owner.startup_timeout,
            "shutdown_timeout": owner.shutdown_timeout,
            "hooks": described,
        }
        command.say(json.dumps(document, indent=2))
        return 0
    command.say(
        f"{len(hooks)} hook(s) for service type {settings.service_type!r} "
        f"({settings.environment}), in start order; shutdown runs the reverse"
    )
    command.say(
        f"budgets: startup {_seconds(owner.startup_timeout)}, shutdown "
        f"{_seconds(owner.shutdown_timeout)}, per hook {_seconds(owner.timeout)}; "
        f"concurrent: {str(owner.concurrent).lower()}; config file: {settings.source or 'none'}"
    )
    for index, item in enumerate(described, 1):
        after = f" after={','.join(item['after'])}" if item["after"] else ""
        critical = "" if item["critical"] or item["kind"] == "shutdown" else " non-critical"
        phase = {_FIRST: "first", _LAST: "last"}.get(item["phase"], str(item["phase"]))
        command.say(
            f"{index:3}. phase {phase:<3} {item['kind']:<8} {item['name']}"
            f"  timeout={_seconds(item['timeout'])}{critical}{after}  {item['source']}"
        )
    return 0


def _describe(hook: Hook, owner: Lifespan) -> dict[str, Any]:
    timeout = hook.timeout if hook.timeout is not None else owner.timeout
    return {
        "name": hook.name,
        "kind": hook.kind,
        "phase": hook.priority,
        "after": list(hook.after),
        "timeout": timeout,
        "critical": hook.critical,
        "source": hook.source,
    }


def _seconds(value: float | None) -> str:
    return "none" if value is None else f"{value:g}s"


def _check(command: _Command, args: argparse.Namespace) -> int:
    problems: list[str] = []
    owner = lifespan if command.fixed is None else command.fixed
    settings: Settings | None
    try:
        settings = command.settings(args)
    except ConfigurationError as exc:
        problems.extend(exc.problems)
        settings = None
    try:
        owner = command.owner(args)
    except ConfigurationError as exc:
        problems.extend(exc.problems)
        settings = None
    if settings is not None:
        try:
            owner.configure_from(settings, import_modules=False)
            discover(settings)
        except ConfigurationError as exc:
            problems.extend(exc.problems)
        service_types = {settings.service_type, *settings.services}
        for hook in owner.hooks:
            service_types.update(hook.service_types or ())
        failures: dict[str, list[str]] = {}  # one message, every service type it concerns
        for service_type in sorted(service_types):
            try:
                owner.plan(service_type, settings.environment)
            except HookRegistrationError as exc:
                failures.setdefault(str(exc), []).append(service_type)
        for message, names in failures.items():
            problems.append(f"{message} (service type {', '.join(map(repr, names))})")
    if problems:
        for problem in problems:
            command.error(problem)
        command.err.write(f"{command.prog} check: {len(problems)} problem(s)\n")
        return 1
    assert settings is not None
    command.say(
        f"{command.prog} check: ok: {len(owner.hooks)} hook(s) and {len(owner.health_checks)} "
        f"health check(s); config file: {settings.source or 'none'}"
    )
    return _check_run(command, settings, owner) if args.run else 0


def _check_run(command: _Command, settings: Settings, owner: Lifespan) -> int:
    """Run a real startup and shutdown; print each report, and each failure's traceback."""
    runner = command.runner(owner, settings)
    reports: list[LifecycleReport] = []
    error: BaseException | None = None

    def show(report: LifecycleReport) -> None:
        reports.append(report)
        command.say(f"{report.phase}: {'ok' if report.ok else 'FAILED'}")
        command.say(str(report))

    try:
        show(runner.start())
    except StartupFailed as exc:
        show(exc.report)
        show(exc.rollback)
        error = exc.error
    else:
        show(runner.stop())
    failures: list[HookResult] = [result for report in reports for result in report.failures]
    errors = [result.error for result in failures if result.error is not None]
    if error is not None and not any(e is error for e in errors):
        errors.insert(0, error)
    for failed in errors:
        command.err.write("".join(traceback.format_exception(failed)))
    if failures or error is not None:
        names = ", ".join(f"{r.hook.name} ({r.action} {r.outcome})" for r in failures)
        stopped = "the startup failed and was rolled back; " if error is not None else ""
        command.error(f"check --run: {stopped}{len(failures)} hook(s) failed: {names}")
        return 1
    command.say(
        f"{command.prog} check passed: the startup and the shutdown of service type "
        f"{settings.service_type!r} ({settings.environment}) ran without a failure"
    )
    return 0


def _run(command: _Command, args: argparse.Namespace, settings: Settings, owner: Lifespan) -> int:
    target: list[str] = list(args.target)
    explicit_command = bool(target) and target[0] == "--"
    if explicit_command:
        target = target[1:]
    if not target:
        command.error("run needs a command (run -- COMMAND...) or a function (run module:function)")
        return 2
    function = None
    if not explicit_command and ":" in target[0] and len(target) > 1:
        command.error(
            f"run {target[0]} takes no arguments: put options such as --service-type before "
            f"it, or run a command with run -- COMMAND..."
        )
        return 2
    if not explicit_command and ":" in target[0]:
        try:
            function = _load_function(target[0])
        except ConfigurationError as exc:
            command.error(str(exc))
            return 1
    runner = command.runner(owner, settings)
    try:
        runner.start()
    except StartupFailed as exc:
        command.error(str(exc))
        return 1
    try:
        if function is not None:
            status = _call(command, function, runner)
        else:
            try:
                returncode = subprocess.call(target)
            except OSError as exc:
                command.error(f"cannot run {target[0]!r}: {exc}")
                returncode = 127
            status = 128 - returncode if returncode < 0 else returncode
    finally:
        report = runner.stop()
        for result in report.failures:
            command.error(f"shutdown hook {result.hook.name!r} {result.outcome}: {result.error}")
    return status


def _load_function(spec: str) -> Any:
    module_name, _, attribute = spec.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigurationError(
            f"run {spec}: cannot import {module_name!r}: {exc}; check the spelling and that "
            f"it is on sys.path"
        ) from exc
    function = getattr(module, attribute, None)
    if not callable(function):
        raise ConfigurationError(
            f"run {spec}: module {module_name!r} has no function {attribute!r}"
        )
    return function


def _call(command: _Command, function: Any, runner: Any) -> int:
    """Call a run target with the context if it takes an argument; its return is the status."""
    try:
        parameters = inspect.signature(function).parameters
    except (TypeError, ValueError):
        parameters = {}  # type: ignore[assignment]
    arguments = (runner.context,) if parameters else ()
    try:
        if inspect.iscoroutinefunction(function):
            result = runner.call(function(*arguments))
        else:
            result = function(*arguments)
    except SystemExit as exc:
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    except Exception as exc:
        command.err.write("".join(traceback.format_exception(exc)))
        return 1
    if isinstance(result, bool):
        return 0 if result else 1
    return result if isinstance(result, int) else 0


def _health(
    command: _Command, args: argparse.Namespace, settings: Settings, owner: Lifespan
) -> int:
    runner = command.runner(owner, settings)
    try:
        runner.start()
    except StartupFailed as exc:
        command.error(str(exc))
        return 1
    try:
        context = runner.context
        report = runner.call(owner.health(context.service_type, context.environment))
        command.say(report.to_json(details=True))
        return 0 if report.ok else 1
    finally:
        runner.stop()


def _owner(spec: str | None) -> Lifespan:
    """The `Lifespan` named by ``--lifespan MODULE:NAME``, or the process-wide one."""
    if spec is None:
        return lifespan
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise ConfigurationError(
            f"--lifespan {spec}: give MODULE:NAME, such as --lifespan myapp.lifecycle:lifespan"
        )
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigurationError(
            f"--lifespan {spec}: cannot import {module_name!r}: {exc}; check the spelling and "
            f"that it is on sys.path"
        ) from exc
    found = getattr(module, attribute, None)
    if not isinstance(found, Lifespan):
        raise ConfigurationError(
            f"--lifespan {spec}: {module_name}.{attribute} is "
            f"{'missing' if found is None else type(found).__name__}, not a Lifespan"
        )
    return found


def _analyze(
    command: _Command, args: argparse.Namespace, settings: Settings, owner: Lifespan
) -> int:
    from ._timeline import Timeline  # xml.etree, only for this subcommand

    timeline = Timeline()
    owner.add_listener(timeline)
    status = 0
    try:
        runner = command.runner(owner, settings)
        try:
            runner.start()
        except StartupFailed as exc:
            command.error(str(exc))
            status = 1
        else:
            report = runner.stop()
            if not report.ok:
                status = 1
    finally:
        owner.remove_listener(timeline)
    if args.format == "json":
        command.say(json.dumps(timeline.to_dict(), indent=2))
    else:
        command.say(timeline.to_text(max(10, args.width)))
    if args.svg != "-":
        title = f"asgi-lifecycle analyze: {settings.service_type} ({settings.environment})"
        try:
            with open(args.svg, "w", encoding="utf-8") as handle:
                handle.write(timeline.to_svg(title))
        except OSError as exc:
            command.error(f"cannot write the SVG to {args.svg!r}: {exc}")
            return 1
        command.err.write(f"wrote {args.svg}\n")
    return status
