"""A BRIN index on the check-in time, on PostgreSQL only.

Check-ins arrive in time order, so a block-range index is a few pages even at a hundred
million rows, and it is what the retention purge (delete everything before a day) reads.
SQLite has no BRIN; its tables stay small enough for a scan.
"""

from django.db import migrations

INDEX = "health_checkin_time_brin"


def _create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {INDEX} ON health_venuecheckin "
            "USING brin (checked_in_at)"
        )


def _drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [("health", "0002_venues_checkins_contact_traces")]

    operations = [migrations.RunPython(_create, _drop, elidable=False)]
