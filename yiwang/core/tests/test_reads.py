from __future__ import annotations

import datetime

import pytest
from django.db import connection, transaction
from django.db.models import Count
from django.db.models.sql.query import Query
from django.db.transaction import TransactionManagementError
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from yiwang.core.models import AuditEntry, Region
from yiwang.core.reads import CompiledQuery

pytestmark = pytest.mark.django_db


def _entry(seq: int, action: str, **detail: object) -> AuditEntry:
    return AuditEntry.objects.create(
        seq=seq,
        created_at=timezone.now() - datetime.timedelta(minutes=seq),
        action=action,
        object_type="applications.application",
        object_id=str(seq % 2),
        detail=detail,
        prev_hash="0" * 64,
        entry_hash=f"{seq:064d}",
    )


def _fields(obj: AuditEntry) -> dict[str, object]:
    return {f.attname: getattr(obj, f.attname) for f in AuditEntry._meta.concrete_fields}


@pytest.fixture
def entries():
    return [
        _entry(1, "application.accept", roles=["clerk"], note="受理"),
        _entry(2, "application.accept", roles=[]),
        _entry(3, "application.review"),
    ]


def _compiles(monkeypatch) -> list[Query]:
    compiled: list[Query] = []
    get_compiler = Query.get_compiler

    def counting(self, *args, **kwargs):
        compiled.append(self)
        return get_compiler(self, *args, **kwargs)

    monkeypatch.setattr(Query, "get_compiler", counting)
    return compiled


def test_instances_are_those_the_queryset_gives_and_are_compiled_once(entries, monkeypatch):
    by_object = CompiledQuery(
        lambda object_type, object_id: AuditEntry.objects.filter(object_type=object_type).filter(
            object_id=object_id
        )
    )
    compiles = _compiles(monkeypatch)

    odd = by_object.fetch("applications.application", "1")
    even = by_object.fetch("applications.application", "0")
    none = by_object.fetch("catalog.serviceitem", "1")

    assert len(compiles) == 1
    # The model's ordering (-seq) holds, and every field is converted as the ORM does it
    # (JSON to Python, datetimes aware).
    assert [e.seq for e in odd] == [3, 1]
    expected = AuditEntry.objects.filter(object_id="1")
    assert [_fields(e) for e in odd] == [_fields(e) for e in expected]
    assert odd[1].detail == {"roles": ["clerk"], "note": "受理"}
    assert timezone.is_aware(odd[1].created_at)
    assert [e.seq for e in even] == [2]
    assert none == []
    assert not odd[0]._state.adding
    assert odd[0]._state.db == "default"


def test_each_fetch_reads_the_database_again(entries):
    by_seq = CompiledQuery(lambda seq: AuditEntry.objects.filter(seq=seq))
    assert by_seq.fetch(2)[0].detail == {"roles": []}

    AuditEntry.objects.filter(seq=2).update(detail={"roles": ["reviewer"]})

    with CaptureQueriesContext(connection) as queries:
        assert by_seq.fetch(2)[0].detail == {"roles": ["reviewer"]}
    assert len(queries.captured_queries) == 1


def test_values_list_gives_converted_tuples(entries):
    rows = CompiledQuery(
        lambda action: (
            AuditEntry.objects.filter(action=action)
            .order_by("seq")
            .values_list("seq", "detail", "created_at")
        )
    )

    accepted = rows.fetch("application.accept")

    assert [(seq, detail) for seq, detail, _ in accepted] == [
        (1, {"roles": ["clerk"], "note": "受理"}),
        (2, {"roles": []}),
    ]
    assert all(isinstance(row, tuple) for row in accepted)
    assert all(timezone.is_aware(created_at) for _, _, created_at in accepted)
    assert rows.fetch("application.decide") == []


def test_deferred_fields_load_on_access(entries):
    light = CompiledQuery(lambda seq: AuditEntry.objects.only("seq", "action").filter(seq=seq))

    (entry,) = light.fetch(1)

    assert entry.get_deferred_fields() >= {"detail", "created_at"}
    assert entry.detail == {"roles": ["clerk"], "note": "受理"}


def test_an_ordering_column_outside_the_selection_is_not_returned(entries):
    # Ordering by a column not selected makes Django select it too; it is cut off again.
    seqs = CompiledQuery(
        lambda action: (
            AuditEntry.objects.filter(action=action).order_by("created_at").values_list("seq")
        )
    )

    assert seqs.fetch("application.accept") == [(2,), (1,)]


# A transactional test: the others run inside a transaction, so nothing is outside one.
@pytest.mark.django_db(transaction=True)
def test_a_locking_read_locks_inside_a_transaction_and_is_refused_outside(regions):
    locked = CompiledQuery(lambda code: Region.objects.select_for_update().filter(code=code))

    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        (region,) = locked.fetch("330106")
    assert region.name == "西湖区"
    if connection.features.has_select_for_update:
        assert "FOR UPDATE" in queries.captured_queries[0]["sql"]
        # As Django refuses select_for_update() outside a transaction, once compiled too.
        with pytest.raises(TransactionManagementError):
            locked.fetch("330106")
    else:
        assert locked.fetch("330106")[0].code == "330106"


def test_an_explicit_database_alias_is_used(regions):
    by_code = CompiledQuery(lambda code: Region.objects.filter(code=code))

    assert by_code.fetch("330106", using="default")[0].name == "西湖区"
    assert by_code.fetch("330100")[0].name == "杭州市"


@pytest.mark.parametrize(
    ("build", "values", "message"),
    [
        # One filter() puts its keyword conditions in name order: object_id first.
        (
            lambda object_type, object_id: AuditEntry.objects.filter(
                object_type=object_type, object_id=object_id
            ),
            ("applications.application", "1"),
            "parameters must be the values passed, in order",
        ),
        # The value the database gets is not the value passed.
        (
            lambda prefix: AuditEntry.objects.filter(action__startswith=prefix),
            ("application.",),
            "parameters must be the values passed",
        ),
        (
            lambda seq: AuditEntry.objects.select_related("actor").filter(seq=seq),
            (1,),
            "plain querysets",
        ),
        (
            lambda seq: AuditEntry.objects.filter(seq=seq).annotate(n=Count("pk")),
            (1,),
            "plain querysets",
        ),
        (lambda seq: AuditEntry.objects.filter(seq=seq)[:1], (1,), "plain querysets"),
        (lambda seq: AuditEntry.objects.filter(seq=seq).values("seq"), (1,), "plain querysets"),
        (
            lambda seq: AuditEntry.objects.filter(seq=seq).prefetch_related("actor"),
            (1,),
            "plain querysets",
        ),
        (lambda seq: AuditEntry.objects.filter(seq=seq), (None,), "may not be None"),
    ],
)
def test_querysets_it_cannot_run_faithfully_are_refused(entries, build, values, message):
    with pytest.raises(ValueError, match=message):
        CompiledQuery(build).fetch(*values)


def test_a_value_may_not_be_none_after_compiling_either(entries):
    by_seq = CompiledQuery(lambda seq: AuditEntry.objects.filter(seq=seq))
    assert by_seq.fetch(1)

    with pytest.raises(ValueError, match="may not be None"):
        by_seq.fetch(None)


def test_a_refusal_names_neither_values_nor_parameters(entries):
    by_prefix = CompiledQuery(
        lambda prefix: AuditEntry.objects.filter(object_id__startswith=prefix)
    )

    with pytest.raises(ValueError, match="1 parameters for 1 values") as refused:
        by_prefix.fetch("330106199001010018")

    assert "330106199001010018" not in str(refused.value)
