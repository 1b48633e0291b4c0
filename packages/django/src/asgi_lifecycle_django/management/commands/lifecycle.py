"""``manage.py lifecycle plan|check|run|health|analyze``: the ``asgi-lifecycle`` command, in Django.

A thin shim over `asgi_lifecycle.run_cli`: after Django's own setup (the hook
modules' import errors raised, the adapter's hooks installed) it runs the core's
command on the process-wide `lifespan`, with the settings ``settings.ASGI_LIFECYCLE``
and the configuration file describe, so that it prints and exits the same.
"""

from __future__ import annotations

import argparse
import os
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from asgi_lifecycle import lifespan, run_cli

from ..._discovery import raise_discovery_errors
from ..._hooks import install, sync_runner
from ..._settings import resolve_settings


class Command(BaseCommand):
    """Show, check and run the hooks: the ``asgi-lifecycle`` command with Django's settings."""

    help = (
        "The asgi-lifecycle command with Django's settings: 'plan' lists the hooks in start "
        "order; 'check' validates the hook modules, their registration and the configuration "
        "(add --run to run a real startup and shutdown); 'run' runs a command or a function "
        "between the startup and the shutdown; 'health' prints the readiness report; "
        "'analyze' draws the startup and shutdown timeline. 'lifecycle COMMAND --help' "
        "for each."
    )
    _prog = "manage.py lifecycle"

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        """Remember the command's name for the core command's help and errors."""
        self._prog = f"{os.path.basename(prog_name)} {subcommand}"
        return super().create_parser(prog_name, subcommand, **kwargs)

    def add_arguments(self, parser: CommandParser) -> None:
        """Hand everything after ``lifecycle`` to the core command."""
        parser.add_argument(
            "args",
            nargs=argparse.REMAINDER,
            metavar="COMMAND ...",
            help="plan | check [--run] | run | health | analyze, with their options "
            "(--service-type, --environment, ...)",
        )

    def handle(self, *args: str, **options: Any) -> None:
        """Run the core's command with Django's settings and the process-wide lifespan."""
        raise_discovery_errors()
        install(lifespan)
        status = run_cli(
            list(args),
            prog=self._prog,
            settings=resolve_settings,
            lifespan=lifespan,
            sync_runner=sync_runner,
            stdout=self.stdout,
            stderr=self.stderr,
        )
        if status:
            action = args[0] if args else "lifecycle"
            raise CommandError(
                f"{self._prog} {action} exited with status {status}", returncode=status
            )
