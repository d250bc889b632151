"""``probe``: the fault-injection function of the end-to-end tests, for the real
``awslambdaric``. The same contract as the Rust library's ``examples/probe.rs``:

- ``PROBE_HANDLERS``: ``name:behaviour,...`` registered in this order (default
  ``flush:ok``); behaviours ``ok``, ``sleep=<ms>``, ``error`` (raises
  ``injected error in <name>``), ``panic`` (raises an unexpected exception type,
  ``injected panic in <name>``). A malformed list: one line on stderr naming
  ``PROBE_HANDLERS``, exit status 2.
- ``PROBE_OUTPUT``: file to append lines to: ``start <name>`` when a handler
  starts, ``<name>`` when it completes its work, ``invoke <n>`` per invocation.
- ``PROBE_CONCURRENT=1``: run the handlers concurrently; ``PROBE_ASYNC=1``:
  register them as ``async def``; ``PROBE_NO_LIBRARY=1``: do not use the
  library; ``PROBE_IGNORE_SIGTERM=1``: no library, SIGTERM ignored.
- Events: ``{"action":"crash"}`` (abort), ``{"action":"exit","code":N}``,
  ``{"action":"sleep","ms":N}``, anything else is echoed.
"""

import asyncio
import os
import signal
import sys
import time

from lambda_graceful_shutdown import GracefulShutdown


def _flag(name):
    return os.environ.get(name) in ("1", "true")


def _parse(raw):
    handlers = []
    for item in (i.strip() for i in raw.split(",")):
        if not item:
            continue
        name, sep, behaviour = item.partition(":")
        bad = None
        if not sep:
            bad = "missing ':'"
        elif not name:
            bad = "empty handler name"
        elif behaviour not in ("ok", "error", "panic") and not (
            behaviour.startswith("sleep=") and behaviour[6:].isdigit()
        ):
            bad = "unknown behaviour"
        if bad:
            sys.stderr.write(
                f"probe: PROBE_HANDLERS: {bad} in {item!r}; expected name:ok, name:sleep=<ms>, "
                "name:error or name:panic\n"
            )
            sys.exit(2)
        handlers.append((name, behaviour))
    return handlers


_OUTPUT = os.environ.get("PROBE_OUTPUT")


def line(text):
    if not _OUTPUT:
        return
    fd = os.open(_OUTPUT, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        os.write(fd, (text + "\n").encode("utf-8"))
    finally:
        os.close(fd)


class InjectedPanic(BaseException):
    """Stands for what a Rust panic is: not an ordinary error."""


def _make(name, behaviour, use_async):
    def work_before():
        line(f"start {name}")

    def work_after():
        if behaviour == "error":
            raise RuntimeError(f"injected error in {name}")
        if behaviour == "panic":
            raise InjectedPanic(f"injected panic in {name}")
        line(name)

    if use_async:

        async def handler():
            work_before()
            if behaviour.startswith("sleep="):
                await asyncio.sleep(int(behaviour[6:]) / 1000)
            work_after()

    else:

        def handler():
            work_before()
            if behaviour.startswith("sleep="):
                time.sleep(int(behaviour[6:]) / 1000)
            work_after()

    return handler


HANDLERS = _parse(os.environ.get("PROBE_HANDLERS", "flush:ok"))

if _flag("PROBE_IGNORE_SIGTERM"):
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
elif not _flag("PROBE_NO_LIBRARY"):
    shutdown = GracefulShutdown.from_env(concurrent=_flag("PROBE_CONCURRENT"))
    for _name, _behaviour in HANDLERS:
        shutdown.on_shutdown(_name)(_make(_name, _behaviour, _flag("PROBE_ASYNC")))
    shutdown.install()

_count = 0


def handler(event, context):
    global _count
    _count += 1
    line(f"invoke {_count}")
    action = event.get("action") if isinstance(event, dict) else None
    if action == "crash":
        os.abort()
    if action == "exit":
        os._exit(int(event.get("code", 1)))
    if action == "sleep":
        time.sleep(int(event.get("ms", 0)) / 1000)
    return event
