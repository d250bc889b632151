"""Delivering reports to the extension, in order, never holding up a handler for long.

A report is delivered once its request is written on a loopback connection:
the extension orders reports by the order their connections arrive, and a
request already in the kernel's socket buffers reaches it even if the
function is SIGKILLed the next moment. Connecting and writing take tens of
microseconds on loopback and need no CPU time of the extension; reading the
answer does, so it is never waited for on the handlers' path.

Delivery is therefore in two phases. Connecting and writing happen under the
ordering lock, which is only ever held for that (never while an answer is
awaited); reading the answer (to log a refusal) happens outside it, on a
daemon thread, in queue order.

- :meth:`Reporter.send` queues a report for the thread, which connects,
  writes and reads the answer. Never blocks on the network.
- :meth:`Reporter.send_now` connects and writes on the calling thread
  (earlier queued reports first, so the order holds), with tiny timeouts, and
  leaves the answer to the thread; on any error the report stays queued for
  the thread instead. The shutdown thread sends every report of the shutdown
  this way (``shutdownStarted`` and each ``started`` above all): under CPU
  starvation (about 7 % of a core at 128 MB) a background thread can lag by
  tens of milliseconds, and a runtime SIGKILLed in that time would leave a
  verdict that says a running handler never started.

While the sending thread holds the ordering lock, it writes every report
queued behind the one it took too, so that a report whose ``send_now`` missed
the lock (the CPU quota can run out while the lock is held) is written the
moment the thread runs again.
"""

from __future__ import annotations

import collections
import threading
import time

from . import _log
from ._limits import REPORT_CONNECT_TIMEOUT_MS, REPORT_IO_TIMEOUT_MS, REPORT_NOW_TIMEOUT_MS
from .report import encode_request

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing at cold start
if TYPE_CHECKING:
    import socket
    from typing import Any, Callable, Deque, Optional, Union

    from .report import Report

    Deliver = Callable[[Report], None]

#: Per-report limits of the sending thread (spec/limits.json, ``library``):
#: loopback answers in well under a millisecond, so these only bound the
#: damage of a wedged extension.
CONNECT_TIMEOUT_S = REPORT_CONNECT_TIMEOUT_MS / 1000
IO_TIMEOUT_S = REPORT_IO_TIMEOUT_MS / 1000
#: Limit of a connect or a write on the handlers' path. A loopback connect
#: completes (or is refused) inside the call; only a full accept queue makes
#: it wait, and then the report is left to the thread instead.
NOW_TIMEOUT_S = REPORT_NOW_TIMEOUT_MS / 1000


class Link:
    """How a report leaves the process: :meth:`open` connects and writes (under
    the ordering lock, on any thread); :meth:`answer` and :meth:`failed` run on
    the sending thread only, outside that lock."""

    def open(self, report: Report, timeout_s: float) -> Optional[socket.socket]:
        """Connect and write ``report`` within ``timeout_s`` per step; the socket
        whose answer is still to be read, if any. Raises on failure."""
        raise NotImplementedError

    def answer(self, report: Report, stream: Optional[socket.socket]) -> None:
        """Read the answer to a written report, say what it means, close the socket."""
        if stream is not None:
            stream.close()

    def failed(self, report: Report, error: Exception) -> None:
        """Say that ``report`` could not be written."""
        _log.debug(f"graceful-shutdown: report not delivered: {error}")


class _Calling(Link):
    """A link that hands each report to a function (unit tests)."""

    def __init__(self, deliver: Deliver) -> None:
        self._deliver = deliver

    def open(self, report: Report, timeout_s: float) -> Optional[socket.socket]:
        self._deliver(report)
        return None


class _Entry:
    """One queued report; ``written`` and ``stream`` change under the ordering lock."""

    __slots__ = ("seq", "report", "written", "stream")

    def __init__(self, seq: int, report: Report) -> None:
        self.seq = seq
        self.report = report
        self.written = False
        self.stream: Optional[socket.socket] = None


