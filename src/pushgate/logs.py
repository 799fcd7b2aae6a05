"""How pushgate writes its log: plain text lines, or one JSON object a line
(``log_format``; docs/operations.md, "Logs").

The lines an operator acts on carry their facts twice: in the message, for a person
reading text, and as fields of the record (``extra=``), which the JSON format writes as
members of the object, so a log pipeline needs no parsing of sentences.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any, Literal

import orjson

LogFormat = Literal["text", "json"]
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# What every record has; anything else on a record was given as ``extra=``. uvicorn adds
# ``color_message``, its message with terminal colour codes: not for a log pipeline.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "color_message",
}


class JsonFormatter(logging.Formatter):
    """One JSON object per record: ``time`` (UTC, ISO 8601, milliseconds), ``level``,
    ``logger``, ``message``, the record's extra fields, and ``exception`` (the formatted
    traceback) when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        # ``default=str``: a field that is not JSON (an exception, a path) is written as text.
        return orjson.dumps(entry, default=str).decode()


def formatter(log_format: LogFormat) -> logging.Formatter:
    match log_format:
        case "json":
            return JsonFormatter()
        case "text":
            return logging.Formatter(TEXT_FORMAT)


def configure(level: str, log_format: LogFormat) -> None:
    """Send the root logger's records to standard error in ``log_format``, from ``level``
    up. uvicorn's loggers are left to pass their records up to it (``server_config``), so
    every line of the process has the one format."""
    handler = logging.StreamHandler()
    handler.setFormatter(formatter(log_format))
    logging.basicConfig(level=level.upper(), handlers=[handler])
