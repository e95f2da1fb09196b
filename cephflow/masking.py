"""Secrets masked by value: every occurrence of a secret in shown text becomes ``***``.

A runbook param declared ``secret: true`` (and a task argument the task types ``SecretStr``)
reaches the task in clear: the task needs it. What cephflow *shows or stores for display* of
that step (progress lines, details, errors, events, facts, results, the worker's log) goes
through a ``Masker`` first, as CI systems mask a secret's value in every log line. What a task
deliberately sends elsewhere (a notification's text to its channel, a password to a server)
is not masked: masking is about cephflow's own outputs, not the task's side effects.

Values shorter than ``MIN_LENGTH`` (after stripping blanks) are never masked: masking ``ab``
would wreck every text and hide nothing. A value is also masked in the forms JSON gives it
(escaped quotes and backslashes, ``\\uXXXX``), so a secret inside stored JSON text is found.
Occurrences that overlap (two secrets sharing characters) are masked as one ``***``.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import OrderedDict
from collections.abc import Iterable
from typing import Any

MASK = "***"
"""What a secret's value is replaced with."""
MIN_LENGTH = 3
"""Shortest value (blanks stripped) that is masked."""


class Masker:
    """Masks a fixed set of secret values in text and in JSON-able values."""

    def __init__(self, secrets: Iterable[str] = ()):
        forms: set[str] = set()
        for value in secrets:
            if not isinstance(value, str) or len(value.strip()) < MIN_LENGTH:
                continue
            forms.add(value)
            forms.add(json.dumps(value)[1:-1])
            forms.add(json.dumps(value, ensure_ascii=False)[1:-1])
        self._forms = tuple(sorted(forms, key=len, reverse=True))

    def __bool__(self) -> bool:
        return bool(self._forms)

    def __repr__(self) -> str:  # never the values
        return f"Masker({len(self._forms)} forms)"

    def text(self, text: str) -> str:
        """``text`` with every occurrence of a secret (overlapping ones merged) as ``***``."""
        if not self._forms or not text:
            return text
        spans: list[tuple[int, int]] = []
        for form in self._forms:
            start = text.find(form)
            while start != -1:
                spans.append((start, start + len(form)))
                start = text.find(form, start + 1)
        if not spans:
            return text
        spans.sort()
        out: list[str] = []
        end = -1
        for s, e in spans:
            if s > end:  # a new run of masked characters begins
                if end >= 0:
                    out.append(MASK)
                out.append(text[max(end, 0):s])
            end = max(end, e)
        out.append(MASK)
        out.append(text[end:])
        return "".join(out)

    def value(self, value: Any) -> Any:
        """A JSON-able value with every string in it (keys too) masked; others unchanged."""
        if not self._forms:
            return value
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {self.value(k): self.value(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.value(v) for v in value]
        return value


def mask(text: str, secrets: Iterable[str]) -> str:
    """``text`` with ``secrets`` masked (one-off; build a ``Masker`` to mask often)."""
    return Masker(secrets).text(text)


class LogMasking:
    """The secrets of the workflows this process ran lately, masked in every log record.

    Installed as the logging record factory, so it covers every logger and handler of the
    process (a task's own logger, Celery's, libraries'), whoever configured them. A record's
    message is formatted and masked when it is made, and so is its traceback text.
    """

    KEEP = 1000
    """Workflows whose secrets are kept (the most recently registered)."""

    def __init__(self) -> None:
        self._by_workflow: OrderedDict[str, frozenset[str]] = OrderedDict()
        self._lock = threading.Lock()
        self.masker = Masker()
        self._installed = False

    def register(self, workflow_id: str, secrets: Iterable[str]) -> None:
        """Mask ``secrets`` in this process's log records from now on."""
        values = frozenset(secrets)
        if not values:
            return
        with self._lock:
            if self._by_workflow.get(workflow_id) == values:
                self._by_workflow.move_to_end(workflow_id)
                return
            self._by_workflow[workflow_id] = values
            self._by_workflow.move_to_end(workflow_id)
            while len(self._by_workflow) > self.KEEP:
                self._by_workflow.popitem(last=False)
            self.masker = Masker(v for vs in self._by_workflow.values() for v in vs)

    def install(self) -> None:
        """Wrap the process's log record factory (once)."""
        with self._lock:
            if self._installed:
                return
            self._installed = True
        made = logging.getLogRecordFactory()

        def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = made(*args, **kwargs)
            masker = self.masker
            if masker:
                _mask_record(record, masker)
            return record

        logging.setLogRecordFactory(factory)


def _mask_record(record: logging.LogRecord, masker: Masker) -> None:
    try:
        message = record.getMessage()
    except Exception:  # noqa: BLE001 - a bad format string: keep what there is, masked
        message = f"{record.msg} {record.args!r}"
    record.msg, record.args = masker.text(message), None
    if record.exc_info and not record.exc_text:
        record.exc_text = masker.text(logging.Formatter().formatException(record.exc_info))
    if record.stack_info:
        record.stack_info = masker.text(record.stack_info)


LOG_MASKING = LogMasking()
"""This process's log masking (the worker installs it and registers each workflow it runs)."""
