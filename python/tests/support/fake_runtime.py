"""A minimal Lambda Runtime API on loopback (the kernel picks the port; we read it
back), enough to run the real awslambdaric: it serves ``invocations`` events,
then holds the next ``/invocation/next`` open, as Lambda does with an idle
environment, and says when that happened."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Dict, List, Optional

from . import paths

PREFIX = "/2018-06-01/runtime"


class FakeRuntimeAPI:
    def __init__(self, invocations: int = 1) -> None:
        self.remaining = invocations
        self.responses: List[bytes] = []
        self.response_ns: List[int] = []
        self.first_next_ns = 0
        self.errors: List[bytes] = []
        self.idle = threading.Event()
        self.idle_ns = 0
        self.stop = threading.Event()
        self._lock = threading.Lock()
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                if self.path != f"{PREFIX}/invocation/next":
                    self.send_error(404)
                    return
                with api._lock:
                    if not api.first_next_ns:
                        api.first_next_ns = time.monotonic_ns()
                    serve = api.remaining > 0
                    api.remaining -= 1 if serve else 0
                if not serve:
                    api.idle_ns = time.monotonic_ns()
                    api.idle.set()
                    api.stop.wait(120)
                    return
                body = b"{}"
                self.send_response(200)
                self.send_header("Lambda-Runtime-Aws-Request-Id", str(uuid.uuid4()))
                self.send_header("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 30000))
                self.send_header("Lambda-Runtime-Invoked-Function-Arn",
                                 "arn:aws:lambda:us-east-1:123456789012:function:probe")
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                (api.responses if self.path.endswith("/response") else api.errors).append(body)
                api.response_ns.append(time.monotonic_ns())
                self.send_response(202)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.stop.set()
        self.server.shutdown()
        self.server.server_close()


@dataclass
class Measured:
    """One SIGTERM of an idle runtime: when the handler started, when the process ended."""

    handler_ms: Optional[float]
    gone_ms: float
    exit: str  # code:<n> or signal:<NAME>
    killed_by_us: bool
    output: str


def run_idle_then_sigterm(
    code_dir: Path,
    env: Dict[str, str],
    *,
    polling: bool,
    mark: Path,
    share_ms: float = 300,
    pythonpath: Optional[List[Path]] = None,
    sig: int = signal.SIGTERM,
) -> Measured:
    """Start awslambdaric on ``code_dir``, answer one invocation, wait until it is idle
    in ``next()``, SIGTERM it; SIGKILL it ``share_ms`` later if it is still there (as
    Lambda does)."""
    api = FakeRuntimeAPI(invocations=1)
    search = [code_dir] + (pythonpath if pythonpath is not None else [paths.SRC])
    full_env = {k: v for k, v in os.environ.items()
                if not k.startswith(("GRACEFUL_SHUTDOWN_", "AWS_", "PYTHON"))}
    full_env.update({
        "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{api.port}",
        "_HANDLER": "app.handler",
        "LAMBDA_TASK_ROOT": str(code_dir),
        "PYTHONPATH": ":".join(str(p) for p in search),
        "PYTHONDONTWRITEBYTECODE": "1",
        "SIGTERM_MARK": str(mark),
    })
    if polling:
        full_env["AWS_EXECUTION_ENV"] = "AWS_Lambda_python3.12"
    full_env.update(env)
    proc = subprocess.Popen(
        [str(paths.RUNTIME_PYTHON), "-m", "awslambdaric", "app.handler"],
        cwd=code_dir, env=full_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    pidfd = os.pidfd_open(proc.pid)
    try:
        if not api.idle.wait(60):
            raise AssertionError("the runtime never became idle in /invocation/next")
        sent = time.monotonic_ns()
        os.kill(proc.pid, sig)
        ready, _, _ = select.select([pidfd], [], [], share_ms / 1000)
        killed = not ready
        if killed:
            os.kill(proc.pid, signal.SIGKILL)
            select.select([pidfd], [], [], 30)
        gone = time.monotonic_ns()
        code = proc.wait(30)
        out = proc.stdout.read().decode("utf-8", "replace") if proc.stdout else ""
    finally:
        os.close(pidfd)
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        api.close()
    marks = mark.read_text().split() if mark.exists() else []
    handler_ms = (int(marks[0]) - sent) / 1e6 if marks else None
    return Measured(handler_ms, (gone - sent) / 1e6, f"signal:{signal.Signals(-code).name}" if code < 0
                    else f"code:{code}", killed, out)


def responses_ok(api_responses: List[bytes]) -> bool:
    return all(json.loads(b) == {"ok": True} for b in api_responses)
