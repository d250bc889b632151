"""Delivering reports to the extension, in order, never holding up a handler for long.

Reports are queued and sent one connection each, in queue order, by a daemon
thread. :meth:`Reporter.send_now` also delivers from the calling thread
(everything queued before it first, so the order holds) with a tiny bound:
the shutdown thread uses it for ``shutdownStarted`` and ``started``, so that
a handler cut off by Lambda's SIGKILL is still known to have been running
even when the CPU is too starved for the background thread to get a turn.
"""

from __future__ import annotations

import collections
import socket
import threading
import time
from typing import Callable, Deque, Optional, Tuple

from . import _log
from .report import Report, encode_request

#: Per-report limits: loopback answers in well under a millisecond, so these
#: only bound the damage of a wedged extension.
CONNECT_TIMEOUT_S = 0.020
IO_TIMEOUT_S = 0.020

Deliver = Callable[[Report], None]


class Reporter:
    """Where reports go: to the extension, or nowhere when it is not attached."""

    def __init__(self, deliver: Optional[Deliver]) -> None:
        self._deliver = deliver
        self._pending: Deque[Tuple[int, Report]] = collections.deque()
        self._cond = threading.Condition()
        self._delivery = threading.Lock()
        self._queued = 0
        self._delivered = 0
        self._thread: Optional[threading.Thread] = None
        if deliver is not None:
            self._thread = threading.Thread(
                target=self._work, name="graceful-shutdown-report", daemon=True
            )
            self._thread.start()

    @staticmethod
    def disabled() -> "Reporter":
        return Reporter(None)

    @staticmethod
    def to_extension(port: int, secret: str, worker: Optional[str] = None) -> "Reporter":
        return Reporter(_Sender(port, secret, worker).send)

    @property
    def enabled(self) -> bool:
        return self._deliver is not None

    def send(self, report: Report) -> None:
        """Queue a report. Never blocks on the network, never raises."""
        self._enqueue(report)

    def send_now(self, report: Report, limit_s: float = 0.05) -> bool:
        """Queue ``report`` and deliver it (and all before it) from this thread,
        waiting at most ``limit_s``. Returns whether it went out in time."""
        seq = self._enqueue(report)
        return self._drain_until(seq, time.monotonic() + limit_s)

    def flush(self, limit_s: float) -> bool:
        """Deliver everything queued so far within ``limit_s``; whether it all went out."""
        with self._cond:
            seq = self._queued
        return self._drain_until(seq, time.monotonic() + limit_s)

    # -- internals

    def _enqueue(self, report: Report) -> int:
        if self._deliver is None:
            return 0
        with self._cond:
            self._queued += 1
            self._pending.append((self._queued, report))
            self._cond.notify_all()
            return self._queued

    def _drain_until(self, seq: int, deadline: float) -> bool:
        if self._deliver is None:
            return True
        while True:
            with self._cond:
                if self._delivered >= seq:
                    return True
            left = deadline - time.monotonic()
            if left <= 0 or not self._delivery.acquire(timeout=left):
                with self._cond:
                    return self._delivered >= seq
            try:
                self._deliver_one()
            finally:
                self._delivery.release()

    def _deliver_one(self) -> None:
        """Deliver the oldest queued report; the caller holds the delivery lock."""
        with self._cond:
            if not self._pending:
                return
            seq, report = self._pending.popleft()
        try:
            assert self._deliver is not None
            self._deliver(report)
        except Exception as e:  # delivery must never break the caller
            _log.debug(f"graceful-shutdown: report not delivered: {e}")
        with self._cond:
            self._delivered = seq
            self._cond.notify_all()

    def _work(self) -> None:
        while True:
            with self._cond:
                while not self._pending:
                    self._cond.wait()
            with self._delivery:
                self._deliver_one()


class _Sender:
    """One connection per report to ``127.0.0.1:port``; one warning if it fails."""

    def __init__(self, port: int, secret: str, worker: Optional[str]) -> None:
        self.port = port
        self.secret = secret
        self.worker = worker
        self.warned = False

    def send(self, report: Report) -> None:
        try:
            status = self.exchange(report)
            if status is None:
                raise OSError("the answer is not HTTP")
        except OSError as e:
            self.complain(f"cannot report to the extension on 127.0.0.1:{self.port}: {e}")
            return
        if status == 202:
            _log.debug(f"graceful-shutdown: report accepted: {report.get('type')}")
        else:
            self.complain(
                f"the extension on 127.0.0.1:{self.port} answered {status} to a report "
                "(401: the secret does not match)"
            )

    def complain(self, message: str) -> None:
        if self.warned:
            _log.debug(f"graceful-shutdown: {message}")
        else:
            self.warned = True
            _log.warning(
                f"graceful-shutdown: {message}; the handlers still run, "
                "the extension's verdict may be incomplete"
            )

    def exchange(self, report: Report) -> Optional[int]:
        request = encode_request(self.port, self.secret, report, self.worker)
        with socket.create_connection(("127.0.0.1", self.port), timeout=CONNECT_TIMEOUT_S) as s:
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            s.settimeout(IO_TIMEOUT_S)
            s.sendall(request)
            # Wait for the status line so that reports arrive, and are stored, in order.
            answer = b""
            while len(answer) < 64 and b"\n" not in answer:
                chunk = s.recv(64 - len(answer))
                if not chunk:
                    break
                answer += chunk
        return parse_status(answer)


def parse_status(answer: bytes) -> Optional[int]:
    """The status code of an HTTP/1.x status line, or None."""
    try:
        line = answer.decode("ascii").splitlines()[0]
    except (UnicodeDecodeError, IndexError):
        return None
    parts = line.split(" ")
    if len(parts) < 2 or not parts[0].startswith("HTTP/1."):
        return None
    return int(parts[1]) if parts[1].isdigit() else None
