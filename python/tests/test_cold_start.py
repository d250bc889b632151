"""Cold start: ``import lambda_graceful_shutdown`` and ``install()`` pull in only
what they must, in a fresh interpreter that has already imported the runtime
client (awslambdaric), as a real cold start has. What only the shutdown needs
is imported by a thread of the signal watcher's after ``install()``, never by the
main thread. The sets of newly imported modules are compared exactly; no time
is asserted (python/bench/bench.py measures the time)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Optional

from support import paths
from support.capture import FakeExtension
from support.ports import reserved_port

PACKAGE = "lambda_graceful_shutdown"

#: What ``import lambda_graceful_shutdown`` + ``from_env()`` + ``install()``
#: import on the main thread, after the client's own imports.
COLD = {PACKAGE} | {f"{PACKAGE}.{m}" for m in ("_core", "_limits", "_log", "_params", "attach", "config", "report",
                                                 "runner", "signals")}
#: What the signal watcher's warm-up thread imports ahead of the shutdown: the
#: result classes (an enum and two named tuples, slow to make), faulthandler and gc.
WARM = {f"{PACKAGE}._results", "faulthandler", "gc"}

#: Slow to import and not loaded by the client: never at cold start (typing and
#: socket: milliseconds each; signal builds enums; the rest far more).
NEVER = {"typing", "socket", "signal", "selectors", "inspect", "asyncio", "dataclasses", "importlib.resources"}

SCRIPT = r"""
import json, sys, threading
PRELOAD
preloaded = set(sys.modules)
before = set(preloaded)
import lambda_graceful_shutdown
from lambda_graceful_shutdown import GracefulShutdown, _core
imported = set(sys.modules) - before

# The warm-up thread runs only once the main thread has taken its count.
go, warmed = threading.Event(), threading.Event()
real_warm = _core.GracefulShutdown._warm
def gated(self):
    go.wait()
    try:
        real_warm(self)
    finally:
        warmed.set()
_core.GracefulShutdown._warm = gated

before = set(sys.modules)
s = GracefulShutdown.from_env()
@s.on_startup
def db():
    return "db"
@s.on_shutdown
def close_db(db):
    pass
s.install()
installed = set(sys.modules) - before

before = set(sys.modules)
go.set()
assert warmed.wait(60), "the warm-up never ran"
sent = s.flush_reports(30)
warm = set(sys.modules) - before
print(json.dumps({"preloaded": sorted(preloaded), "import": sorted(imported),
                  "install": sorted(installed), "warm": sorted(warm), "attached": s.extension_attached,
                  "sent": sent}))
"""


def run(python: Path, preload: str, tmp_path: Path, secret: Optional[str] = None,
        port: Optional[int] = None) -> Dict[str, object]:
    if port is None:  # no extension: a port nobody listens on, never used
        with reserved_port() as free:
            return run(python, preload, tmp_path, secret, free)
    secret_file = tmp_path / "secret"
    if secret is not None:
        secret_file.write_text(secret)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GRACEFUL_SHUTDOWN_", "AWS_", "PYTHON"))}
    env.update({"PYTHONPATH": str(paths.SRC), "GRACEFUL_SHUTDOWN_SECRET_FILE": str(secret_file),
                "GRACEFUL_SHUTDOWN_PORT": str(port), "PYTHONDONTWRITEBYTECODE": "1"})
    done = subprocess.run([str(python), "-c", SCRIPT.replace("PRELOAD", preload)], env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    result: Dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def names(result: Dict[str, object], key: str) -> set:
    value = result[key]
    assert isinstance(value, list)
    return set(value)


def client_python() -> Path:
    return paths.require(paths.RUNTIME_PYTHON, "run `bash scripts/setup.sh` (it installs awslambdaric there)")


def test_without_the_extension_the_main_thread_imports_only_the_package(tmp_path: Path) -> None:
    got = run(client_python(), "import awslambdaric.bootstrap", tmp_path)
    assert got["attached"] is False
    assert names(got, "import") | names(got, "install") == COLD, got
    # Without an extension nothing is ever sent: no reporter, no socket.
    assert names(got, "warm") == WARM, got


def test_with_the_extension_the_hello_is_sent_from_the_background(tmp_path: Path) -> None:
    extension = FakeExtension(expect=1)
    extension.start()
    got = run(client_python(), "import awslambdaric.bootstrap", tmp_path, secret="s" * 64, port=extension.port)
    assert extension.done.wait(30) and extension.error is None, extension.error
    assert got["attached"] is True and got["sent"] is True, got
    assert b'"type":"hello"' in extension.requests[0]
    assert names(got, "import") | names(got, "install") == COLD | {f"{PACKAGE}.reporter"}, got
    # The connection's module is imported by the reports' thread, which the
    # warm-up thread starts: the C module, not socket (enums built at import).
    assert names(got, "warm") == WARM | {"_socket"}, got


def test_the_slow_modules_stay_out_of_a_bare_interpreter_too(tmp_path: Path) -> None:
    # Without the client (a test, a script): still none of them, on any
    # supported Python.
    got = run(Path(sys.executable), "", tmp_path)
    everything = names(got, "import") | names(got, "install") | names(got, "warm")
    assert not everything & NEVER, sorted(everything & NEVER)


def test_what_the_client_preloads_is_what_the_package_may_use_for_free(tmp_path: Path) -> None:
    # The package imports json and logging at cold start (and enum in the
    # warm-up) on the assumption that the client has loaded them.
    # A client that no longer does would make this test say so.
    got = run(client_python(), "import awslambdaric.bootstrap", tmp_path)
    preloaded = names(got, "preloaded")
    used: List[str] = ["json", "logging", "enum", "collections", "threading"]
    assert set(used) <= preloaded, sorted(set(used) - preloaded)
    assert PACKAGE not in preloaded, "the package was imported before the count"
    assert not (COLD | WARM) & NEVER



SIGNAL_SCRIPT = r"""
import gc, json, os, signal, sys, threading
PRELOAD
from lambda_graceful_shutdown import GracefulShutdown, _core
warmed = threading.Event()
real_warm = _core.GracefulShutdown._warm
def counted(self):
    try:
        real_warm(self)
    finally:
        warmed.set()
_core.GracefulShutdown._warm = counted
s = GracefulShutdown.from_env()
seen = {}
@s.on_shutdown
def first():
    seen["imported"] = sorted(set(sys.modules) - before)
    seen["gc"] = gc.isenabled()
@s.on_shutdown
def second():
    os.write(1, (json.dumps(seen) + "\n").encode())
s.install()
assert warmed.wait(60), "the warm-up never ran"
before = set(sys.modules)
os.kill(os.getpid(), signal.SIGTERM)
threading.Event().wait(60)  # the shutdown ends the process with os._exit(0)
sys.exit("the shutdown did not end the process")
"""


def test_once_warmed_the_shutdown_imports_nothing_and_collects_no_garbage(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GRACEFUL_SHUTDOWN_", "AWS_", "PYTHON"))}
    env.update({"PYTHONPATH": str(paths.SRC), "GRACEFUL_SHUTDOWN_SECRET_FILE": str(tmp_path / "none"),
                "PYTHONDONTWRITEBYTECODE": "1"})
    done = subprocess.run([str(client_python()), "-c", SIGNAL_SCRIPT.replace("PRELOAD", "import awslambdaric.bootstrap")],
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    seen = json.loads(done.stdout.strip().splitlines()[0])
    # Nothing is imported between the signal and the handlers, and no cyclic
    # garbage collection can pause them: the process is ending.
    assert seen == {"imported": [], "gc": False}, seen
