from __future__ import annotations

import itertools

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from yiwang.exchange.log import LogEntry, log_append, log_checkpoint, log_verify, record_hash
from yiwang.exchange.models import (
    GENESIS_HASH,
    ExchangeLogCheckpoint,
    ExchangeLogHead,
    ExchangeLogRecord,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _key(settings, tmp_path):
    settings.EXCHANGE_LOG_KEY_FILE = tmp_path / "keys" / "log.pem"
    settings.EXCHANGE_LOG_CHECKPOINT_EVERY = 1000


def entry(n: int) -> LogEntry:
    return LogEntry(
        request_id=f"req-{n}",
        consumer="330106-GA/household-system",
        provider="330100-WJ",
        service="birth-medical-record",
        purpose="出生登记",
        request_digest=f"{n:064x}",
        outcome="ok",
        status_code=200,
    )


@pytest.fixture
def ten():
    return [log_append(entry(n)) for n in range(1, 11)]


def kinds(result):
    return [(f.kind, f.seq) for f in result.findings]


def test_records_are_numbered_and_chained_from_the_genesis_hash(ten):
    assert [r.seq for r in ten] == list(range(1, 11))
    assert ten[0].prev_hash == GENESIS_HASH
    assert all(b.prev_hash == a.record_hash for a, b in itertools.pairwise(ten))
    head = ExchangeLogHead.objects.get()
    assert (head.seq, head.record_hash) == (10, ten[-1].record_hash)


def test_an_intact_log_verifies_with_its_checkpoint(ten):
    checkpoint = log_checkpoint()

    result = log_verify()

    assert checkpoint.seq == 10
    assert result.ok
    assert (result.records, result.checkpoints, result.last_checkpoint_seq) == (10, 1, 10)
    assert log_checkpoint() is None  # nothing new to sign


def test_an_altered_record_is_named(ten):
    ExchangeLogRecord.objects.filter(seq=4).update(purpose="别的用途")

    assert kinds(log_verify()) == [("altered", 4)]


def test_a_deleted_record_is_named(ten):
    ExchangeLogRecord.objects.filter(seq=5).delete()

    result = log_verify()

    assert kinds(result) == [("deleted", 6)]
    assert "#5–#5" in result.findings[0].message


def test_a_deleted_record_is_found_even_when_the_numbers_are_closed_up(ten):
    ExchangeLogRecord.objects.filter(seq=5).delete()
    for seq in range(6, 11):
        ExchangeLogRecord.objects.filter(seq=seq).update(seq=seq - 1)

    assert kinds(log_verify()) == [("deleted", 5)]


def test_an_inserted_record_is_named(ten):
    # Make room at #6 and slip in a well-formed record that links to #5.
    for seq in range(10, 5, -1):
        ExchangeLogRecord.objects.filter(seq=seq).update(seq=seq + 1)
    fifth = ExchangeLogRecord.objects.get(seq=5)
    forged = entry(99)
    values = {**forged.__dict__, "created_at": fifth.created_at}
    from yiwang.exchange.log import HASHED_FIELDS

    digest = record_hash(fifth.record_hash, tuple(values[name] for name in HASHED_FIELDS))
    ExchangeLogRecord.objects.create(
        seq=6, prev_hash=fifth.record_hash, record_hash=digest, **values
    )

    assert kinds(log_verify()) == [("inserted", 6)]


def test_reordered_records_are_named(ten):
    ExchangeLogRecord.objects.filter(seq=6).update(seq=100)
    ExchangeLogRecord.objects.filter(seq=7).update(seq=6)
    ExchangeLogRecord.objects.filter(seq=100).update(seq=7)

    result = log_verify()

    assert ("reordered", 6) in kinds(result)
    assert {f.kind for f in result.findings} == {"reordered"}


def test_a_rewritten_chain_is_caught_by_the_signed_checkpoint(ten):
    log_checkpoint()
    # Alter #3 and recompute every hash after it: the chain is consistent again.
    ExchangeLogRecord.objects.filter(seq=3).update(purpose="篡改")
    from yiwang.exchange.log import HASHED_FIELDS

    previous = ExchangeLogRecord.objects.get(seq=2).record_hash
    for record in ExchangeLogRecord.objects.filter(seq__gte=3).order_by("seq"):
        values = tuple(getattr(record, name) for name in HASHED_FIELDS)
        record.prev_hash = previous
        record.record_hash = previous = record_hash(previous, values)
        record.save()

    assert kinds(log_verify()) == [("checkpoint", 10)]


def test_a_forged_checkpoint_signature_is_refused(ten):
    checkpoint = log_checkpoint()
    ExchangeLogCheckpoint.objects.filter(pk=checkpoint.pk).update(signature="AAAA")

    assert kinds(log_verify()) == [("checkpoint", 10)]


def test_the_head_is_signed_every_n_records(settings):
    settings.EXCHANGE_LOG_CHECKPOINT_EVERY = 3
    for n in range(7):
        log_append(entry(n))

    assert list(ExchangeLogCheckpoint.objects.values_list("seq", flat=True)) == [3, 6]


def test_the_command_reports_an_intact_log_and_fails_on_tampering(ten, capsys):
    call_command("exchange_log_verify")
    assert "The exchange log is intact." in capsys.readouterr().out

    ExchangeLogRecord.objects.filter(seq=2).update(outcome="Server.Forged")
    with pytest.raises(CommandError, match="NOT intact"):
        call_command("exchange_log_verify")
    assert "ALTERED" in capsys.readouterr().err


def test_the_seal_command_signs_the_head(ten, capsys):
    call_command("exchange_log_seal")

    assert "#10" in capsys.readouterr().out
    assert ExchangeLogCheckpoint.objects.get().seq == 10
