"""A function for measuring SIGTERM handling on the real awslambdaric.

``SIGTERM_MODE``: ``library`` (this package, one handler), ``handwritten``
(the usual ``signal.signal(SIGTERM, ...)`` pattern), or ``none``. The handler
writes ``time.monotonic_ns()`` (CLOCK_MONOTONIC, the same clock in every
process) to ``SIGTERM_MARK`` the moment it starts.
"""

import os
import signal
import sys
import time

MODE = os.environ.get("SIGTERM_MODE", "library")
MARK = os.environ.get("SIGTERM_MARK", "")


def mark():
    now = time.monotonic_ns()
    if MARK:
        fd = os.open(MARK, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.write(fd, f"{now}\n".encode())
        os.close(fd)


if MODE == "library":
    from lambda_graceful_shutdown import GracefulShutdown

    shutdown = GracefulShutdown.from_env()

    @shutdown.on_shutdown
    def first():
        mark()

    shutdown.install()
elif MODE == "handwritten":

    def on_sigterm(signum, frame):
        mark()
        sys.exit(0)

    signal.signal(signal.SIGTERM, on_sigterm)


def handler(event, context):
    return {"ok": True}
