"""Several row writes of one use case in one database round trip.

A use case that changes a row and adds a few others (a submission: the application, its
first task, the timeline entry, the inbox message) pays a round trip per statement, and
on PostgreSQL each round trip costs the server more than the small write itself.
:func:`rows_save` sends them as one statement there: each write is compiled by Django's
own compilers, exactly as ``Model.save()`` would (field conversions, ``auto_now``,
``RETURNING`` the primary key), and the statements are joined as data-modifying ``WITH``
queries. They all see the same snapshot, so they must not depend on each other's rows;
foreign keys are checked at commit (Django creates them ``DEFERRABLE INITIALLY
DEFERRED``), so a new row may point to another row of the same call.

Elsewhere, or when a model has ``pre_save``/``post_save`` receivers (which the joined
statement would not call), every row is saved with ``save()``, one statement each.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import DatabaseError, connections, router, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Model, signals, sql

__all__ = ["rows_save"]


def rows_save(
    *,
    update: tuple[Model, Sequence[str]] | None = None,
    inserts: Sequence[Model] = (),
) -> None:
    """Save ``update`` (an existing row: these fields) and insert the new ``inserts``.

    Raises ``DatabaseError`` when the updated row no longer exists, as
    ``save(update_fields=...)`` does; nothing is written then: the enclosing transaction
    (or the one opened here outside of one) is rolled back.
    """
    instances = [*([update[0]] if update else []), *inserts]
    if not instances:
        return
    for obj in inserts:
        if obj.pk is not None or not obj._state.adding:
            raise ValueError(f"rows_save() inserts new rows only, not {obj!r}.")
    updated = (update[0], _update_fields(*update)) if update is not None else None
    using = router.db_for_write(type(instances[0]), instance=instances[0])
    connection = connections[using]
    if connection.vendor != "postgresql" or any(
        signals.pre_save.has_listeners(type(obj)) or signals.post_save.has_listeners(type(obj))
        for obj in instances
    ):
        if updated is not None:
            updated[0].save(using=using, update_fields=[f.name for f in updated[1]])
        for obj in inserts:
            obj.save(using=using, force_insert=True)
    elif connection.in_atomic_block:
        _joined_save(updated, inserts, using, connection)
    else:
        # Outside a transaction the inserts must not outlive a failed update either.
        with transaction.atomic(using=using):
            _joined_save(updated, inserts, using, connection)


def _joined_save(
    updated: tuple[Model, list[Any]] | None,
    inserts: Sequence[Model],
    using: str,
    connection: BaseDatabaseWrapper,
) -> None:
    parts: list[tuple[str, list[Any], Model]] = []
    if updated is not None:
        parts.append((*_update_sql(*updated, connection), updated[0]))
    parts.extend((*_insert_sql(obj, connection), obj) for obj in inserts)
    # Each statement returns its rows' primary keys; the outer query collects them. Only
    # Django-compiled statements and quoted names are joined; values stay parameters.
    quote = connection.ops.quote_name
    names = [quote(f"write_{index}") for index in range(len(parts))]
    ctes = ", ".join(
        f"{name} AS ({statement})" for name, (statement, _, _) in zip(names, parts, strict=True)
    )
    keys_of = ", ".join(
        f"(SELECT array_agg({quote(obj._meta.pk.column)}) FROM {name})"  # noqa: S608
        for name, (_, _, obj) in zip(names, parts, strict=True)
    )
    params = [value for _, values, _ in parts for value in values]
    with connection.cursor() as cursor:
        cursor.execute(f"WITH {ctes} SELECT {keys_of}", params)
        results = cursor.fetchone()
    if updated is not None:
        if not results[0]:
            # The inserts went through: this transaction must not commit them.
            transaction.set_rollback(True, using=using)
            raise DatabaseError("Save with update_fields did not affect any rows.")
        results = results[1:]
    for obj, returned in zip(inserts, results, strict=True):
        _inserted(obj, returned, using, connection)


def _update_fields(obj: Model, names: Sequence[str]) -> list[Any]:
    meta = obj._meta
    if meta.parents:
        raise ValueError("rows_save() does not write models with parents.")
    wanted = set(names)
    fields = [
        f
        for f in meta.local_concrete_fields
        if not f.primary_key and not f.generated and (f.name in wanted or f.attname in wanted)
    ]
    if len(fields) != len(wanted):
        raise ValueError(f"{meta.label} has no such fields: {sorted(wanted)}")
    return fields


def _update_sql(
    obj: Model, fields: Sequence[Any], connection: BaseDatabaseWrapper
) -> tuple[str, list[Any]]:
    meta = obj._meta
    query: Any = type(obj)._base_manager.filter(pk=obj.pk).query.chain(sql.UpdateQuery)
    query.add_update_fields([(f, None, f.pre_save(obj, False)) for f in fields])
    statement, values = query.get_compiler(connection=connection).as_sql()
    return f"{statement} RETURNING {connection.ops.quote_name(meta.pk.column)}", list(values)


def _insert_sql(obj: Model, connection: BaseDatabaseWrapper) -> tuple[str, list[Any]]:
    meta = obj._meta
    if meta.parents or meta.order_with_respect_to:
        raise ValueError("rows_save() does not insert models with parents or ordering.")
    fields = [f for f in meta.local_concrete_fields if not f.generated and f is not meta.auto_field]
    query = sql.InsertQuery(type(obj))
    query.insert_values(fields, [obj])
    compiler = query.get_compiler(connection=connection)
    compiler.returning_fields = [meta.pk]
    [(statement, values)] = compiler.as_sql()
    return statement, list(values)


def _inserted(
    obj: Model, returned: list[Any] | None, using: str, connection: BaseDatabaseWrapper
) -> None:
    if not returned or len(returned) != 1:
        raise DatabaseError(f"Inserting {obj._meta.label} returned {returned!r}.")
    pk: Any = obj._meta.pk
    (value,) = returned
    for converter in pk.get_db_converters(connection):
        value = converter(value, pk, connection)
    setattr(obj, pk.attname, value)
    obj._state.adding = False
    obj._state.db = using
