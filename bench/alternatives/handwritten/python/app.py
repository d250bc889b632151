"""The hand-written pattern: a SIGTERM handler set with signal.signal, which
does 200 ms of work and exits. It runs only when the client's main thread
is not blocked in its native next() (thread polling on, as Lambda's
managed python3.12 runtime sets it up)."""

import os
import signal
import sys
import time


def line(text):
    fd = os.open(os.environ["PROBE_OUTPUT"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        os.write(fd, (text + "\n").encode())
    finally:
        os.close(fd)


def on_sigterm(signum, frame):
    line("start work")
    time.sleep(0.2)
    line("work")
    sys.exit(0)


signal.signal(signal.SIGTERM, on_sigterm)


def handler(event, context):
    return event
