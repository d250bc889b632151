"""Race-free loopback ports for processes under test.

Ports come from below the ephemeral range (20000-32000; the kernel hands out
32768-60999 for port 0), each taken with an exclusive ``flock`` on a lock
file of its own under the system temp dir, held until the test is done with
it, so that two test processes (of any language using the same lock files)
never get the same port. A port someone else already listens on is skipped.
"""

from __future__ import annotations

import errno
import fcntl
import os
import random
import socket
import tempfile
from contextlib import contextmanager
from typing import Iterator

LOW, HIGH = 20000, 32000
LOCK_DIR = os.path.join(tempfile.gettempdir(), "graceful-shutdown-test-ports")


def _in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError as e:
            if e.errno == errno.EADDRINUSE:
                return True
            raise
    return False


@contextmanager
def reserved_port() -> Iterator[int]:
    """A port held for this test until the ``with`` block ends."""
    os.makedirs(LOCK_DIR, exist_ok=True)
    start = random.randrange(LOW, HIGH)
    for i in range(HIGH - LOW):
        port = LOW + (start - LOW + i) % (HIGH - LOW)
        fd = os.open(os.path.join(LOCK_DIR, f"{port}.lock"), os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            continue
        try:
            if _in_use(port):
                continue
            yield port
            return
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)
    raise RuntimeError(f"no free port from {LOW} to {HIGH}")
