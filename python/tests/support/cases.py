"""The shared end-to-end cases (``tests/cases/shutdown.json``) and their checks."""

from __future__ import annotations

import json
import os
import re
import signal
import threading
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

from . import paths
from .emulator import Run

CASES_FILE = paths.REPO / "tests" / "cases" / "shutdown.json"


def load() -> Dict[str, Any]:
    data: Dict[str, Any] = json.loads(CASES_FILE.read_text(encoding="utf-8"))
    return data


def cases() -> List[Dict[str, Any]]:
    data = load()
    return [dict(data["defaults"], **case) for case in data["cases"]]


def verdict_field(verdict: str, key: str) -> str:
    head = verdict.split(" -- ")[0]
    for pair in re.findall(r'(?:"(?:[^"\\]|\\.)*"|\S+)=(?:"(?:[^"\\]|\\.)*"|\S+)', head):
        name, _, value = pair.partition("=")
        if name == key:
            return value
    raise AssertionError(f"no {key}= in {verdict!r}")


def check(case: Dict[str, Any], run: Run, output: List[str], extra_sent: int) -> None:
    """Every expectation of ``case`` holds for ``run`` (``output``: the PROBE_OUTPUT lines)."""
    expect = case["expect"]
    ctx = f"case {case['name']}:\n{run.describe()}\noutput: {output}"
    verdict = run.verdict_line()
    if expect.get("lifecycleOk"):
        assert run.returncode == 0, ctx
    if expect.get("noVerdict"):
        assert verdict is None, ctx
    json_verdict = None
    text_keys = ("reason", "outcome", "handlers", "statuses", "verdictEndsWith", "verdictContains")
    if "jsonVerdict" in expect or any(k in expect for k in text_keys):
        assert verdict is not None, f"no verdict line: {ctx}"
        if verdict.lstrip().startswith("{"):
            json_verdict = json.loads(verdict)
    for key in ("reason", "outcome", "handlers"):
        if key in expect:
            if json_verdict is not None:
                got = json_verdict[key]
                if key == "handlers":
                    got = f"{sum(1 for h in got if h['status'] == 'ok')}/{len(got)}"
            else:
                got = verdict_field(verdict or "", key)
            assert got == expect[key], f"{key}: {got!r} != {expect[key]!r}; {ctx}"
    for name, status in expect.get("statuses", {}).items():
        got = verdict_field(verdict or "", name)
        assert got == status or got.startswith(status + "("), f"{name}: {got!r}, want {status}; {ctx}"
    if "verdictEndsWith" in expect:
        assert (verdict or "").endswith(expect["verdictEndsWith"]), ctx
    for text in expect.get("verdictContains", []):
        assert text in (verdict or ""), ctx
    if "jsonVerdict" in expect:
        assert json_verdict is not None, f"the verdict is not JSON: {ctx}"
        for i, want in enumerate(expect["jsonVerdict"]):
            got = json_verdict["handlers"][i]
            assert got["name"] == want["name"] and got["status"] == want["status"], ctx
            if "errorContains" in want:
                assert want["errorContains"] in got.get("error", ""), ctx
    if "runtimeSignals" in expect:
        want = expect["runtimeSignals"]
        if extra_sent:
            want = want[: len(want) - extra_sent]
        assert run.signals("runtime") == want, ctx
    if "runtimeExit" in expect:
        assert run.exit_of("runtime") == expect["runtimeExit"], ctx
    if "extensionExit" in expect:
        assert run.exit_of("graceful-shutdown") == expect["extensionExit"], ctx
    if "runtimeExitWithinMsOfSigterm" in expect:
        term = next(e["at_ms"] for e in run.of("runtime", "signal") if e["signal"] == "SIGTERM")
        ended = run.first_at("runtime", "exited")
        assert ended is not None and ended - term <= expect["runtimeExitWithinMsOfSigterm"], ctx
    if "output" in expect:
        assert output == expect["output"], ctx
    for line in expect.get("outputContains", []):
        assert line in output, f"{line!r} missing; {ctx}"
    for line in expect.get("outputLacks", []):
        assert line not in output, f"{line!r} present; {ctx}"
    for line, count in expect.get("outputCount", {}).items():
        assert output.count(line) == count, ctx
    for text in expect.get("runtimeLogContains", []):
        assert any(text in line for line in run.lines("runtime")), f"{text!r} not logged; {ctx}"


def check_two_workers(verdict: str, output: List[str], ctx: str) -> None:
    """The ``all_handlers_complete`` handlers on Managed Instances with two workers: each
    worker ran both, and the verdict says completed with each worker's handlers ``ok``."""
    assert verdict, ctx
    assert output.count("start flush") == 2 and output.count("close-pool") == 2, output
    if verdict.lstrip().startswith("{"):
        v = json.loads(verdict[verdict.index("{"):])
        assert v["outcome"] == "completed", ctx
        assert len(v["workers"]) == 2 and all(w["outcome"] == "completed" for w in v["workers"]), ctx
        assert sorted((h["worker"], h["name"], h["status"]) for h in v["handlers"]) == [
            ("w1", "close-pool", "ok"), ("w1", "flush", "ok"), ("w2", "close-pool", "ok"), ("w2", "flush", "ok")]
    else:
        assert "outcome=completed" in verdict and "workers=2" in verdict, verdict
        for w in ("w1", "w2"):
            assert f" {w}.flush=ok(" in verdict and f" {w}.close-pool=ok(" in verdict, verdict


def read_lines(path: Path) -> List[str]:
    return path.read_text(encoding="utf-8").splitlines() if path.exists() else []


class ExtraSigterms(threading.Thread):
    """Sends ``count`` more SIGTERMs to the runtime once its first handler has
    started: the emulator's command line has no such fault. Each one is sent
    after the previous one was delivered (no longer pending), so none merge."""

    def __init__(self, output: Path, count: int, sig: int = signal.SIGTERM, after: str = "start ") -> None:
        super().__init__(daemon=True)
        self.output, self.count, self.sig, self.after = output, count, sig, after
        self.sent = 0
        self.error: Optional[str] = None

    def run(self) -> None:
        deadline = time.monotonic() + 30
        # Find the runtime at its first invocation, so the signal follows the
        # handler's first line as closely as possible.
        while not read_lines(self.output) and time.monotonic() < deadline:
            time.sleep(0.001)
        pid = _runtime_pid(self.output)
        if pid is None:
            self.error = "runtime process not found"
            return
        while not any(line.startswith(self.after) for line in read_lines(self.output)):
            if time.monotonic() > deadline:
                self.error = "no handler started"
                return
            time.sleep(0.0001)
        for _ in range(self.count):
            try:
                os.kill(pid, self.sig)
            except ProcessLookupError:
                self.error = "the runtime was gone before the extra SIGTERMs"
                return
            self.sent += 1
            while self.sig == signal.SIGTERM and _pending_sigterm(pid):
                if time.monotonic() > deadline:
                    self.error = "SIGTERM stayed pending"
                    return
                time.sleep(0.0002)


def _runtime_pid(output: Path) -> Optional[int]:
    marker = f"PROBE_OUTPUT={output}".encode()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as f:
                env = f.read().split(b"\0")
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmd = f.read()
        except OSError:
            continue
        if marker in env and b"awslambdaric" in cmd:
            return int(entry)
    return None


def _pending_sigterm(pid: int) -> bool:
    bit = 1 << (signal.SIGTERM - 1)
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(("SigPnd:", "ShdPnd:")) and int(line.split()[1], 16) & bit:
                    return True
    except OSError:
        return False
    return False
