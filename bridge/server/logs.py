"""Structured server logs: one JSON object per line on stderr, carrying `job_id` (and any other
`extra=` fields) so a log pipeline can follow one job across the server and its worker."""

from __future__ import annotations

import json
import logging
import multiprocessing as mp
import sys
import time

# Attributes every LogRecord has; anything else was passed with `extra=` and is logged as a field.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update({k: v for k, v in vars(record).items() if k not in _STANDARD})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:  # formatted where it was raised: a worker process (`forward_to`)
            entry["exception"] = record.exc_text
        return json.dumps(entry, default=str)


def configure(fmt: str = "json", level: int = logging.INFO) -> None:
    """`json` (default, for production) or `text` (for reading in a terminal)."""
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


def job(job_id: str, **fields: object) -> dict[str, object]:
    """`extra=` for a log call about one job: `log.info("...", extra=logs.job(job_id))`."""
    return {"job_id": job_id, **fields}


class _Forward(logging.Handler):
    """A worker process's log handler: each record goes to the server over the job's queue as
    ("log", fields), message and traceback already formatted, so any value pickles."""

    def __init__(self, queue: mp.Queue, job_id: str) -> None:
        super().__init__()
        self.queue, self.job_id = queue, job_id

    def emit(self, record: logging.LogRecord) -> None:
        try:
            fields = {k: v if isinstance(v, _PLAIN) else str(v) for k, v in vars(record).items()}
            fields.update(msg=record.getMessage(), args=None, exc_info=None)
            if record.exc_info:
                fields["exc_text"] = logging.Formatter().formatException(record.exc_info)
            fields.setdefault("job_id", self.job_id)
            self.queue.put(("log", fields))
        except Exception:
            self.handleError(record)


_PLAIN = (str, int, float, bool, type(None))


def forward_to(queue: mp.Queue, job_id: str) -> logging.Handler:
    """In a worker process: sends every log record (WARNING and up, the default level) to the
    server, which writes it with `replay`; returns the handler, for removal before the queue
    closes."""
    handler = _Forward(queue, job_id)
    logging.getLogger().handlers[:] = [handler]
    return handler


def replay(fields: dict) -> None:
    """In the server: a worker's record (see `forward_to`), through the server's handlers."""
    record = logging.makeLogRecord(fields)
    logger = logging.getLogger(record.name)
    if logger.isEnabledFor(record.levelno):
        logger.handle(record)
