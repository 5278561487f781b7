"""``manage.py demo_serve``: run the web server and the task worker for the demo."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

from yiwang.demo.guide import claimed_id_numbers, health_case, personas_guide, urls_guide
from yiwang.demo.personas import PERSONAS
from yiwang.demo.serve import base_url, child_environment, children_run, serve_commands


class Command(BaseCommand):
    help = (
        "Start the demo: gunicorn (config.wsgi) and the task worker (db_worker) as child "
        "processes, after printing the personas. Ctrl-C stops both."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--host", default="127.0.0.1", help="Address to bind (default 127.0.0.1)."
        )
        parser.add_argument("--port", type=int, default=8000, help="Port to bind (default 8000).")
        parser.add_argument(
            "--workers", type=int, default=2, help="Gunicorn worker processes (default 2)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        host, port = options["host"], options["port"]
        if not 0 < port < 65536:
            raise CommandError(f"--port must be 1–65535, got {port}")
        self._warn_if_not_loaded()
        self.stdout.write(
            personas_guide(claimed_id_numbers=claimed_id_numbers(), health_case=health_case())
        )
        self.stdout.write("")
        self.stdout.write(urls_guide(base_url(host, port)))
        self.stdout.write("")
        self.stdout.flush()
        commands = serve_commands(
            host=host,
            port=port,
            manage_py=settings.BASE_DIR / "manage.py",
            workers=options["workers"],
        )
        status = children_run(
            commands, cwd=settings.BASE_DIR, env=child_environment(), log=self._log
        )
        if status:
            raise SystemExit(status)

    def _log(self, message: str) -> None:
        self.stdout.write(f"demo_serve: {message}")
        self.stdout.flush()

    def _warn_if_not_loaded(self) -> None:
        from yiwang.identity.models import User

        try:
            loaded = User.objects.filter(phone__in=[p.phone for p in PERSONAS]).count()
        except DatabaseError:
            loaded = 0
        if loaded < len(PERSONAS):
            self.stderr.write(
                self.style.WARNING(
                    "The demo is not (fully) loaded: run `manage.py migrate`, "
                    "`manage.py createcachetable` and `manage.py demo_load` first."
                )
            )
