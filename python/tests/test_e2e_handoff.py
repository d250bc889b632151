"""The handoff end to end (docs/protocol.md, "Handoff"): a shutdown handler of a
Python function on the real awslambdaric hands a request off with ``handoff``;
the real shutdown layer of the handoff flavour takes it and sends it, in the
lifecycle emulator (SIGTERM, the runtime's share, the runtime gone, then
SHUTDOWN and the rest of the phase for the extension), to an HTTP endpoint on
loopback run by the test, which stands for the service the function writes to."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

import pytest

from support import cases, emulator, paths
from support.ports import reserved_port

CODE = paths.PYTHON_DIR / "tests" / "functions" / "handoff"
EXT = "graceful-shutdown"


class Endpoint:
    """A loopback HTTP server that keeps every request it gets and answers 200
    after ``answer_after_s``: longer than the runtime's share, so the delivery
    can only end once the runtime has gone."""

    def __init__(self, answer_after_s: float) -> None:
        self.received: List[Dict[str, Any]] = []
        self.lock = threading.Lock()
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (the http.server name)
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with endpoint.lock:
                    endpoint.received.append({"path": self.path, "headers": dict(self.headers),
                                              "body": body.decode("utf-8"), "at": time.monotonic()})
                time.sleep(answer_after_s)  # the slow service under test, not a synchronisation
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port: int = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def requests(self) -> List[Dict[str, Any]]:
        with self.lock:
            return list(self.received)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def endpoint() -> Iterator[Endpoint]:
    e = Endpoint(answer_after_s=0.6)
    try:
        yield e
    finally:
        e.close()


def run_handoff(tmp_path: Path, endpoint: Endpoint, binary: Path, polling: bool) -> tuple:
    fn = emulator.stage_function(tmp_path, polling=polling, code_dir=CODE)
    layer = emulator.stage_layer(tmp_path, binary)
    output = tmp_path / "handoff-output.txt"
    with reserved_port() as port:
        env = {"HANDOFF_URL": f"http://127.0.0.1:{endpoint.port}/flush", "HANDOFF_OUTPUT": str(output),
               "GRACEFUL_SHUTDOWN_PORT": str(port), "GRACEFUL_SHUTDOWN_SECRET_FILE": str(tmp_path / "secret")}
        run = emulator.run(fn, layer, env=env)
    results = [json.loads(line) for line in cases.read_lines(output)]
    return run, results


def handoff_counts(run: emulator.Run, ctx: str) -> Optional[Dict[str, Any]]:
    verdict = cases.read_verdict(run.verdict_line())["verdict"]
    assert verdict["outcome"] == "completed", ctx
    found: Optional[Dict[str, Any]] = verdict.get("handoff")
    return found


def runtime_gone_at(run: emulator.Run, ctx: str) -> float:
    gone = run.of("runtime", "exited")
    assert gone, f"the runtime never exited:\n{ctx}"
    return float(gone[0]["at_ms"])


@pytest.mark.parametrize("polling", [False, True], ids=["polling-off", "polling-on"])
def test_a_handed_off_request_is_delivered_after_the_runtime_has_gone(
        polling: bool, tmp_path: Path, endpoint: Endpoint) -> None:
    run, results = run_handoff(tmp_path, endpoint, paths.handoff_layer_binary(), polling)
    ctx = run.describe() + f"\nhandoff results: {results}\nreceived: {endpoint.requests()}"
    assert run.returncode == 0, ctx
    # The handler got the extension's answer: taken, one request, one held.
    assert results == [{"ok": True, "status": 202, "message": "", "accepted": 1, "held": 1}], ctx
    # The endpoint got the request as the handler built it.
    [got] = endpoint.requests()
    assert got["path"] == "/flush" and got["headers"]["content-type"] == "application/json", ctx
    body = json.loads(got["body"])
    assert body["note"] == "caf\u00e9" and isinstance(body["pid"], int), ctx
    # Its answer came 600 ms later, after the runtime had gone (SIGKILLed or
    # exited): only the extension was left to take it.
    delivered = [log for log in run.logs if log["source"] == EXT and "handoff: delivered" in log["line"]]
    assert delivered, ctx
    assert delivered[0]["at_ms"] > runtime_gone_at(run, ctx), ctx
    # The verdict: handoff=1/1, nothing dead-lettered or refused.
    assert handoff_counts(run, ctx) == {"handedOff": 1, "delivered": 1, "deadLettered": 0, "refused": 0}, ctx


def test_the_default_layer_refuses_and_the_handler_is_told_why(tmp_path: Path, endpoint: Endpoint) -> None:
    run, results = run_handoff(tmp_path, endpoint, paths.layer_binary(), polling=False)
    ctx = run.describe() + f"\nhandoff results: {results}"
    assert run.returncode == 0, ctx
    [result] = results
    assert (result["ok"], result["status"]) == (False, 501), ctx
    assert "handoff flavour" in result["message"], ctx
    assert endpoint.requests() == [], ctx
    # The library logged the refusal, with the status and the extension's message.
    logged = [line for line in run.lines("runtime") if "graceful-shutdown: handoff refused (501 Not Implemented)" in line]
    assert len(logged) == 1 and result["message"] in logged[0], ctx
    counts = handoff_counts(run, ctx)
    assert counts is not None and counts["refused"] == 1 and counts["handedOff"] == 0, ctx
