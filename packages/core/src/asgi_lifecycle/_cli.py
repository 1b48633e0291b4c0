"""The ``asgi-lifecycle`` command: ``plan``, ``check``, ``run``, ``health`` and ``analyze``.

Standard library only (argparse). Every subcommand reads the configuration
(`load_settings`), imports the hook modules (`discover`) and works on the
process-wide `lifespan`.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import json
import subprocess
import sys
from collections.abc import Sequence
from typing import Any

from ._config import Settings, discover, load_settings
from ._errors import ConfigurationError, HookRegistrationError, StartupFailed
from ._hook import Hook
from ._lifespan import Lifespan, lifespan
from ._timeline import Timeline

__all__ = ("main",)

PROG = "asgi-lifecycle"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``asgi-lifecycle`` command and return its exit status.

    Args:
        argv: The arguments (default: ``sys.argv[1:]``).

    Returns:
        0 on success; 1 for a configuration, registration or startup problem;
        for ``run``, the command's own exit status.
    """
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    if args.command == "check":
        return _check(args)
    try:
        settings = _settings(args)
        owner = _owner(args.lifespan)
        owner.configure_from(settings)
    except (ConfigurationError, HookRegistrationError) as exc:
        _error(str(exc))
        return 1
    handler = {"plan": _plan, "run": _run, "health": _health, "analyze": _analyze}[args.command]
    return handler(args, settings, owner)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
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
        "check", help="import every hook module and validate the configuration and hooks"
    )
    common(check)
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


def _settings(args: argparse.Namespace) -> Settings:
    settings = load_settings(service_type=args.service_type, environment=args.environment)
    if args.module:
        modules = (*settings.modules, *(m for m in args.module if m not in settings.modules))
        settings = load_settings(
            service_type=args.service_type, environment=args.environment, modules=list(modules)
        )
    return settings.for_service()


def _error(message: str) -> None:
    print(f"{PROG}: error: {message}", file=sys.stderr)


def _plan(args: argparse.Namespace, settings: Settings, owner: Lifespan) -> int:
    try:
        hooks = owner.plan(settings.service_type, settings.environment)
    except HookRegistrationError as exc:
        _error(str(exc))
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
        print(json.dumps(document, indent=2))
        return 0
    print(
        f"{len(hooks)} hook(s) for service type {settings.service_type!r} "
        f"({settings.environment}), in start order; shutdown runs the reverse"
    )
    print(
        f"budgets: startup {_seconds(owner.startup_timeout)}, shutdown "
        f"{_seconds(owner.shutdown_timeout)}, per hook {_seconds(owner.timeout)}; "
        f"concurrent: {str(owner.concurrent).lower()}; config file: {settings.source or 'none'}"
    )
    for index, item in enumerate(described, 1):
        after = f" after={','.join(item['after'])}" if item["after"] else ""
        critical = "" if item["critical"] or item["kind"] == "shutdown" else " non-critical"
        print(
            f"{index:3}. phase {item['phase']:<3} {item['kind']:<8} {item['name']}"
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


def _check(args: argparse.Namespace) -> int:
    problems: list[str] = []
    owner = lifespan
    try:
        settings = _settings(args)
    except ConfigurationError as exc:
        problems.extend(exc.problems)
        settings = None
    try:
        owner = _owner(args.lifespan)
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
            _error(problem)
        print(f"{PROG} check: {len(problems)} problem(s)", file=sys.stderr)
        return 1
    assert settings is not None
    print(
        f"{PROG} check: ok: {len(owner.hooks)} hook(s) and {len(owner.health_checks)} "
        f"health check(s); config file: {settings.source or 'none'}"
    )
    return 0


def _run(args: argparse.Namespace, settings: Settings, owner: Lifespan) -> int:
    target: list[str] = list(args.target)
    explicit_command = bool(target) and target[0] == "--"
    if explicit_command:
        target = target[1:]
    if not target:
        _error("run needs a command (run -- COMMAND...) or a function (run module:function)")
        return 2
    function = None
    if not explicit_command and ":" in target[0] and len(target) > 1:
        _error(
            f"run {target[0]} takes no arguments: put options such as --service-type before "
            f"it, or run a command with run -- COMMAND..."
        )
        return 2
    if not explicit_command and ":" in target[0]:
        try:
            function = _load_function(target[0])
        except ConfigurationError as exc:
            _error(str(exc))
            return 1
    runner = owner.run_blocking(settings.context())
    try:
        runner.start()
    except StartupFailed as exc:
        _error(str(exc))
        return 1
    try:
        if function is not None:
            status = _call(function, runner)
        else:
            try:
                returncode = subprocess.call(target)
            except OSError as exc:
                _error(f"cannot run {target[0]!r}: {exc}")
                returncode = 127
            status = 128 - returncode if returncode < 0 else returncode
    finally:
        report = runner.stop()
        for result in report.failures:
            _error(f"shutdown hook {result.hook.name!r} {result.outcome}: {result.error}")
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


def _call(function: Any, runner: Any) -> int:
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
    except Exception:
        import traceback

        traceback.print_exc()
        return 1
    if isinstance(result, bool):
        return 0 if result else 1
    return result if isinstance(result, int) else 0


def _health(args: argparse.Namespace, settings: Settings, owner: Lifespan) -> int:
    runner = owner.run_blocking(settings.context())
    try:
        runner.start()
    except StartupFailed as exc:
        _error(str(exc))
        return 1
    try:
        context = runner.context
        report = runner.call(owner.health(context.service_type, context.environment))
        print(report.to_json(details=True))
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


def _analyze(args: argparse.Namespace, settings: Settings, owner: Lifespan) -> int:
    timeline = Timeline()
    owner.add_listener(timeline)
    status = 0
    try:
        runner = owner.run_blocking(settings.context())
        try:
            runner.start()
        except StartupFailed as exc:
            _error(str(exc))
            status = 1
        else:
            report = runner.stop()
            if not report.ok:
                status = 1
    finally:
        owner.remove_listener(timeline)
    if args.format == "json":
        print(json.dumps(timeline.to_dict(), indent=2))
    else:
        print(timeline.to_text(max(10, args.width)))
    if args.svg != "-":
        title = f"asgi-lifecycle analyze: {settings.service_type} ({settings.environment})"
        try:
            with open(args.svg, "w", encoding="utf-8") as handle:
                handle.write(timeline.to_svg(title))
        except OSError as exc:
            _error(f"cannot write the SVG to {args.svg!r}: {exc}")
            return 1
        print(f"wrote {args.svg}", file=sys.stderr)
    return status
