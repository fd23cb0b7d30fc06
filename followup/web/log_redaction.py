"""Link tokens kept out of the logs: the token of a survey (/s/<token>) or unsubscribe
(/u/<token>) URL opens that customer's page, so every record of the loggers that write URLs
(the app's own, werkzeug's development server, gunicorn's error and access logs, whatever
format or handler they are given) says /s/[redacted] instead, in its message, its referrer
and its traceback."""

import logging
import re
import traceback

from flask import Flask

TOKEN_IN_PATH = re.compile(r"(/[su]/)[^/\s?#\"'<>]+")
REDACTED = r"\1[redacted]"
URL_LOGGERS = ("werkzeug", "gunicorn.error", "gunicorn.access")


def redact(text: str) -> str:
    return TOKEN_IN_PATH.sub(REDACTED, text)


class RedactLinkTokens(logging.Filter):
    """Rewrites a record in place before any handler formats it."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a bad format: logging reports it at the handler
            return True
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, ()
        if record.exc_info and not record.exc_text:
            record.exc_text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


def install_log_redaction(app: Flask) -> None:
    """On the app's logger and the servers' (once per logger, however many apps are made).
    A logger's filter sees every record logged there, before its handlers, whichever they are."""
    for logger in (app.logger, *map(logging.getLogger, URL_LOGGERS)):
        if not any(isinstance(f, RedactLinkTokens) for f in logger.filters):
            logger.addFilter(RedactLinkTokens())
