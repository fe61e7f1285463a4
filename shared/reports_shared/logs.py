"""Structured logging set up once per process: one event per thing that happened."""

from __future__ import annotations

import logging
import sys

import structlog


def configure_logging(level: str = "INFO", fmt: str = "json") -> None:
    """Send structlog and stdlib logging to stdout as JSON lines (or console text).

    Tracebacks never show local variables, in either format: a frame's locals hold
    settings, credentials and clients (rich, which the console renderer would use when
    installed, shows them by default).
    """
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(
            colors=False, exception_formatter=structlog.dev.plain_traceback
        )
    )
    shared: list[structlog.typing.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[*shared, structlog.processors.format_exc_info, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        logger_factory=structlog.PrintLoggerFactory(sys.stdout),
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
            foreign_pre_chain=[*shared, structlog.stdlib.add_logger_name],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # pika logs every reconnect attempt at INFO/WARNING with tracebacks: keep it quiet.
    logging.getLogger("pika").setLevel(logging.ERROR)
    for name in _LOST_CONNECTION_LOGGERS:
        pika_logger = logging.getLogger(name)
        if not any(isinstance(f, QuietLostConnections) for f in pika_logger.filters):
            pika_logger.addFilter(QuietLostConnections())


#: pika's loggers that each log one connection's loss, as an error with a traceback.
_LOST_CONNECTION_LOGGERS = (
    "pika.adapters.utils.io_services_utils",
    "pika.adapters.base_connection",
    "pika.adapters.blocking_connection",
)
#: What they say then (their format strings' beginnings).
_LOST_CONNECTION_DETAILS = ("connection_lost", "Transport indicated EOF", "Socket EOF")


class QuietLostConnections(logging.Filter):
    """A RabbitMQ connection lost is one warning line, without a traceback, not pika's three
    errors with two tracebacks: RabbitMQ drops a connection idle past its heartbeats, and its
    next use opens another (dramatiq retries the publish) and succeeds."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = str(record.msg)
        if message.startswith("Unexpected connection close detected"):
            record.msg = "rabbitmq_connection_lost: %r; the next use reconnects"
            record.levelno, record.levelname = logging.WARNING, "WARNING"
            record.exc_info, record.exc_text = None, None
            return True
        return not (
            "aborting connection" in message or message.startswith(_LOST_CONNECTION_DETAILS)
        )
