"""Small reads on a hot path, compiled by Django once per process instead of every time.

Compiling a queryset costs Django more CPU than the database spends answering a small
indexed read: locking the application a submission works on takes about 0.7 ms to
compile and 0.2 ms to run. A :class:`CompiledQuery` builds its queryset from the values of
its first call, keeps the SQL Django compiles for it (per database), and on later calls
sends that SQL with the new values. The rows are materialised as Django would: model
instances through the fields' converters and ``Model.from_db``, or tuples for
``values_list()``.

It takes only querysets whose SQL parameters are exactly the values passed, in order
(checked when compiling: a value the queryset transforms, or a condition Django renders
without a parameter, is refused; the keyword conditions of one ``filter()`` come in the
order of their names, so give each its own ``filter()`` to keep the order of the values),
and only plain ones: no ``select_related``, annotations, ``extra``, prefetching, slicing or
related managers. Values may not be
``None`` (Django renders ``= None`` as ``IS NULL``, which a parameter cannot be).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, cast

from django.db import connections, router
from django.db.models import Model, QuerySet
from django.db.models.query import ModelIterable, ValuesListIterable
from django.db.models.sql.compiler import SQLCompiler
from django.db.transaction import TransactionManagementError

__all__ = ["CompiledQuery"]

T = TypeVar("T")


@dataclass(frozen=True)
class _Compiled:
    sql: str
    compiler: SQLCompiler
    # Model instances: the model, and the attribute each selected column sets.
    model: type[Model] | None
    init_list: tuple[str, ...]
    for_update: bool


class CompiledQuery(Generic[T]):
    """``build(*values)`` returns the queryset; ``fetch(*values)`` runs it as a list.

    ::

        _locked = CompiledQuery(
            lambda pk, owner_id: (
                Thing.objects.select_for_update().filter(pk=pk).filter(owner_id=owner_id)
            )
        )
        things = _locked.fetch(thing_id, user.pk)
    """

    def __init__(self, build: Callable[..., QuerySet[Any, T]]) -> None:
        self._build = build
        self._model: type[Model] | None = None
        self._compiled: dict[str, _Compiled] = {}

    def fetch(self, *values: Any, using: str | None = None) -> list[T]:
        if any(value is None for value in values):
            raise ValueError("CompiledQuery values may not be None.")
        alias = using
        if alias is None and self._model is not None:
            alias = router.db_for_read(self._model)
        compiled = self._compiled.get(alias) if alias is not None else None
        if alias is None or compiled is None:
            alias, compiled = self._compile(values, using)
            self._compiled[alias] = compiled
        connection = connections[alias]
        if compiled.for_update and connection.get_autocommit():
            # What Django says for a select_for_update() evaluated outside a transaction.
            raise TransactionManagementError(
                "select_for_update cannot be used outside of a transaction."
            )
        with connection.cursor() as cursor:
            cursor.execute(compiled.sql, values)
            rows = cursor.fetchall()
        compiler = compiled.compiler
        if compiler.has_extra_select:
            rows = [row[: compiler.col_count] for row in rows]
        if compiled.model is None:
            tuples: Any = compiler.results_iter(results=[rows], tuple_expected=True)
            return list(tuples)
        model, init_list = compiled.model, compiled.init_list
        instances: Any = [
            model.from_db(alias, init_list, row) for row in compiler.results_iter(results=[rows])
        ]
        return cast(list[T], instances)

    def _compile(self, values: tuple[Any, ...], using: str | None) -> tuple[str, _Compiled]:
        queryset = self._build(*values)
        if using is not None:
            queryset = queryset.using(using)
        query = queryset.query
        iterable = queryset._iterable_class
        if (
            iterable not in (ModelIterable, ValuesListIterable)
            or query.select_related
            or query.annotations
            or query.extra
            or query.low_mark
            or query.high_mark is not None
            or query.combinator
            or queryset._prefetch_related_lookups  # type: ignore[attr-defined]
            or queryset._known_related_objects  # type: ignore[attr-defined]
        ):
            raise ValueError(
                "CompiledQuery takes plain querysets of model instances or values_list() "
                "tuples, without select_related, annotations, extra, prefetching, "
                "slicing, combinations or related managers."
            )
        alias = queryset.db
        compiler = query.get_compiler(using=alias)
        sql, params = compiler.as_sql()
        if tuple(params) != values:
            # Neither the values nor the parameters are named: they may be identifiers.
            raise ValueError(
                f"CompiledQuery parameters must be the values passed, in order: the "
                f"queryset has {len(params)} parameters for {len(values)} values, "
                f"in another order or form."
            )
        model = init_list = None
        if iterable is ModelIterable:
            klass_info = compiler.klass_info
            assert klass_info is not None  # noqa: S101 - a model query always has one
            model = klass_info["model"]
            fields = klass_info["select_fields"]
            selected = compiler.select[fields[0] : fields[-1] + 1]
            init_list = tuple(column[0].target.attname for column in selected)
        self._model = queryset.model
        return alias, _Compiled(
            sql=sql,
            compiler=compiler,
            model=model,
            init_list=init_list or (),
            for_update=bool(
                query.select_for_update and connections[alias].features.has_select_for_update
            ),
        )
