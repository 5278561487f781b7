"""Logging filter that keeps personal identifiers out of every log record."""

from __future__ import annotations

import logging

from yiwang.core.masking import redact_text


class RedactPersonalDataFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
            formatted = True
        except Exception:
            # A logging call whose arguments do not fit its format: a filter that raised
            # would break the caller, and logging's own error report prints the raw args.
            message = _unformatted_message(record)
            formatted = False
        redacted = redact_text(message)
        if redacted != message or not formatted:
            record.msg = redacted
            record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact_text(record.exc_text)
        return True


def _unformatted_message(record: logging.LogRecord) -> str:
    try:
        return f"{record.msg} {record.args!r}"
    except Exception:
        return "<log message that could not be formatted>"