class Reporter:
    """Where reports go: to the extension, or nowhere when it is not attached."""

    def __init__(self, link: Union[Link, Deliver, None], *, start: bool = True) -> None:
        """``start=False``: the sending thread is started by :meth:`start` (or the
        first :meth:`flush`); reports queued meanwhile wait for it, in order."""
        if link is not None and not isinstance(link, Link):
            link = _Calling(link)
        self._link: Optional[Link] = link
        #: Held while connections are opened and written, so that they reach
        #: the extension in queue order; taken before ``_cond``.
        self._order = threading.Lock()
        self._cond = threading.Condition()
        self._pending: Deque[_Entry] = collections.deque()
        self._queued = 0
        #: Every report up to this number is written (or failed for good).
        self._written = 0
        #: Every report up to this number is answered (or failed for good).
        self._answered = 0
        self._thread: Optional[threading.Thread] = None
        if start:
            self.start()

    def start(self) -> None:
        """Start the sending thread, if there is a link and it is not started yet."""
        if self._link is None:
            return
        with self._cond:
            if self._thread is not None:
                return
            self._thread = threading.Thread(target=self._work, name="graceful-shutdown-report", daemon=True)
        self._thread.start()

    @staticmethod
    def disabled() -> "Reporter":
        return Reporter(None)

    @staticmethod
    def to_extension(port: int, secret: str, worker: Optional[str] = None, *, start: bool = True) -> "Reporter":
        return Reporter(_Tcp(port, secret, worker), start=start)

    @property
    def enabled(self) -> bool:
        return self._link is not None

    def send(self, report: Report) -> None:
        """Queue a report. Never blocks on the network, never raises."""
        self._enqueue(report)

    def send_now(self, report: Report, limit_s: float = 0.05) -> bool:
        """Queue ``report`` and write it (and every report queued before it) from
        this thread, waiting at most ``limit_s`` for the ordering lock (which is
        held for connects and writes only). The answer is read by the sending
        thread. Returns whether ``report`` was written; if not, it stays queued."""
        seq = self._enqueue(report)
        if self._link is None:
            return True
        self._write_pending(time.monotonic() + limit_s)
        with self._cond:
            return self._written >= seq

    def all_written(self) -> bool:
        """Whether every report so far is written (only answers may be pending):
        then an exit loses none of them."""
        with self._cond:
            return self._written >= self._queued

    def flush(self, limit_s: float, answered: bool = True) -> bool:
        """Write everything queued so far (from this thread, as :meth:`send_now`)
        and wait until it is answered (or, with ``answered=False``, written),
        within ``limit_s``; whether it all was."""
        if self._link is None:
            return True
        self.start()  # the answers are read by the sending thread
        deadline = time.monotonic() + limit_s
        with self._cond:
            target = self._queued
        self._write_pending(deadline)
        with self._cond:
            while True:
                if (self._answered if answered else self._written) >= target:
                    return True
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)

    # -- internals

    def _enqueue(self, report: Report) -> int:
        if self._link is None:
            return 0
        with self._cond:
            self._queued += 1
            self._pending.append(_Entry(self._queued, report))
            self._cond.notify_all()
            return self._queued

    def _write_pending(self, deadline: float) -> None:
        """Connect and write every queued report not written yet, in order, from
        this thread; after one failure the rest are left to the sending thread."""
        assert self._link is not None
        if not self._order.acquire(timeout=max(0.0, deadline - time.monotonic())):
            return
        try:
            with self._cond:
                todo = [e for e in self._pending if not e.written]
            for entry in todo:
                try:
                    entry.stream = self._link.open(entry.report, NOW_TIMEOUT_S)
                except Exception as e:  # left to the thread, which tries once more
                    _log.debug(f"graceful-shutdown: report left to the sending thread: {e}")
                    break
                self._mark_written(entry)
        finally:
            self._order.release()

    def _mark_written(self, entry: _Entry) -> None:
        """``entry`` is written (or failed for good); the caller holds the ordering lock."""
        entry.written = True
        with self._cond:
            self._written = max(self._written, entry.seq)
            self._cond.notify_all()

    def _work(self) -> None:
        assert self._link is not None
        while True:
            with self._cond:
                while not self._pending:
                    self._cond.wait()
            error: Optional[Exception] = None
            # The ordering lock first, then the entry: a caller of send_now may
            # be writing the queue meanwhile, and the order must hold.
            with self._order:
                with self._cond:
                    entry = self._pending.popleft()
                if not entry.written:
                    try:
                        entry.stream = self._link.open(entry.report, CONNECT_TIMEOUT_S)
                    except Exception as e:
                        error = e
                    self._mark_written(entry)
                    # While the lock is held, the reports queued behind it too: one
                    # whose send_now missed the lock (the CPU quota ran out while
                    # this thread held it) is written the moment this thread runs.
                    with self._cond:
                        later = [e for e in self._pending if not e.written] if error is None else []
                    for other in later:
                        try:
                            other.stream = self._link.open(other.report, CONNECT_TIMEOUT_S)
                        except Exception:  # tried again, and said, at its own turn
                            break
                        self._mark_written(other)
            # Outside the ordering lock: an answer needs the extension's CPU time.
            try:
                if error is not None:
                    self._link.failed(entry.report, error)
                else:
                    self._link.answer(entry.report, entry.stream)
            except Exception as e:  # reporting must never stop the thread
                _log.debug(f"graceful-shutdown: report answer not read: {e}")
            entry.stream = None
            with self._cond:
                self._answered = entry.seq
                self._cond.notify_all()


