from __future__ import annotations

import datetime

import pytest
from django.db import DatabaseError, connection
from django.db.models import signals
from django.test.utils import CaptureQueriesContext

from yiwang.core.models import Region, SmsOutboxMessage, WorkdayOverride
from yiwang.core.writes import rows_save

pytestmark = pytest.mark.django_db

JOINED = connection.vendor == "postgresql"


@pytest.fixture
def region(regions):
    return Region.objects.get(code="330106")


def test_an_update_and_new_rows_are_written_and_the_new_rows_get_their_keys(region):
    full_name = region.full_name
    region.name = "西湖区（测试）"
    region.full_name = "（不写入）"
    sms = SmsOutboxMessage(phone="13800000011", body="您的申请已提交。")
    day = WorkdayOverride(date=datetime.date(2027, 2, 8), is_workday=False, note="春节")

    with CaptureQueriesContext(connection) as queries:
        rows_save(update=(region, ["name"]), inserts=[sms, day])

    # One statement on PostgreSQL; elsewhere one per row.
    assert len(queries.captured_queries) == (1 if JOINED else 3)
    stored = Region.objects.get(pk=region.pk)
    assert stored.name == "西湖区（测试）"
    # Only the fields named are written.
    assert stored.full_name == full_name
    assert sms.pk is not None
    assert day.pk is not None
    assert not sms._state.adding
    assert sms._state.db == "default"
    assert SmsOutboxMessage.objects.get(pk=sms.pk).body == "您的申请已提交。"
    # auto_now_add ran, as save() would have done it.
    assert sms.created_at is not None
    assert SmsOutboxMessage.objects.get(pk=sms.pk).created_at == sms.created_at
    assert WorkdayOverride.objects.get(pk=day.pk).date == datetime.date(2027, 2, 8)


def test_inserts_alone_and_several_of_one_model():
    first = SmsOutboxMessage(phone="13800000011", body="一")
    second = SmsOutboxMessage(phone="13800000012", body="二")

    rows_save(inserts=[first, second])

    assert first.pk != second.pk
    assert set(SmsOutboxMessage.objects.values_list("body", flat=True)) == {"一", "二"}


def test_nothing_to_write_sends_no_statement():
    with CaptureQueriesContext(connection) as queries:
        rows_save()

    assert queries.captured_queries == []


def _gone_day() -> WorkdayOverride:
    day = WorkdayOverride.objects.create(date=datetime.date(2027, 2, 8), is_workday=False)
    WorkdayOverride.objects.filter(pk=day.pk).delete()
    day.note = "已删除"
    return day


def test_an_update_of_a_row_that_is_gone_fails_as_save_does_and_nothing_else_is_written():
    from django.db import transaction

    day = _gone_day()

    with pytest.raises(DatabaseError, match="did not affect any rows"), transaction.atomic():
        rows_save(update=(day, ["note"]), inserts=[SmsOutboxMessage(phone="1", body="x")])

    assert not SmsOutboxMessage.objects.exists()
    assert not WorkdayOverride.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_the_failed_update_leaves_nothing_either():
    day = _gone_day()

    with pytest.raises(DatabaseError, match="did not affect any rows"):
        rows_save(update=(day, ["note"]), inserts=[SmsOutboxMessage(phone="1", body="x")])

    assert not SmsOutboxMessage.objects.exists()


def test_in_a_transaction_the_failed_update_rolls_it_back_even_when_the_error_is_caught():
    from django.db import transaction

    day = _gone_day()

    with transaction.atomic():
        with pytest.raises(DatabaseError):
            rows_save(update=(day, ["note"]), inserts=[SmsOutboxMessage(phone="1", body="x")])
        if JOINED:
            assert transaction.get_rollback()

    assert not SmsOutboxMessage.objects.exists()


def test_a_failing_insert_writes_nothing(region):
    from django.db import IntegrityError, transaction

    WorkdayOverride.objects.create(date=datetime.date(2027, 2, 8), is_workday=False)
    region.name = "不应写入"
    duplicate = WorkdayOverride(date=datetime.date(2027, 2, 8), is_workday=True)

    with pytest.raises(IntegrityError), transaction.atomic():
        rows_save(update=(region, ["name"]), inserts=[duplicate])

    assert Region.objects.get(pk=region.pk).name == "西湖区"
    assert WorkdayOverride.objects.count() == 1


def test_with_save_receivers_every_row_is_saved_so_that_they_run(region):
    seen = []

    def receiver(sender, instance, **kwargs):
        seen.append((sender.__name__, kwargs.get("update_fields")))

    signals.post_save.connect(receiver, sender=SmsOutboxMessage)
    try:
        region.name = "西湖区（测试）"
        with CaptureQueriesContext(connection) as queries:
            rows_save(
                update=(region, ["name"]),
                inserts=[SmsOutboxMessage(phone="13800000011", body="一")],
            )
    finally:
        signals.post_save.disconnect(receiver, sender=SmsOutboxMessage)

    assert len(queries.captured_queries) == 2
    assert seen == [("SmsOutboxMessage", None)]
    assert Region.objects.get(pk=region.pk).name == "西湖区（测试）"


def test_misuse_is_refused_before_anything_is_written(region):
    saved = SmsOutboxMessage.objects.create(phone="13800000011", body="一")
    region.name = "不应写入"

    with pytest.raises(ValueError, match="new rows only"):
        rows_save(update=(region, ["name"]), inserts=[saved])
    with pytest.raises(ValueError, match="no such fields"):
        rows_save(update=(region, ["name", "nonexistent"]))

    assert Region.objects.get(pk=region.pk).name == "西湖区"
    assert SmsOutboxMessage.objects.count() == 1
