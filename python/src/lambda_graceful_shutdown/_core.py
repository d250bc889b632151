"""``GracefulShutdown``: register handlers, install once, run them once."""

from __future__ import annotations

import os
import threading
import time
import types

from . import _log, attach
from ._params import POSITIONAL_ONLY, Handler, isawaitable, parameters
from . import report as r
from ._limits import FLUSH_LIMIT_MS, KILL_MARGIN_MS, RUNTIME_SHARE_MS, WATCHDOG_GRACE_MS
from .config import Config
from .runner import run_handlers
from .signals import SignalWatcher

# What only the shutdown needs (its result classes, faulthandler) is imported
# when it starts, or ahead of it by a thread of the signal watcher's
# (GracefulShutdown._warm): not on the main thread at cold start. Without the
# extension, the reporter is never imported (_Nowhere).
TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing at cold start
if TYPE_CHECKING:
    from typing import Any, Callable, Dict, List, Mapping, Optional, TypeVar, Union, overload

    from .report import Report
    from .reporter import Reporter
    from .runner import Reports, Summary

    F = TypeVar("F", bound=Callable[..., Any])
else:

    def overload(fn):  # typing.overload's runtime effect: the last definition wins
        return fn

# FLUSH_LIMIT_MS: the shortest wait for pending reports before the exit.
# KILL_MARGIN_MS: kept free before Lambda's SIGKILL when waiting for them.
# WATCHDOG_GRACE_MS: how long after the budget the last-resort watchdog may
# end a process whose handlers hold the interpreter (a C call that keeps the
# GIL); never before shortly before Lambda's own SIGKILL, since it cannot send
# the last reports. All three from spec/limits.json (``library``).


def watchdog_ms(timeout_ms: int) -> int:
    """When, from the signal, the last-resort watchdog ends the process."""
    return max(timeout_ms + WATCHDOG_GRACE_MS, RUNTIME_SHARE_MS - KILL_MARGIN_MS)


def flush_limit_ms(since_signal_ms: float) -> float:
    """How long pending reports may hold the exit, ``since_signal_ms`` after the
    signal: until shortly before Lambda's SIGKILL, and at least :data:`FLUSH_LIMIT_MS`."""
    return max(float(FLUSH_LIMIT_MS), RUNTIME_SHARE_MS - KILL_MARGIN_MS - since_signal_ms)


