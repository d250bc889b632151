"""Side-by-side figures for the Python library, on the real awslambdaric:

- import + install at cold start (a fresh interpreter each time, after the
  runtime client's own imports, the package's bytecode compiled as pip
  installs it), without the extension and with it (its secret file present,
  the ``hello`` then sent from the background), target <= 3 ms;
- per-invocation latency with and without the library (ratio, target <= 1.01);
- SIGTERM -> first handler running, and SIGTERM -> process gone, with the
  runtime idle in its native next(), thread polling off and on;
- what ``Reporter.send_now`` (``shutdownStarted``, each ``started``) costs the
  handlers' path, against a fake extension in another process that answers at
  once, and one that answers only after 10 ms;

each against the hand-written ``signal.signal(SIGTERM, ...)`` pattern. Prints
one line per row: median, p10-p90, n. ``--json FILE`` also writes them.

    python/.venv/bin/python python/bench/bench.py [--runs 15] [--invokes 300] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Optional, Tuple

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

from support import paths  # noqa: E402
from support.fake_runtime import FakeRuntimeAPI, run_idle_then_sigterm  # noqa: E402
from support.ports import reserved_port  # noqa: E402

SIGTERM_CODE = paths.PYTHON_DIR / "tests" / "functions" / "sigterm"

INSTALL = {
    "library": (
        "from lambda_graceful_shutdown import GracefulShutdown\n"
        "s = GracefulShutdown.from_env()\n"
        "@s.on_shutdown\n"
        "def flush(): pass\n"
        "s.install()\n"
    ),
    "handwritten": (
        "import signal, sys\n"
        "def on_sigterm(signum, frame): sys.exit(0)\n"
        "signal.signal(signal.SIGTERM, on_sigterm)\n"
    ),
}


def row(name: str, values: List[float], unit: str = "ms") -> Dict[str, object]:
    values = sorted(values)
    if not values:
        return {"row": name, "n": 0}
    q = statistics.quantiles(values, n=10) if len(values) >= 2 else [values[0]] * 9
    return {"row": name, "median": statistics.median(values), "p10": q[0], "p90": q[-1], "n": len(values),
            "unit": unit}


def show(r: Dict[str, object]) -> None:
    if not r["n"]:
        print(f"{r['row']:<62} {'never':>10}")
        return
    print(f"{r['row']:<62} {r['median']:>9.3f} {r['unit']}  (p10 {r['p10']:.3f} - p90 {r['p90']:.3f}, n={r['n']})")


#: The target of the library's import + install row (median), in ms: a 128 MB
#: function has about 7 % of a core, and the cold start is what users feel.
INSTALL_TARGET_MS = 3.0


def install_cost(kind: str, runs: int, attached: bool = False) -> List[float]:
    # In the runtime's process, after the runtime client's own imports, as at a real cold start.
    code = ("import time, awslambdaric.bootstrap\nt = time.perf_counter()\n" + INSTALL[kind]
            + "print((time.perf_counter() - t) * 1000)\n")
    with tempfile.TemporaryDirectory() as d, reserved_port() as port:
        secret = Path(d) / "secret"
        if attached:
            # The extension's secret file; nothing listens on the port (held
            # free for this run), so the hello, sent from the background after
            # the measurement, is refused.
            secret.write_text("s" * 64)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("GRACEFUL_SHUTDOWN_", "PYTHON"))}
        # Compiled bytecode, as pip installs a package (into a cache of this run's
        # own, so that the source tree is left alone), written by one run first.
        env.update(PYTHONPATH=str(paths.SRC), PYTHONPYCACHEPREFIX=str(Path(d) / "pycache"),
                   GRACEFUL_SHUTDOWN_SECRET_FILE=str(secret), GRACEFUL_SHUTDOWN_PORT=str(port))
        out = []
        for i in range(runs + 1):
            done = subprocess.run([str(paths.RUNTIME_PYTHON), "-c", code], env=env, capture_output=True, text=True,
                                  check=True, timeout=60)
            if i:
                out.append(float(done.stdout.strip().splitlines()[-1]))
    return out


def per_invoke(mode: str, invokes: int, polling: bool) -> float:
    """Mean milliseconds per invocation, measured at the Runtime API (answer to answer)."""
    api = FakeRuntimeAPI(invocations=invokes)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GRACEFUL_SHUTDOWN_", "AWS_", "PYTHON"))}
    env.update({"AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{api.port}", "_HANDLER": "app.handler",
                "LAMBDA_TASK_ROOT": str(SIGTERM_CODE), "PYTHONPATH": f"{SIGTERM_CODE}:{paths.SRC}",
                "SIGTERM_MODE": mode, "GRACEFUL_SHUTDOWN_SECRET_FILE": "/nonexistent"})
    if polling:
        env["AWS_EXECUTION_ENV"] = "AWS_Lambda_python3.12"
    proc = subprocess.Popen([str(paths.RUNTIME_PYTHON), "-m", "awslambdaric", "app.handler"], cwd=SIGTERM_CODE,
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert api.idle.wait(120), "the runtime never finished its invocations"
        first, last = api.response_ns[0], api.response_ns[-1]
        return (last - first) / 1e6 / (len(api.response_ns) - 1)
    finally:
        proc.kill()
        proc.wait(10)
        api.close()


def sigterm(mode: str, polling: bool, runs: int) -> Dict[str, List[float]]:
    handler, gone, killed = [], [], 0
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as d:
            m = run_idle_then_sigterm(SIGTERM_CODE, {"SIGTERM_MODE": mode,
                                                     "GRACEFUL_SHUTDOWN_SECRET_FILE": "/nonexistent"},
                                      polling=polling, mark=Path(d) / "mark")
        if m.handler_ms is not None:
            handler.append(m.handler_ms)
        gone.append(m.gone_ms)
        killed += m.killed_by_us
    return {"handler": handler, "gone": gone, "killed": [float(killed)]}


FAKE_EXTENSION = """
import socket, sys, threading, time
delay = float(sys.argv[1])
server = socket.create_server(("127.0.0.1", 0))
print(server.getsockname()[1], flush=True)
def serve(conn):
    with conn:
        data = b""
        while not data.endswith(b"}"):
            chunk = conn.recv(4096)
            if not chunk:
                return
            data += chunk
        time.sleep(delay)  # the extension's own pace, not synchronisation
        conn.sendall(b"HTTP/1.1 202 Accepted\\r\\nContent-Length: 0\\r\\n\\r\\n")
