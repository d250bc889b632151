"""Delivering reports: in order, from the background or at once, never failing the caller."""

from __future__ import annotations

import logging
import socket
import threading
import time
from typing import List

import pytest

from support.capture import FakeExtension

from lambda_graceful_shutdown import report as r
from lambda_graceful_shutdown.reporter import Reporter, parse_status


def test_status_lines() -> None:
    assert parse_status(b"HTTP/1.1 202 Accepted\r\n") == 202
    assert parse_status(b"HTTP/1.0 401 Unauthorized\r\n\r\n") == 401
    assert parse_status(b"SSH-2.0\r\n") is None
    assert parse_status(b"") is None


def test_sends_the_exact_protocol_bytes_in_order() -> None:
    extension = FakeExtension(expect=3)
    extension.start()
    reporter = Reporter.to_extension(extension.port, "abc123")
    reports = [r.shutdown_started("SIGTERM"), r.started("flush", 0), r.finished("flush", 0, 3)]
    reporter.send(reports[0])
    assert reporter.send_now(reports[1], 5)
    reporter.send(reports[2])
    assert reporter.flush(5)
    assert extension.done.wait(10), extension.error
    assert extension.requests == [r.encode_request(extension.port, "abc123", rep) for rep in reports]


def test_queueing_never_waits_for_the_delivery() -> None:
    gate = threading.Event()
    entered = threading.Event()
    delivered: List[r.Report] = []

    def deliver(report: r.Report) -> None:
        entered.set()
        gate.wait(10)
        delivered.append(report)

    reporter = Reporter(deliver)
    reports = [r.started(f"h{i}", i) for i in range(10)]
    reporter.send(reports[0])
    assert entered.wait(5), "the background thread is delivering the first report"
    began = time.monotonic()
    for report in reports[1:]:
        reporter.send(report)
    assert time.monotonic() - began < 0.5
    assert delivered == []
    assert not reporter.flush(0.01), "still queued"
    assert not reporter.send_now(r.all_done(0, 0, 0, 0), 0.01), "send_now is bounded too"
    gate.set()
    assert reporter.flush(10)
    assert delivered == reports + [r.all_done(0, 0, 0, 0)]


def test_send_now_delivers_from_the_calling_thread_in_order() -> None:
    seen: List[str] = []
    reporter = Reporter(lambda rep: seen.append(f"{threading.current_thread().name}:{rep['type']}"))
    assert reporter.flush(5)
    assert reporter.send_now(r.shutdown_started("SIGTERM"), 5)
    assert seen[-1].endswith(":shutdownStarted")


def test_an_absent_extension_costs_nothing_and_breaks_nothing(caplog: pytest.LogCaptureFixture) -> None:
    # A port nobody listens on: this test's own listener, closed.
    with socket.create_server(("127.0.0.1", 0)) as s:
        port = s.getsockname()[1]
    reporter = Reporter.to_extension(port, "s")
    with caplog.at_level(logging.DEBUG, logger="lambda_graceful_shutdown"):
        for i in range(10):
            reporter.send(r.started(f"h{i}", i))
        assert reporter.flush(5)
    warnings = [x for x in caplog.records if x.levelno == logging.WARNING]
    assert len(warnings) == 1, "one warning, then quiet"
    assert f"cannot report to the extension on 127.0.0.1:{port}" in warnings[0].getMessage()
    assert Reporter.disabled().flush(0) and Reporter.disabled().send_now(r.started("x", 0))


def test_a_refused_report_is_logged_once_with_the_status(caplog: pytest.LogCaptureFixture) -> None:
    extension = FakeExtension(status=401, expect=2)
    extension.start()
    reporter = Reporter.to_extension(extension.port, "wrong")
    with caplog.at_level(logging.WARNING, logger="lambda_graceful_shutdown"):
        reporter.send(r.started("a", 0))
        reporter.send(r.started("b", 1))
        assert reporter.flush(5)
    messages = [x.getMessage() for x in caplog.records]
    assert len(messages) == 1 and "answered 401" in messages[0], messages