class GracefulShutdown:
    """Collects startup values and shutdown handlers, then :meth:`install` s them.

    ::

        shutdown = GracefulShutdown.from_env()

        @shutdown.on_startup
        def db():
            return connect()

        @shutdown.on_shutdown
        def close_db(db):
            db.close()

        shutdown.install()
    """

    def __init__(self, config: Optional[Config] = None, *, concurrent: bool = False) -> None:
        if not isinstance(concurrent, bool):
            raise TypeError(f"GracefulShutdown: concurrent must be True or False, got {concurrent!r}")
        self._config = config if config is not None else Config()
        self._concurrent = concurrent
        self._values: Dict[str, Any] = {}
        self._handlers: List[Handler] = []
        self._wanted: List[tuple[str, Callable[..., Any], Callable[[str], Any]]] = []
        self._built = False
        self._installed = False
        #: The reports' way to the extension, once found at cold start; None
        #: without it (the reports then go nowhere: _NOWHERE).
        self._reporter: Optional[Reporter] = None
        self._lock = threading.Lock()
        self._summary: Optional[Summary] = None
        self._ran = threading.Event()
        self._running = False

    @classmethod
    def from_env(cls, *, concurrent: bool = False, environ: Optional[Mapping[str, str]] = None) -> "GracefulShutdown":
        """Settings read once from the environment (:meth:`Config.from_env`)."""
        return cls(Config.from_env(environ), concurrent=concurrent)

    # -- registration

    @property
    def config(self) -> Config:
        return self._config

    @property
    def concurrent(self) -> bool:
        return self._concurrent

    @property
    def values(self) -> Mapping[str, Any]:
        """The startup values, by name (read-only)."""
        return types.MappingProxyType(self._values)

    @property
    def handler_names(self) -> List[str]:
        return [h.name for h in self._handlers]

    @overload
    def on_startup(self, fn: F) -> F: ...
    @overload
    def on_startup(self, fn: str) -> Callable[[F], F]: ...
    @overload
    def on_startup(self, fn: None = None, *, name: Optional[str] = None) -> Callable[[F], F]: ...

    def on_startup(self, fn: Union[F, str, None] = None, *, name: Optional[str] = None) -> Any:
        """Run ``fn`` now (its parameters injected from earlier startup values) and keep
        its value under its name (or ``name``), to inject into shutdown handlers."""

        def register(f: F) -> F:
            key = _name_of("on_startup", f, name if not isinstance(fn, str) else fn)
            value = _call_injected("on_startup", key, f, self._values)
            if isawaitable(value):
                import asyncio  # only for async startup functions: it is slow to import

                value = asyncio.run(_awaited(value))
            self._values[key] = value
            return f

        return _decorator("on_startup", fn, name, register)

    @overload
    def on_shutdown(self, fn: F) -> F: ...
    @overload
    def on_shutdown(self, fn: str) -> Callable[[F], F]: ...
    @overload
    def on_shutdown(self, fn: None = None, *, name: Optional[str] = None) -> Callable[[F], F]: ...

    def on_shutdown(self, fn: Union[F, str, None] = None, *, name: Optional[str] = None) -> Any:
        """Register a handler to run once on shutdown, named after the function (or ``name``).
        Plain and ``async def`` functions both work; parameters are filled from the
        startup values of the same name."""

        def register(f: F) -> F:
            self.add_handler(_name_of("on_shutdown", f, name if not isinstance(fn, str) else fn), f)
            return f

        return _decorator("on_shutdown", fn, name, register)

    def add_handler(
        self, name: str, fn: Callable[..., Any], resolve: Optional[Callable[[str], Any]] = None
    ) -> None:
        """Register ``fn`` under ``name``. ``resolve(parameter)`` supplies a parameter's value
        (default: the startup value of that name); it raises ``LookupError`` when it has none."""
        if not isinstance(name, str) or not name:
            raise TypeError(f"on_shutdown: name must be a non-empty string, got {name!r}")
        if not callable(fn):
            raise TypeError(f"on_shutdown: handler {name!r} must be callable, got {fn!r}")
        if self._built:
            raise RuntimeError(
                f"on_shutdown: handler {name!r} registered after install(); register every "
                "shutdown handler before calling install()"
            )
        lookup = resolve if resolve is not None else self._startup_value
        fitted = r.fit(name, r.MAX_NAME_BYTES)
        self._handlers.append(Handler(fitted, lambda: _call_with(fitted, fn, lookup)))
        if resolve is None:
            # Startup values are known by install(): a missing one is refused then.
            # A custom resolver is asked only when the handler runs.
            self._wanted.append((fitted, fn, lookup))

    def _startup_value(self, parameter: str) -> Any:
        try:
            return self._values[parameter]
        except KeyError:
            raise LookupError(parameter) from None

    # -- install

    def build(self) -> "GracefulShutdown":
        """Check for the extension and announce the handlers, without listening for
        signals: the handlers then run only through :meth:`trigger`. For tests."""
        self._build()
        if self._reporter is not None:
            self._reporter.start()
        return self

    def _build(self) -> None:
        """:meth:`build`, but the reports' sending thread is left to the caller to
        start (:meth:`install` has a thread of the signal watcher's start it)."""
        if self._built:
            return
        for name, fn, lookup in self._wanted:
            _check_injectable(name, fn, lookup)
        self._built = True
        names = self.handler_names
        found, secret_or_reason = attach.read_secret(self._config.secret_file)
        if found:
            # Every report names its process: under Managed Instances the runtime
            # client forks one worker per slot, and each reports on its own.
            worker = str(os.getpid())
            from .reporter import Reporter

            self._reporter = Reporter.to_extension(self._config.port, secret_or_reason, worker, start=False)
            for hello in r.hello_reports(os.getpid(), names, self._config.timeout_ms, self._concurrent, worker):
                self._reporter.send(hello)
        else:
            attach.warn_missing_once(secret_or_reason, names)
        _log.debug(
            f"graceful-shutdown: shutdown handlers registered handlers={names} port={self._config.port} "
            f"timeout_ms={self._config.timeout_ms} concurrent={self._concurrent} extension={found}"
        )

    def install(self) -> "GracefulShutdown":
        """Check for the extension, and run the handlers once on the first SIGTERM or
        SIGINT, then end the process with status 0. Call it once, at init, from the
        main thread (module level of the handler module)."""
        if self._installed:
            return self
        self._build()
        SignalWatcher(self._on_signal, warm=self._warm).install()
        self._installed = True
        return self

    @property
    def extension_attached(self) -> bool:
        """Whether the extension was found at cold start (so reports are sent)."""
        return self._reporter is not None and self._reporter.enabled

    @property
    def summary(self) -> Optional[Summary]:
        """What happened, once the handlers have run."""
        return self._summary

    def flush_reports(self, limit_s: float) -> bool:
        """Wait at most ``limit_s`` for the reports queued so far; whether they all went out."""
        return self._reporter is None or self._reporter.flush(limit_s)

    # -- running

    def trigger(self) -> Summary:
        """Run the handlers now, as a signal would, but without exiting; return what
        happened. They run once per process: later calls (and a later signal) get
        the same summary without running anything again."""
        self.build()
        summary = self._run_once("trigger", time.monotonic())
        self._reporting().flush(FLUSH_LIMIT_MS / 1000)
        return summary

    def _run_once(self, signal: str, start: float) -> Summary:
        with self._lock:
            first = not self._running
            self._running = True
        if not first:
            self._ran.wait()
            assert self._summary is not None
            return self._summary
        try:
            self._summary = run_handlers(
                self._handlers, self._concurrent, self._config.timeout_ms, start, signal, self._reporting()
            )
        finally:
            self._ran.set()
        return self._summary

    def _reporting(self) -> Reports:
        """Where the reports go: to the extension, or nowhere."""
        return self._reporter if self._reporter is not None else _NOWHERE

    def _warm(self) -> None:
        """Run once by a thread of the signal watcher's, after install(): start the
        reports' sending thread (the ``hello`` is queued), and import what the
        shutdown needs, so that it does not import it then."""
        if self._reporter is not None:
            self._reporter.start()
        import faulthandler  # noqa: F401
        import gc  # noqa: F401

        from . import _results  # noqa: F401

    def _on_signal(self, name: str) -> None:
        start = time.monotonic()
        # No cyclic garbage collection from here to the exit: the process is
        # ending, and a collection (a millisecond or more, when one falls due
        # on the first allocations after the signal) would only hold up the
        # handlers. Reference counting still frees what it can.
        import gc

        gc.disable()
        threading.Thread(
            target=self._shutdown_and_exit, args=(name, start), name="graceful-shutdown", daemon=True
        ).start()

    def _shutdown_and_exit(self, signal: str, start: float) -> None:
        # The last resort, if a handler holds the interpreter so that no Python
        # thread runs: faulthandler's own C thread needs no interpreter to dump
        # the stacks and end the process (status 1) just before Lambda would kill it.
        import faulthandler

        elapsed_ms = (time.monotonic() - start) * 1000
        faulthandler.dump_traceback_later(max(0.001, (watchdog_ms(self._config.timeout_ms) - elapsed_ms) / 1000),
                                          exit=True)
        summary: Optional[Summary] = None
        try:
            summary = self._run_once(signal, start)
        except BaseException as e:  # our own code; never let it stop the exit
            _log.error(f"graceful-shutdown: the shutdown failed: {e!r}")
        finally:
            faulthandler.cancel_dump_traceback_later()
        # Written is delivered (the extension reads what reached its socket even
        # once this process is gone): a report still queued may hold the exit
        # until shortly before the kill; the answers then get a short wait only,
        # so that a refusal is still logged.
        since = (time.monotonic() - start) * 1000
        limit = flush_limit_ms(since)
        reporter = self._reporting()
        if not reporter.flush(limit / 1000, answered=False):
            _log.warning(f"graceful-shutdown: some reports were not delivered within {int(limit)} ms")
        else:
            reporter.flush(FLUSH_LIMIT_MS / 1000)
        completed = summary.completed if summary is not None else 0
        _log.info(
            f"graceful-shutdown: exiting with status 0 total_ms={int((time.monotonic() - start) * 1000)} "
            f"completed={completed}"
        )
        _log.flush_all()
        os._exit(0)


