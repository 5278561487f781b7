"""The filter that keeps personal identifiers out of log lines, as settings configure it."""

from __future__ import annotations

import io
import logging

import pytest
from django.conf import settings

from yiwang.core.logging import RedactPersonalDataFilter

ID_NUMBER = "33010619900101123X"
PHONE = "13800138000"


@pytest.fixture
def console():
    """The console handler that settings.LOGGING puts on the root logger, writing to a buffer."""
    handler = next(h for h in logging.getLogger().handlers if h.get_name() == "console")
    buffer = io.StringIO()
    old_stream = handler.setStream(buffer)
    yield buffer
    handler.setStream(old_stream)


@pytest.fixture
def logger():
    logger = logging.getLogger("yiwang.tests.logging")
    logger.setLevel(logging.INFO)
    yield logger
    logger.setLevel(logging.NOTSET)


def _line(buffer: io.StringIO) -> str:
    # Drop the time and level: "%(asctime)s %(levelname)s %(name)s %(message)s".
    return buffer.getvalue().split(" yiwang.tests.logging ", 1)[1]


def test_settings_put_the_filter_on_the_console_handler():
    assert settings.LOGGING["filters"]["redact_personal"] == {
        "()": "yiwang.core.logging.RedactPersonalDataFilter"
    }
    assert settings.LOGGING["handlers"]["console"]["filters"] == ["redact_personal"]
    handler = next(h for h in logging.getLogger().handlers if h.get_name() == "console")
    assert [type(f) for f in handler.filters] == [RedactPersonalDataFilter]


def test_identifiers_in_the_arguments_are_masked(console, logger):
    logger.info("person %s with phone %s verified", ID_NUMBER, PHONE)

    assert _line(console) == "person 3301**********123X with phone 138****8000 verified\n"


def test_identifiers_in_the_message_itself_are_masked(console, logger):
    logger.warning(f"lookup failed for {ID_NUMBER}")

    assert _line(console) == "lookup failed for 3301**********123X\n"


def test_identifiers_in_mapping_arguments_are_masked(console, logger):
    logger.info("sms to %(phone)s", {"phone": PHONE})

    assert _line(console) == "sms to 138****8000\n"


def test_identifiers_in_a_message_that_is_not_text_are_masked(console, logger):
    logger.info({"phone": PHONE})

    assert _line(console) == "{'phone': '138****8000'}\n"


def test_identifiers_in_the_exception_text_are_masked(console, logger):
    try:
        raise ValueError(f"no person {ID_NUMBER}")
    except ValueError:
        logger.exception("import failed for %s", PHONE)

    output = console.getvalue()
    assert "import failed for 138****8000\nTraceback (most recent call last):" in output
    assert output.endswith("ValueError: no person 3301**********123X\n")
    assert ID_NUMBER not in output
    assert PHONE not in output


def test_a_line_without_identifiers_keeps_its_arguments():
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "%s items", (3,), None)

    assert RedactPersonalDataFilter().filter(record) is True
    assert (record.msg, record.args) == ("%s items", (3,))


def test_a_call_whose_arguments_do_not_fit_is_logged_masked_and_does_not_raise(console, logger):
    logger.info("person %s phone %s", ID_NUMBER)

    assert _line(console) == "person %s phone %s ('3301**********123X',)\n"
