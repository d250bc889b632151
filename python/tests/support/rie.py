"""Running a Python function under AWS's Runtime Interface Emulator (the
open-source Lambda core) with the real shutdown layer and the real awslambdaric.

The RIE runs ``/opt/extensions/*`` beside the runtime, so each run happens in a
private mount and PID namespace (``unshare``, root) with the layer bind-mounted
at ``/opt/extensions`` and the code at ``/var/task``; SIGTERM to the RIE runs
the shutdown phase. In managed-instances mode (``AWS_LAMBDA_MAX_CONCURRENCY``)
the RIE runs ``/var/task/bootstrap`` as an unprivileged user, so the runtime's
interpreter and its packages must be readable by anyone: the system
``python3`` of the same minor version, with a copy of awslambdaric.
Every wait is for something the RIE logs, with a deadline.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence

from . import paths
from .ports import reserved_port


def rie_binary() -> Path:
    explicit = os.environ.get("AWS_LAMBDA_RIE")
    if explicit:
        return Path(explicit)
    script = (paths.REPO / "scripts" / "rie-compare.sh").read_text()
    version = re.search(r"^VERSION=(\S+)$", script, re.M)
    assert version, "scripts/rie-compare.sh has no VERSION= line"
    return paths.require(paths.TARGET / "rie" / version.group(1) / "aws-lambda-rie",
                         "run `bash scripts/rie-compare.sh` (it installs the pinned RIE)")


@dataclass
class RieRun:
    log: List[str]
    exit_code: Optional[int]

    def verdict_line(self) -> Optional[str]:
        for line in self.log:
            if "graceful-shutdown verdict" in line:
                return line
        return None

    def describe(self) -> str:
        return "\n".join(self.log)


def _site_packages_of_runtime() -> Path:
    found = list((paths.RUNTIME_PYTHON.parents[1] / "lib").glob("python3*/site-packages"))
    assert found, f"no site-packages under {paths.RUNTIME_PYTHON.parents[1]}"
    return found[0]


def stage(into: Path, code_dir: Path, library: Sequence[Path], *, managed_instances: bool) -> Dict[str, Path]:
    """Lay out code, layer and (for managed instances) a world-readable runtime."""
    into.mkdir(parents=True, exist_ok=True)
    task = into / "task"
    shutil.copytree(code_dir, task, ignore=shutil.ignore_patterns("__pycache__"))
    layer = into / "extensions"
    layer.mkdir()
    shutil.copy2(paths.layer_binary(), layer / "graceful-shutdown")
    deps = into / "deps"
    deps.mkdir()
    for src in library:
        for entry in src.iterdir():
            if entry.name.startswith("lambda_graceful_shutdown"):
                shutil.copytree(entry, deps / entry.name, symlinks=False,
                                ignore=shutil.ignore_patterns("__pycache__"))
    if managed_instances:
        runtime_minor = subprocess.run([str(paths.RUNTIME_PYTHON), "-c", "import sys; print(sys.version_info[:2])"],
                                       capture_output=True, text=True, check=True).stdout
        python = Path("/usr/bin/python3")
        system_minor = subprocess.run([str(python), "-c", "import sys; print(sys.version_info[:2])"],
                                      capture_output=True, text=True, check=True).stdout
        assert runtime_minor == system_minor, (
            f"managed-instances mode runs the runtime as an unprivileged user: it needs {python} of the same "
            f"Python version as .runtimes/python ({runtime_minor.strip()}), found {system_minor.strip()}")
        site = _site_packages_of_runtime()
        for entry in site.iterdir():
            if entry.name.startswith(("awslambdaric", "runtime_client", "simplejson", "snapshot_restore_py")):
                (shutil.copytree if entry.is_dir() else shutil.copy2)(entry, deps / entry.name)
    else:
        python = paths.RUNTIME_PYTHON
    bootstrap = task / "bootstrap"
    bootstrap.write_text(f"#!/bin/sh\nexec '{python}' -m awslambdaric \"$_HANDLER\"\n")
    bootstrap.chmod(0o755)
    out = into / "out"
    out.mkdir()
    for root, dirs, files in os.walk(into):
        os.chmod(root, 0o755)
        for f in files:
            p = os.path.join(root, f)
            if not os.path.islink(p):
                os.chmod(p, os.stat(p).st_mode | 0o644)
    out.chmod(0o777)
    return {"task": task, "layer": layer, "deps": deps, "out": out}


def _children(pid: int) -> List[int]:
    found: List[int] = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                found += [int(x) for x in f.read().split()]
    except OSError:
        pass
    return found


def _wait_log(log: Path, predicate, deadline: float, what: str) -> List[str]:
    while True:
        lines = log.read_text(errors="replace").splitlines() if log.exists() else []
        if predicate(lines):
            return lines
        if time.monotonic() > deadline:
            raise AssertionError(f"the RIE never logged {what}:\n" + "\n".join(lines))
        time.sleep(0.005)


def _listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _invoke(port: int, payload: str) -> str:
    body = payload.encode()
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(b"POST /2015-03-31/functions/function/invocations HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                  b"Content-Type: application/json\r\nConnection: close\r\n"
                  + f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
        answer = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            answer += chunk
    return answer.decode(errors="replace")


NEXT_MARKERS = ("GET /2018-06-01/runtime/invocation/next", "Received Runtime /next")


def run(staged: Dict[str, Path], env: Dict[str, str], *, events: Sequence[str], polling: bool,
        managed_instances: bool = False, deadline_s: float = 60) -> RieRun:
    """Invoke once per event, wait until the runtime is idle in ``next()``, SIGTERM the RIE."""
    rie = rie_binary()
    work = staged["task"].parent
    # The runtime writes to the RIE's stdout itself: on a disk busy with a
    # build's writeback one write can block past the RIE's shutdown share, so
    # the log lives on tmpfs where there is one (copied beside the script after).
    shm = Path("/dev/shm")
    live = Path(tempfile.mkdtemp(prefix="graceful-shutdown-rie-", dir=shm)) if shm.is_dir() else None
    log = (live or work) / "rie.log"
    deadline = time.monotonic() + deadline_s
    with reserved_port() as port, reserved_port() as api_port:
        script = work / "rie.sh"
        script.write_text(
            "set -e\nmount -t tmpfs tmpfs /opt\nmkdir -p /opt/extensions /var/task\n"
            f"mount --bind '{staged['layer']}' /opt/extensions\nmount --bind '{staged['task']}' /var/task\n"
            f"cd /var/task\nexec '{rie}' --log-level debug --runtime-interface-emulator-address 127.0.0.1:{port} "
            f"--runtime-api-address 127.0.0.1:{api_port} /var/task/bootstrap\n")
        full_env = {"PATH": "/usr/bin:/bin", "AWS_LAMBDA_FUNCTION_TIMEOUT": "10", "_HANDLER": "app.handler",
                    "LAMBDA_TASK_ROOT": "/var/task", "PYTHONPATH": f"/var/task:{staged['deps']}",
                    "PYTHONDONTWRITEBYTECODE": "1"}
        if polling:
            full_env["AWS_EXECUTION_ENV"] = "AWS_Lambda_python3.12"
        full_env.update(env)
        with open(log, "wb") as out:
            unshare = subprocess.Popen(
                ["unshare", "--mount", "--propagation", "private", "--pid", "--fork", "--kill-child=SIGTERM",
                 "--mount-proc", "sh", str(script)],
                env=full_env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True)
        try:
            # Both of its servers, or an extension may start before the Runtime API listens.
            while not (_listening(port) and _listening(api_port)):
                assert unshare.poll() is None, f"the RIE ended before listening:\n{log.read_text()}"
                assert time.monotonic() < deadline, f"the RIE did not listen on {port}:\n{log.read_text()}"
                time.sleep(0.01)
            rie_pid = next(iter(_children(unshare.pid)), None)
            assert rie_pid is not None, "the RIE process was not found"
            workers = int(env.get("AWS_LAMBDA_MAX_CONCURRENCY", "1"))

            def wait_nexts(wanted: int) -> None:
                _wait_log(log, lambda ls: sum(any(m in line for m in NEXT_MARKERS) for line in ls) >= wanted,
                          deadline, f"{wanted} calls of /invocation/next")

            for i, payload in enumerate(events):
                if managed_instances:
                    # Each invocation goes to an idle worker: wait until every worker has
                    # called /next (at its start, then after each response).
                    wait_nexts(workers + i)
                answer = _invoke(port, payload)
                assert answer.startswith("HTTP/1.1 200"), f"RIE answered: {answer}\n{log.read_text()}"
            # Idle: the runtime called /next again after its last response.
            wait_nexts(len(events) + workers)
            os.kill(rie_pid, signal.SIGTERM)
            _wait_log(log, lambda ls: any("Waiting for runtime domain processes termination" in l for l in ls),
                      deadline, "the end of the shutdown phase")
            try:
                os.kill(rie_pid, signal.SIGTERM)  # makes it exit
            except ProcessLookupError:
                pass
            try:
                code = unshare.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(unshare.pid, signal.SIGKILL)
                code = unshare.wait(10)
        finally:
            if unshare.poll() is None:
                os.killpg(unshare.pid, signal.SIGKILL)
                unshare.wait(10)
    text = log.read_text(errors="replace")
    if live is not None:
        (work / "rie.log").write_text(text)
        shutil.rmtree(live, ignore_errors=True)
    return RieRun(text.splitlines(), code)