async def _awaited(awaitable: Any) -> Any:
    return await awaitable


class _Nowhere:
    """Where the reports go when the extension is not attached: nowhere. (The
    same as ``Reporter.disabled()``, without importing the reporter.)"""

    enabled = False

    def send(self, report: Report) -> None:
        pass

    def send_now(self, report: Report, limit_s: float = 0.05) -> bool:
        return True

    def flush(self, limit_s: float, answered: bool = True) -> bool:
        return True


_NOWHERE = _Nowhere()


def _decorator(what: str, fn: Any, name: Optional[str], register: Callable[[Any], Any]) -> Any:
    for given in (fn if isinstance(fn, str) else None, name):
        if given is not None:
            _name_of(what, None, given)
    if fn is None or isinstance(fn, str):
        return register
    return register(fn)


def _name_of(what: str, fn: Any, name: Optional[str]) -> str:
    if name is not None:
        if not isinstance(name, str) or not name:
            raise TypeError(f"{what}: name must be a non-empty string, got {name!r}")
        return name
    if not callable(fn):
        raise TypeError(f"{what}: expected a function, got {fn!r}")
    found = getattr(fn, "__name__", None)
    if not isinstance(found, str) or not found or found == "<lambda>":
        raise TypeError(f"{what}: cannot name {fn!r}; pass a name: @{what}(\"name\")")
    return found


