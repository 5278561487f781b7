"""``manage.py catalog_load``: load and publish the service catalogue from its data files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from yiwang.catalog.services import CatalogDataError, catalog_load


class Command(BaseCommand):
    help = (
        "Check every catalogue file, then load certificate types, life situations, "
        "standards and service items and publish the items. Nothing is written when any "
        "file has a problem; running it again with unchanged files changes nothing."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--root",
            type=Path,
            default=None,
            help="Folder of the catalogue (default: catalog-data in the project).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        root: Path = options["root"] or settings.BASE_DIR / "catalog-data"
        try:
            result = catalog_load(root=root)
        except CatalogDataError as exc:
            for problem in exc.problems:
                self.stderr.write(str(problem))
            raise CommandError(str(exc.message)) from exc
        self.stdout.write(f"{'':<34}{'total':>7}{'new':>7}{'updated':>9}")
        for label, total, created, updated in result.rows():
            self.stdout.write(f"{label:<34}{total:>7}{created:>7}{updated:>9}")
        self.stdout.write(f"{'新版本 New published versions':<34}{result.versions_created:>7}")
        counts = result.data_resources
        if counts is not None:
            self.stdout.write(
                f"{'数据资源 Data resources':<34}{counts.resources:>7}"
                f"  ({counts.fields} fields, {counts.systems} platform systems, "
                f"{counts.grants} new standing grants)"
            )
        self.stdout.write(self.style.SUCCESS(f"Catalogue loaded from {root}."))
