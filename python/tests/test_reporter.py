"""Delivering reports: in order, from the background or at once, never failing the caller."""

from __future__ import annotations

import logging
import socket
import threading
import time
from typing import List, Optional, Tuple

import pytest

from support.capture import FakeExtension
from support.ports import reserved_port

from lambda_graceful_shutdown import report as r
from lambda_graceful_shutdown import reporter as reporter_module
from lambda_graceful_shutdown.reporter import NOW_TIMEOUT_S, Link, Reporter, parse_status


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
    with reserved_port() as port, caplog.at_level(logging.DEBUG, logger="lambda_graceful_shutdown"):
        # A port held for this test, that nobody listens on.
        reporter = Reporter.to_extension(port, "s")
        for i in range(10):
            reporter.send(r.started(f"h{i}", i))
        assert not reporter.send_now(r.started("now", 10), 5), "refused: left to the thread"
        assert reporter.flush(5)
        assert reporter.all_written(), "failed for good counts as done"
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


class Gated(Link):
    """Records each report as it is written (and by which thread) and as it is
    answered; answers wait at ``gate``; writes on the handlers' path fail if
    ``fail_now``."""

    def __init__(self, fail_now: bool = False) -> None:
        self.gate = threading.Event()
        self.answering = threading.Event()
        self.fail_now = fail_now
        self.opened: List[Tuple[str, str]] = []
        self.answered: List[str] = []

    def open(self, report: r.Report, timeout_s: float) -> Optional[socket.socket]:
        if self.fail_now and timeout_s == NOW_TIMEOUT_S:
            raise OSError("refused on the handlers' path")
        self.opened.append((report["handler"], threading.current_thread().name))
        return None

    def answer(self, report: r.Report, stream: Optional[socket.socket]) -> None:
        self.answering.set()
        assert self.gate.wait(10), "the test never opened the gate"
        self.answered.append(report["handler"])


def test_an_answer_that_is_slow_to_come_never_holds_up_send_now() -> None:
    # The sending thread has written `a` and waits for its answer (which needs
    # the extension's CPU time): the ordering lock is free, send_now writes at once.
    link = Gated()
    reporter = Reporter(link)
    reporter.send(r.started("a", 0))
    assert link.answering.wait(10), "the thread reads a's answer"
    reporter.send(r.started("b", 1))
    assert reporter.send_now(r.started("c", 2), 1), "written while a's answer is still awaited"
    reporter.send(r.started("d", 3))
    assert reporter.send_now(r.started("e", 4), 1)
    assert reporter.all_written() and not reporter.flush(0.01), "written, not answered yet"
    here = threading.current_thread().name
    assert link.opened == [("a", "graceful-shutdown-report"), ("b", here), ("c", here), ("d", here), ("e", here)]
    link.gate.set()
    assert reporter.flush(10)
    assert link.answered == ["a", "b", "c", "d", "e"], "answers are read in queue order"


def test_send_now_falls_back_to_the_queue_and_keeps_the_order() -> None:
    link = Gated(fail_now=True)
    link.gate.set()
    reporter = Reporter(link)
    reporter.send(r.started("a", 0))
    assert not reporter.send_now(r.started("b", 1), 1), "the write failed: left to the thread"
    reporter.send(r.started("c", 2))
    assert reporter.flush(10)
    assert [name for name, _ in link.opened] == ["a", "b", "c"]
    assert {thread for _, thread in link.opened} == {"graceful-shutdown-report"}


class LateExtension(threading.Thread):
    """Accepts and reads two report connections, and answers both only once told."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port: int = self.server.getsockname()[1]
        self.requests: List[bytes] = []
        self.read_one = threading.Event()
        self.answer = threading.Event()
        self.done = threading.Event()
        self.error: Optional[BaseException] = None

    def run(self) -> None:
        conns = []
        try:
            self.server.settimeout(10)
            for _ in range(2):
                conn, _ = self.server.accept()
                conns.append(conn)
                conn.settimeout(10)
                data = b""
                while not data.endswith(b"}"):
                    chunk = conn.recv(4096)
                    assert chunk, "the connection ended before the request did"
                    data += chunk
                self.requests.append(data)
                self.read_one.set()
            assert self.answer.wait(10), "the test never said to answer"
            for conn in conns:
                conn.sendall(b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n")
        except BaseException as e:
            self.error = e
        finally:
            for conn in conns:
                conn.close()
            self.server.close()
            self.done.set()


def test_an_extension_that_reads_but_answers_late_does_not_delay_send_now(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    # The answer may take its time (the sending thread waits for it up to 10 s here).
    monkeypatch.setattr(reporter_module, "IO_TIMEOUT_S", 10.0)
    extension = LateExtension()
    extension.start()
    reporter = Reporter.to_extension(extension.port, "abc123")
    first, now = r.shutdown_started("SIGTERM"), r.started("flush", 0)
    with caplog.at_level(logging.WARNING, logger="lambda_graceful_shutdown"):
        reporter.send(first)
        assert extension.read_one.wait(10), extension.error
        # The first request is read, its answer held back: send_now does not wait for it.
        assert reporter.send_now(now, 1), "written without waiting for the earlier answer"
        assert extension.done.wait(0) is False and not extension.answer.is_set()
        extension.answer.set()
        assert extension.done.wait(10) and extension.error is None, extension.error
        assert reporter.flush(10)
    assert extension.requests == [r.encode_request(extension.port, "abc123", rep) for rep in (first, now)]
    assert [x.getMessage() for x in caplog.records] == [], "both answered 202, late"


def test_send_now_has_written_the_report_when_it_returns() -> None:
    # Nothing is accepted until send_now has returned, and nothing is answered:
    # both requests are in the kernel's buffers all the same, the queued one first.
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(10)
    port = server.getsockname()[1]
    with server:
        reporter = Reporter.to_extension(port, "abc123")
        earlier, now = r.shutdown_started("SIGTERM"), r.started("flush", 0)
        reporter.send(earlier)
        assert reporter.send_now(now, 5)
        got = []
        for _ in range(2):
            conn, _ = server.accept()
            with conn:
                conn.settimeout(10)
                data = b""
                while not data.endswith(b"}"):
                    chunk = conn.recv(4096)
                    assert chunk, data
                    data += chunk
                got.append(data)
    assert got == [r.encode_request(port, "abc123", rep) for rep in (earlier, now)]


def test_a_report_that_missed_the_lock_is_written_right_after_the_one_holding_it() -> None:
    # The sending thread holds the ordering lock while it writes `a` (stuck, as
    # when the CPU quota runs out); send_now(b) gives up on the lock. Once `a`
    # is written, `b` is written too, before the thread reads a's answer.
    entered, release = threading.Event(), threading.Event()
    events: List[str] = []

    class Stuck(Link):
        def open(self, report: r.Report, timeout_s: float) -> Optional[socket.socket]:
            if report["handler"] == "a":
                entered.set()
                assert release.wait(10), "the test never released the write"
            events.append(f"write {report['handler']}")
            return None

        def answer(self, report: r.Report, stream: Optional[socket.socket]) -> None:
            events.append(f"answer {report['handler']}")

    reporter = Reporter(Stuck())
    reporter.send(r.started("a", 0))
    assert entered.wait(10)
    assert not reporter.send_now(r.started("b", 1), 0.01), "the lock is held"
    release.set()
    assert reporter.flush(10)
    assert events == ["write a", "write b", "answer a", "answer b"]
