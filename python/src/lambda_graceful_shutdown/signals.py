"""Noticing SIGTERM and SIGINT at once, even while the main thread is blocked in native code.

Python runs signal handlers only in the main thread, between bytecodes. The
Lambda runtime client without thread polling (container images, runtimes
before python3.12) keeps the main thread inside a native ``next()`` call
until the next invocation, so a ``signal.signal`` handler never runs before
Lambda's SIGKILL. But the C-level handler that CPython installs runs at once
and writes the signal's number to the file set with
:func:`signal.set_wakeup_fd`; a watcher thread blocked on the other end of
that pipe wakes up and starts the shutdown. The Python-level handler starts
it too (whichever comes first), for when some other code replaced the
wakeup fd.
"""

from __future__ import annotations

import _thread
import os
import threading

from . import _log

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing at cold start
if TYPE_CHECKING:
    import signal
    from typing import Callable, Dict, Optional
else:
    try:
        # The C module under :mod:`signal`, which wraps the same functions in
        # enums built at import (half a millisecond at cold start).
        import _signal as signal
    except ImportError:  # another interpreter
        import signal

NAMES: Dict[int, str] = {int(signal.SIGTERM): "SIGTERM", int(signal.SIGINT): "SIGINT"}


class SignalWatcher:
    """Calls ``on_first(name)`` once, on the first SIGTERM or SIGINT, from a thread of its own;
    ``warm()``, if given, is called once from another thread, at once."""

    def __init__(self, on_first: Callable[[str], None], warm: Optional[Callable[[], None]] = None) -> None:
        self._on_first = on_first
        self._warm = warm
        self._lock = threading.Lock()
        self._fired = False
        self._previous_fd = -1
        self._read_fd = -1

    def install(self) -> None:
        """Register now; must run in the main thread."""
        if threading.current_thread() is not threading.main_thread():
            raise RuntimeError(
                "lambda_graceful_shutdown: install() must be called from the main thread "
                "(at module level in the function's handler module), where Python lets it handle signals"
            )
        read_fd, write_fd = os.pipe()
        os.set_blocking(write_fd, False)
        self._read_fd = read_fd
        for signum in NAMES:
            signal.signal(signum, self._python_handler)
        self._previous_fd = signal.set_wakeup_fd(write_fd, warn_on_full_buffer=False)
        # Bare threads: threading.Thread.start() would wait until the new thread
        # has been scheduled, which on a loaded or throttled CPU can take
        # milliseconds of the cold start. They never hold the exit (as daemons).
        # The watcher only waits for the signal, from its first moment; the
        # warm-up, if any, has a thread of its own, so that a signal that comes
        # meanwhile is not held up by it.
        _thread.start_new_thread(self._watch, ())
        if self._warm is not None:
            _thread.start_new_thread(self._warm_up, (self._warm,))

    def _python_handler(self, signum: int, frame: object) -> None:
        # Runs in the main thread whenever it gets to run Python; the watcher
        # has usually started the shutdown already, and logs repeated signals.
        self._fire(NAMES.get(signum, str(signum)))

    def _fire(self, name: str) -> bool:
        with self._lock:
            if self._fired:
                return False
            self._fired = True
        self._on_first(name)
        return True

    @staticmethod
    def _warm_up(warm: Callable[[], None]) -> None:
        threading.current_thread().name = "graceful-shutdown-warm-up"
        try:
            warm()
        except Exception as e:  # the shutdown imports it again, and says why it fails
            _log.debug(f"graceful-shutdown: warming up the shutdown failed: {e!r}")

    def _watch(self) -> None:
        threading.current_thread().name = "graceful-shutdown-signals"  # in log lines
        seen = 0
        while True:
            try:
                data = os.read(self._read_fd, 64)
            except InterruptedError:
                continue
            except OSError as e:
                _log.error(f"graceful-shutdown: the signal watcher stopped: {e}")
                return
            if not data:
                return
            self._forward(data)
            for byte in data:
                name = NAMES.get(byte)
                if name is None:
                    continue
                seen += 1
                if seen == 1:
                    self._fire(name)
                else:
                    _log.info(
                        f"graceful-shutdown: {name} received again; the shutdown handlers are "
                        "already running and run only once"
                    )

    def _forward(self, data: bytes) -> None:
        """Pass the bytes on to a wakeup fd set before ours (an event loop's, say)."""
        if self._previous_fd >= 0:
            try:
                os.write(self._previous_fd, data)
            except OSError:
                pass
