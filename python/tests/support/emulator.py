"""Running a Python function in the lifecycle emulator, with the real shutdown layer
and the real ``awslambdaric`` as the runtime, and reading the timeline back."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

from . import paths

@dataclass
class Run:
    """One emulator run: its exit status, the timeline's events and log lines."""

    returncode: int
    events: List[Dict[str, Any]]
    logs: List[Dict[str, Any]]
    stderr: str
    raw: str = field(repr=False, default="")

    def of(self, source: str, kind: Optional[str] = None) -> List[Dict[str, Any]]:
        return [e for e in self.events if e["source"] == source and (kind is None or e["kind"] == kind)]

    def signals(self, source: str = "runtime") -> List[str]:
        return [e["signal"] for e in self.of(source, "signal")]

    def first_at(self, source: str, kind: str) -> Optional[float]:
        found = self.of(source, kind)
        return found[0]["at_ms"] if found else None

    def exit_of(self, source: str) -> Optional[str]:
        for e in self.of(source, "exited"):
            if e.get("code") is not None:
                return f"code:{e['code']}"
            return f"signal:{e.get('signal')}"
        return None

    def lines(self, source: str) -> List[str]:
        return [log["line"] for log in self.logs if log["source"] == source]

    def verdict_line(self) -> Optional[str]:
        for log in self.logs:
            if "graceful-shutdown verdict" in log["line"]:
                return str(log["line"])
        return None

    def describe(self) -> str:
        """The whole timeline, for failure messages."""
        merged = sorted(
            [(e["at_ms"], e["source"], json.dumps({k: v for k, v in e.items() if k not in ("at_ms", "source")}))
             for e in self.events]
            + [(log["at_ms"], log["source"], "| " + log["line"]) for log in self.logs]
        )
        body = "\n".join(f"{at:9.1f} ms  {src:18} {what}" for at, src, what in merged)
        return f"emulator exit {self.returncode}\n{body}\nstderr:\n{self.stderr}"


@dataclass
class Function:
    """A function's code directory and how the runtime client runs it."""

    dir: Path
    env: Dict[str, str]
    args: List[str]


def stage_function(
    into: Path,
    *,
    polling: bool,
    pythonpath: Sequence[Path] = (paths.SRC,),
    code_dir: Path = paths.PROBE,
    handler: str = "app.handler",
    runtime: str = "python3.12",
) -> Function:
    """The code of ``code_dir``, run by the emulator on the real awslambdaric
    (``--runtime``), thread polling on (``AWS_EXECUTION_ENV`` as Lambda sets it for
    python3.12) or off (unset, as in container images), the library found on
    ``pythonpath`` after the function's own directory."""
    paths.require(paths.RUNTIME_PYTHON, "run `bash scripts/setup.sh` (it installs awslambdaric under .runtimes/)")
    fn = into / "fn"
    shutil.copytree(code_dir, fn, ignore=shutil.ignore_patterns("__pycache__"))
    env = {"PYTHONPATH": ":".join([str(fn)] + [str(p) for p in pythonpath]), "PYTHONDONTWRITEBYTECODE": "1"}
    if not polling:
        env["AWS_EXECUTION_ENV"] = ""  # the emulator's way to say: unset
    args = ["--runtime", runtime, "--handler", handler]
    return Function(fn, env, args)


def stage_layer(into: Path, binary: Optional[Path] = None) -> Path:
    """A layer directory with the shutdown extension (``binary``, else the default
    flavour's) at ``extensions/graceful-shutdown``."""
    layer = into / "layer"
    (layer / "extensions").mkdir(parents=True)
    shutil.copy2(binary if binary is not None else paths.layer_binary(), layer / "extensions" / "graceful-shutdown")
    return layer


def run(
    fn: Function,
    layer: Optional[Path],
    *,
    env: Dict[str, str],
    events: Sequence[str] = ("{}",),
    invocations: int = 1,
    timeout_ms: int = 3000,
    runtime_share_ms: int = 300,
    shutdown_ms: int = 2000,
    extra_args: Sequence[str] = (),
    deadline_s: float = 90,
) -> Run:
    """Run the emulator once, to the end, and parse its JSON timeline."""
    paths.require(paths.EMULATOR, "run `cargo build -p gracefulctl --bin lambda-emulator`")
    args = [str(paths.EMULATOR), "--function-dir", str(fn.dir), "--json", *fn.args,
            "--invocations", str(invocations), "--timeout-ms", str(timeout_ms),
            "--runtime-share-ms", str(runtime_share_ms), "--shutdown-ms", str(shutdown_ms)]
    if layer is not None:
        args += ["--layer-dir", str(layer)]
    for i, event in enumerate(events):
        path = fn.dir.parent / f"event-{i}.json"
        path.write_text(event)
        args += ["--event", str(path)]
    for key, value in {**fn.env, **env}.items():
        args += ["--env", f"{key}={value}"]
    args += list(extra_args)
    done = subprocess.run(args, capture_output=True, text=True, timeout=deadline_s,
                          env=dict({k: v for k, v in os.environ.items() if not k.startswith("GRACEFUL_SHUTDOWN_")},
                                   LAMBDA_EMULATOR_RUNTIMES=str(paths.RUNTIME_PYTHON.parents[2])))
    try:
        timeline = json.loads(done.stdout)
    except json.JSONDecodeError:
        raise AssertionError(f"the emulator printed no JSON timeline (exit {done.returncode}):\n"
                             f"{done.stdout}\n{done.stderr}") from None
    return Run(done.returncode, timeline["events"], timeline["logs"], done.stderr, done.stdout)