while True:
    conn, _ = server.accept()
    threading.Thread(target=serve, args=(conn,), daemon=True).start()
"""


def send_now_cost(runs: int, answer_after_s: float) -> Tuple[List[float], int]:
    """Milliseconds one ``send_now`` holds the caller, each time with an earlier
    report's answer still pending (as when ``finished`` of one handler was just
    queued and ``started`` of the next is written); and how many times it
    missed the runner's limit (the report then left to the sending thread)."""
    sys.path.insert(0, str(paths.SRC))
    from lambda_graceful_shutdown import report as r
    from lambda_graceful_shutdown.reporter import Reporter
    from lambda_graceful_shutdown.runner import SYNC_REPORT_LIMIT_S

    proc = subprocess.Popen([sys.executable, "-c", FAKE_EXTENSION, str(answer_after_s)], stdout=subprocess.PIPE,
                            text=True)
    try:
        assert proc.stdout is not None
        port = int(proc.stdout.readline())
        reporter = Reporter.to_extension(port, "s")
        out = []
        missed = 0
        for i in range(runs):
            reporter.send(r.finished("h", i, 1))
            t = time.perf_counter()
            written = reporter.send_now(r.started("h", i + 1), SYNC_REPORT_LIMIT_S)
            out.append((time.perf_counter() - t) * 1000)
            missed += not written
            assert reporter.flush(5), "the fake extension did not answer"
        return out, missed
    finally:
        proc.kill()
        proc.wait(10)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--invokes", type=int, default=300)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    rows: List[Dict[str, object]] = []

    def add(r: Dict[str, object]) -> None:
        rows.append(r)
        show(r)

    for kind in ("library", "handwritten"):
        name = f"import + install at cold start: {kind}"
        if kind == "library":
            name += f" (target <= {INSTALL_TARGET_MS:g} ms)"
        add(row(name, install_cost(kind, args.runs)))
    add(row(f"import + install at cold start, extension attached: library (target <= {INSTALL_TARGET_MS:g} ms)",
            install_cost("library", args.runs, attached=True)))
    for polling in (False, True):
        label = "polling on" if polling else "polling off"
        with_lib: List[float] = []
        without: List[float] = []
        for _ in range(max(3, args.runs // 3)):  # interleaved, one by one
            with_lib.append(per_invoke("library", args.invokes, polling))
            without.append(per_invoke("none", args.invokes, polling))
        add(row(f"per invoke, {label}: with the library", with_lib))
        add(row(f"per invoke, {label}: without", without))
        ratios = [a / b for a, b in zip(with_lib, without)]
        add(row(f"per invoke, {label}: ratio with/without (target <= 1.01)", ratios, unit="x"))
    for polling in (False, True):
        label = "polling on" if polling else "polling off (main thread blocked in next())"
        for mode in ("library", "handwritten"):
            got = sigterm(mode, polling, args.runs)
            add(row(f"SIGTERM -> first handler, {label}: {mode}", got["handler"]))
            add(row(f"SIGTERM -> process gone, {label}: {mode}", got["gone"]))
            if got["killed"][0]:
                print(f"    {mode}, {label}: SIGKILLed at the end of the 300 ms share in "
                      f"{int(got['killed'][0])} of {args.runs} runs")
    for answer_after_s in (0.0, 0.010):
        times, missed = send_now_cost(args.runs * 20, answer_after_s)
        add(row(f"send_now on the handlers' path, answers after {int(answer_after_s * 1000)} ms", times))
        if missed:
            print(f"    send_now missed its limit in {missed} of {len(times)} calls")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