def _check_injectable(name: str, fn: Callable[..., Any], lookup: Callable[[str], Any]) -> None:
    for p in parameters(fn):
        if p.kind == POSITIONAL_ONLY and not p.has_default:
            raise TypeError(f"on_shutdown handler {name!r}: positional-only parameter {p.name!r} cannot be injected")
        if not p.injectable or p.has_default:
            continue
        try:
            lookup(p.name)
        except LookupError:
            raise TypeError(
                f"on_shutdown handler {name!r}: parameter {p.name!r} has no startup value of that "
                "name (register one with @on_startup) and no default"
            ) from None


def _call_with(name: str, fn: Callable[..., Any], lookup: Callable[[str], Any]) -> Any:
    kwargs: Dict[str, Any] = {}
    for p in parameters(fn):
        if not p.injectable:
            continue
        try:
            kwargs[p.name] = lookup(p.name)
        except LookupError:
            if not p.has_default:
                raise TypeError(f"on_shutdown handler {name!r}: no value for parameter {p.name!r}") from None
    return fn(**kwargs)


def _call_injected(what: str, key: str, fn: Callable[..., Any], values: Mapping[str, Any]) -> Any:
    kwargs: Dict[str, Any] = {}
    for p in parameters(fn):
        if not p.injectable:
            continue
        if p.name in values:
            kwargs[p.name] = values[p.name]
        elif not p.has_default:
            raise TypeError(
                f"{what} {key!r}: parameter {p.name!r} has no startup value registered before it, and no default"
            )
    return fn(**kwargs)