class _Tcp(Link):
    """One connection per report to ``127.0.0.1:port``; one warning if it fails."""

    def __init__(self, port: int, secret: str, worker: Optional[str]) -> None:
        self.port = port
        self.secret = secret
        self.worker = worker
        self.warned = False

    def open(self, report: Report, timeout_s: float) -> Optional[socket.socket]:
        request = encode_request(self.port, self.secret, report, self.worker)
        net = _net()
        s: socket.socket = net.socket(net.AF_INET, net.SOCK_STREAM)
        try:
            s.setsockopt(net.IPPROTO_TCP, net.TCP_NODELAY, 1)
            s.settimeout(timeout_s)
            s.connect(("127.0.0.1", self.port))
            s.sendall(request)
        except BaseException:
            s.close()
            raise
        return s

    def answer(self, report: Report, stream: Optional[socket.socket]) -> None:
        if stream is None:
            return
        try:
            stream.settimeout(IO_TIMEOUT_S)
            answer = b""
            while len(answer) < 64 and b"\n" not in answer:
                chunk = stream.recv(64 - len(answer))
                if not chunk:
                    break
                answer += chunk
        except OSError as e:
            self.complain(f"no answer from the extension on 127.0.0.1:{self.port} to a report: {e}")
            return
        finally:
            stream.close()
        status = parse_status(answer)
        if status == 202:
            _log.debug(f"graceful-shutdown: report accepted: {report.get('type')}")
        elif status is None:
            self.complain(f"the extension on 127.0.0.1:{self.port} answered a report with something not HTTP")
        else:
            self.complain(
                f"the extension on 127.0.0.1:{self.port} answered {status} to a report "
                "(401: the secret does not match)"
            )

    def failed(self, report: Report, error: Exception) -> None:
        self.complain(f"cannot report to the extension on 127.0.0.1:{self.port}: {error}")

    def complain(self, message: str) -> None:
        if self.warned:
            _log.debug(f"graceful-shutdown: {message}")
        else:
            self.warned = True
            _log.warning(
                f"graceful-shutdown: {message}; the handlers still run, "
                "the extension's verdict may be incomplete"
            )


def _net() -> Any:
    """The socket functions: the C module under :mod:`socket`, which builds
    enums at import (several milliseconds, on the sending thread at cold start)."""
    try:
        import _socket

        return _socket
    except ImportError:  # another interpreter
        import socket

        return socket


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
