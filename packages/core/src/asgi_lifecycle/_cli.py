"""The ``asgi-lifecycle`` command: ``plan``, ``check``, ``run`` and ``health``.

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
        lifespan.configure_from(settings)
    except (ConfigurationError, HookRegistrationError) as exc:
        _error(str(exc))
        return 1
    handler = {"plan": _plan, "run": _run, "health": _health}[args.command]
    return handler(args, settings)


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


def _plan(args: argparse.Namespace, settings: Settings) -> int:
    try:
        hooks = lifespan.plan(settings.service_type, settings.environment)
    except HookRegistrationError as exc:
        _error(str(exc))
        return 1
    described = [_describe(hook, lifespan) for hook in hooks]
    if args.format == "json":
        document = {
            "service_type": settings.service_type,
            "environment": settings.environment,
            "config_file": settings.source,
            "concurrent": lifespan.concurrent,
            "timeout": lifespan.timeout,
            "startup_timeout": lifespan.startup_timeout,
            "shutdown_timeout": lifespan.shutdown_timeout,
            "hooks": described,
        }
        print(json.dumps(document, indent=2))
        return 0
    print(
        f"{len(hooks)} hook(s) for service type {settings.service_type!r} "
        f"({settings.environment}), in start order; shutdown runs the reverse"
    )
    print(
        f"budgets: startup {_seconds(lifespan.startup_timeout)}, shutdown "
        f"{_seconds(lifespan.shutdown_timeout)}, per hook {_seconds(lifespan.timeout)}; "
        f"concurrent: {str(lifespan.concurrent).lower()}; config file: {settings.source or 'none'}"
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
    try:
        settings = _settings(args)
    except ConfigurationError as exc:
        problems.extend(exc.problems)
        settings = None
    if settings is not None:
        try:
            lifespan.configure_from(settings, import_modules=False)
            discover(settings)
        except ConfigurationError as exc:
            problems.extend(exc.problems)
        service_types = {settings.service_type, *settings.services}
        for hook in lifespan.hooks:
            service_types.update(hook.service_types or ())
        failures: dict[str, list[str]] = {}  # one message, every service type it concerns
        for service_type in sorted(service_types):
            try:
                lifespan.plan(service_type, settings.environment)
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
        f"{PROG} check: ok: {len(lifespan.hooks)} hook(s) and {len(lifespan.health_checks)} "
        f"health check(s); config file: {settings.source or 'none'}"
    )
    return 0


def _run(args: argparse.Namespace, settings: Settings) -> int:
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
    runner = lifespan.run_blocking(settings.context())
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


def _health(args: argparse.Namespace, settings: Settings) -> int:
    runner = lifespan.run_blocking(settings.context())
    try:
        runner.start()
    except StartupFailed as exc:
        _error(str(exc))
        return 1
    try:
        context = runner.context
        report = runner.call(lifespan.health(context.service_type, context.environment))
        print(report.to_json(details=True))
        return 0 if report.ok else 1
    finally:
        runner.stop()
