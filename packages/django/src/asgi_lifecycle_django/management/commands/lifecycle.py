"""``manage.py lifecycle plan|check``: show the hooks, or run a full startup and shutdown."""

from __future__ import annotations

import traceback
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from asgi_lifecycle import (
    Hook,
    HookRegistrationError,
    LifecycleReport,
    LifespanContext,
    StartupFailed,
    lifespan,
)

from ..._discovery import raise_discovery_errors
from ..._hooks import FIRST, LAST, install, sync_runner
from ..._settings import build_context


def _priority(hook: Hook) -> str:
    return {LAST: "last", FIRST: "first"}.get(hook.priority, str(hook.priority))


def _line(hook: Hook, action: str) -> str:
    extras = []
    if action in ("start", "setup") and not hook.critical:
        extras.append("non-critical")
    if hook.timeout is not None:
        extras.append(f"timeout={hook.timeout:g}s")
    if hook.after:
        extras.append(f"after={','.join(hook.after)}")
    if action == "setup" and hook.key is not None:
        extras.append(f"publishes state[{hook.key!r}]")
    tail = f"  [{'; '.join(extras)}]" if extras else ""
    return f"  {_priority(hook):>6}  {action:<8}  {hook.name}{tail}\n{'':20}{hook.source}"


class Command(BaseCommand):
    """Show the ordered hooks of a run, or run a startup and a shutdown."""

    help = (
        "'plan' prints the hooks that would run, in order; 'check' runs a full startup and "
        "shutdown and exits non-zero, printing the report, if anything failed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        """Add the ``plan`` and ``check`` subcommands."""
        actions = parser.add_subparsers(dest="action", metavar="{plan,check}", required=True)
        for name, text in (
            ("plan", "print the hooks that would run, in startup order"),
            ("check", "run a full startup and shutdown; exit 1 if anything failed"),
        ):
            sub = actions.add_parser(name, help=text, description=text)
            sub.add_argument(
                "--service-type", help="the service type (default: ASGI_LIFECYCLE['SERVICE_TYPE'])"
            )
            sub.add_argument(
                "--environment", help="the environment (default: ASGI_LIFECYCLE['ENVIRONMENT'])"
            )

    def handle(self, *args: Any, **options: Any) -> None:
        """Run the chosen subcommand."""
        raise_discovery_errors()
        install(lifespan)
        context = build_context(options.get("service_type"), options.get("environment"))
        if options["action"] == "plan":
            self._plan(context.service_type, context.environment)
        else:
            self._check(context)

    def _plan(self, service_type: str, environment: str) -> None:
        try:
            plan = lifespan.plan(service_type, environment)
        except HookRegistrationError as exc:
            raise CommandError(str(exc)) from exc
        starting = [hook for hook in plan if hook.kind != "shutdown"]
        stopping = [hook for hook in reversed(plan) if hook.kind != "start"]
        self.stdout.write(
            f"Startup of service type {service_type!r}, environment {environment!r}: "
            f"{len(starting)} hook(s), in this order"
        )
        for hook in starting:
            self.stdout.write(_line(hook, "start" if hook.kind == "start" else "setup"))
        self.stdout.write(f"Shutdown: {len(stopping)} hook(s), in this order")
        for hook in stopping:
            self.stdout.write(_line(hook, "stop" if hook.kind == "shutdown" else "teardown"))

    def _report(self, report: LifecycleReport) -> None:
        self.stdout.write(f"{report.phase}: {'ok' if report.ok else 'FAILED'}")
        self.stdout.write(str(report))

    def _check(self, context: LifespanContext) -> None:
        runner = lifespan.run_blocking(context, sync_runner=sync_runner)
        try:
            startup = runner.start()
        except StartupFailed as exc:
            self._report(exc.report)
            self._report(exc.rollback)
            self.stderr.write("".join(traceback.format_exception(exc.error)).rstrip())
            raise CommandError(str(exc)) from exc
        except HookRegistrationError as exc:
            raise CommandError(str(exc)) from exc
        self._report(startup)
        shutdown = runner.stop()
        self._report(shutdown)
        failures = [*startup.failures, *shutdown.failures]
        if failures:
            for result in failures:
                if result.error is not None:
                    self.stderr.write("".join(traceback.format_exception(result.error)).rstrip())
            raise CommandError(
                f"{len(failures)} hook(s) failed: "
                + ", ".join(f"{r.hook.name} ({r.action} {r.outcome})" for r in failures)
            )
        self.stdout.write(self.style.SUCCESS("lifecycle check passed"))
