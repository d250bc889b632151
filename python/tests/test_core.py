"""GracefulShutdown: registration, injection by name, exactly once, trigger, the
missing-extension warning, hello to a real listener."""

from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path
from typing import List

import pytest

from support.capture import FakeExtension

from lambda_graceful_shutdown import Config, GracefulShutdown, HandlerStatus
from lambda_graceful_shutdown import attach
from lambda_graceful_shutdown.report import encode_request, hello

NO_EXTENSION = Config(timeout_ms=200, secret_file="/nonexistent/graceful-shutdown.secret")


@pytest.fixture(autouse=True)
def fresh_warning() -> None:
    attach._warned = False


def test_startup_values_are_injected_by_name_into_sync_and_async_handlers() -> None:
    shutdown = GracefulShutdown(NO_EXTENSION)
    closed: List[str] = []

    @shutdown.on_startup
    def db() -> List[str]:
        return ["open"]

    @shutdown.on_startup("cache")
    def make_cache(db: List[str]) -> dict:  # a startup value can use an earlier one
        return {"db": db}

    @shutdown.on_shutdown
    def close_db(db: List[str], cache: dict, unused: int = 7) -> None:
        assert cache["db"] is db and unused == 7
        db.clear()
        closed.append("db")

    @shutdown.on_shutdown("flush")
    async def flush_it(cache: dict) -> None:
        closed.append("flush")

    assert close_db.__name__ == "close_db", "the decorator gives the function back"
    assert shutdown.handler_names == ["close_db", "flush"]
    assert dict(shutdown.values).keys() == {"db", "cache"}
    summary = shutdown.trigger()
    assert summary.all_completed, summary
    assert closed == ["db", "flush"]
    assert shutdown.values["db"] == []


def test_on_shutdown_with_keyword_name_and_async_startup() -> None:
    shutdown = GracefulShutdown(NO_EXTENSION, concurrent=True)

    @shutdown.on_startup
    async def pool() -> str:
        return "pool"

    @shutdown.on_shutdown(name="close-pool")
    def close(pool: str) -> None:
        assert pool == "pool"

    assert shutdown.concurrent
    assert shutdown.trigger().handler("close-pool").status is HandlerStatus.COMPLETED  # type: ignore[union-attr]


def test_a_parameter_without_a_startup_value_is_refused_at_install_naming_both() -> None:
    shutdown = GracefulShutdown(NO_EXTENSION)

    @shutdown.on_shutdown
    def close_db(db: object) -> None: ...

    with pytest.raises(TypeError, match=r"on_shutdown handler 'close_db': parameter 'db' has no startup value"):
        shutdown.build()


def test_a_startup_function_needing_an_unknown_value_fails_at_once() -> None:
    shutdown = GracefulShutdown(NO_EXTENSION)
    with pytest.raises(TypeError, match=r"on_startup 'client': parameter 'config'"):
        @shutdown.on_startup
        def client(config: dict) -> None: ...


def test_bad_registrations_are_clear_errors() -> None:
    shutdown = GracefulShutdown(NO_EXTENSION)
    with pytest.raises(TypeError, match="cannot name"):
        shutdown.on_shutdown(lambda: None)
    with pytest.raises(TypeError, match="name must be a non-empty string"):
        shutdown.on_shutdown("")
    with pytest.raises(TypeError, match="must be callable"):
        shutdown.add_handler("x", 42)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="concurrent must be True or False"):
        GracefulShutdown(NO_EXTENSION, concurrent="yes")  # type: ignore[arg-type]
    shutdown.on_shutdown("ok")(lambda: None)
    shutdown.build()
    with pytest.raises(RuntimeError, match="registered after install"):
        shutdown.on_shutdown("late")(lambda: None)


def test_handlers_run_exactly_once_even_when_triggered_concurrently() -> None:
    shutdown = GracefulShutdown(NO_EXTENSION)
    runs: List[int] = []

    @shutdown.on_shutdown
    def count() -> None:
        runs.append(1)
        time.sleep(0.02)

    results = []
    threads = [threading.Thread(target=lambda: results.append(shutdown.trigger())) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert runs == [1]
    assert len(results) == 4 and all(r is results[0] for r in results)
    assert shutdown.trigger() is results[0]
    assert shutdown.summary is results[0]


def test_trigger_returns_a_summary_without_exiting_and_keeps_the_budget() -> None:
    shutdown = GracefulShutdown(Config(timeout_ms=50, secret_file="/nonexistent"))

    @shutdown.on_shutdown
    def slow() -> None:
        time.sleep(5)

    @shutdown.on_shutdown
    def never() -> None: ...

    began = time.monotonic()
    summary = shutdown.trigger()
    assert time.monotonic() - began < 1
    assert summary.signal == "trigger"
    assert [h.status for h in summary.handlers] == [HandlerStatus.TIMED_OUT, HandlerStatus.SKIPPED]
    assert (summary.timed_out, summary.skipped) == (1, 1)


def test_the_missing_extension_warning_names_the_handlers_once(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="lambda_graceful_shutdown"):
        for _ in range(2):
            shutdown = GracefulShutdown(NO_EXTENSION)
            shutdown.on_shutdown("flush")(lambda: None)
            shutdown.on_shutdown("close-pool")(lambda: None)
            shutdown.build()
            assert not shutdown.extension_attached
    warnings = [r.getMessage() for r in caplog.records if "extension is not attached" in r.getMessage()]
    assert len(warnings) == 1, warnings
    w = warnings[0]
    assert "GRACEFUL_SHUTDOWN_SECRET_FILE: /nonexistent/graceful-shutdown.secret does not exist" in w
    assert "Lambda sends no SIGTERM" in w
    assert "will NOT run when the environment is retired: flush, close-pool" in w
    assert "attach the graceful-shutdown layer" in w


def test_secret_files_that_hold_no_secret_are_refused(tmp_path: Path) -> None:
    good = tmp_path / "good"
    good.write_text("ab" * 32 + "\n")
    assert attach.read_secret(str(good)) == (True, "ab" * 32)
    injected = tmp_path / "injected"
    injected.write_text("abc\r\nx-evil: 1")
    assert attach.read_secret(str(injected))[1].endswith("does not hold a secret (expected one line of printable text)")
    empty = tmp_path / "empty"
    empty.write_text("\n")
    assert attach.read_secret(str(empty))[0] is False
    assert attach.read_secret(str(tmp_path))[1].startswith(f"{tmp_path} cannot be read")


def test_hello_reaches_a_real_listener_with_the_exact_bytes(tmp_path: Path) -> None:
    extension = FakeExtension(expect=4)
    extension.start()
    secret = tmp_path / "secret"
    secret.write_text("cd" * 32)
    shutdown = GracefulShutdown(Config(port=extension.port, timeout_ms=100, secret_file=str(secret)))
    shutdown.on_shutdown("flush")(lambda: None)
    shutdown.build()
    assert shutdown.extension_attached
    summary = shutdown.trigger()
    assert summary.all_completed
    assert shutdown.flush_reports(5)
    assert extension.done.wait(10), extension.error
    assert extension.requests[0] == encode_request(extension.port, "cd" * 32,
                                                   hello(os.getpid(), ["flush"], 100, False), str(os.getpid()))
    bodies = [req.split(b"\r\n\r\n", 1)[1] for req in extension.requests]
    worker = f',"worker":"{os.getpid()}"}}'.encode()
    assert bodies[1] == b'{"type":"shutdownStarted","signal":"trigger"' + worker
    assert bodies[2] == b'{"type":"started","handler":"flush","index":0' + worker
    assert bodies[3].startswith(b'{"type":"finished","handler":"flush","index":0,"durationMs":')
    assert bodies[3].endswith(worker)


def test_the_watchdog_waits_until_shortly_before_the_kill_and_the_flush_is_bounded() -> None:
    from lambda_graceful_shutdown._core import flush_limit_ms, watchdog_ms

    assert watchdog_ms(250) == 290 and watchdog_ms(100) == 290 and watchdog_ms(280) == 310
    assert flush_limit_ms(100) == 190 and flush_limit_ms(250) == 40 and flush_limit_ms(280) == 20
    assert flush_limit_ms(5000) == 20
