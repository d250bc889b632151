"""The shared shutdown cases (``tests/cases/shutdown.json``) run by the one driver
of every language, ``shutdown-conformance`` (``rust/conformance``): the Python probe
(``tests/functions/probe``) on the real ``awslambdaric`` with the real shutdown
layer, in the lifecycle emulator or under AWS's Runtime Interface Emulator. The
driver reads the cases, runs them, reads the verdict and checks every
expectation; a test here says which case, how the runtime is set up, and asserts
the driver's answer."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

from . import paths

DRIVER = paths.TARGET / "debug" / "shutdown-conformance"
BUILD = "cargo build -p graceful-shutdown-conformance"


def names(backend: str = "emulator") -> List[str]:
    """The cases the driver runs on ``backend`` (the RIE: those that need no emulator-only setting)."""
    if not DRIVER.exists():
        # Collected all the same, so that each test fails saying how to build the driver.
        data = json.loads((paths.REPO / "tests" / "cases" / "shutdown.json").read_text(encoding="utf-8"))
        return [c["name"] for c in data["cases"]]
    done = subprocess.run([str(DRIVER), "--list", "--backend", backend], capture_output=True, text=True,
                          timeout=60, check=True)
    return done.stdout.split()


@dataclass
class Result:
    """The driver's answer for the cases it ran."""

    returncode: int
    stdout: str
    stderr: str

    def describe(self) -> str:
        return f"shutdown-conformance exit {self.returncode}\n{self.stdout}\n{self.stderr}"

    def json_lines(self) -> List[Dict[str, Any]]:
        return [json.loads(line) for line in self.stdout.splitlines() if line.strip()]

    def assert_passed(self, case: str) -> None:
        """The driver checked every expectation of ``case`` and all held."""
        lines = self.stdout.splitlines()
        assert self.returncode == 0, self.describe()
        assert any(line == f"ok {case}" or line.startswith(f"ok {case} (") for line in lines), self.describe()
        assert lines and lines[-1] == "1 passed, 0 failed", self.describe()


def stage_code(into: Path, code_dir: Path = paths.PROBE) -> Path:
    """A copy of the function's code (the probe), run by the driver."""
    fn = into / "fn"
    shutil.copytree(code_dir, fn, ignore=shutil.ignore_patterns("__pycache__"))
    return fn


def stage_layer(into: Path) -> Path:
    """A layer directory with the shutdown extension at ``extensions/graceful-shutdown``."""
    layer = into / "layer"
    (layer / "extensions").mkdir(parents=True)
    shutil.copy2(paths.layer_binary(), layer / "extensions" / "graceful-shutdown")
    return layer


def run(
    case: str,
    tmp_path: Path,
    *,
    polling: bool,
    backend: str = "emulator",
    code_dir: Path = paths.PROBE,
    pythonpath: Sequence[Path] = (paths.SRC,),
    extra_args: Sequence[str] = (),
    deadline_s: float = 180,
) -> Result:
    """Runs ``case`` on the driver: the probe on python3.12's official client, thread
    polling on (``AWS_EXECUTION_ENV`` as Lambda sets it for python3.12) or off (unset,
    as in container images), the library found on ``pythonpath`` after the function's
    own directory."""
    paths.require(DRIVER, f"run `{BUILD}`")
    paths.require(paths.RUNTIME_PYTHON, "run `bash scripts/setup.sh` (it installs awslambdaric under .runtimes/)")
    tmp_path.mkdir(parents=True, exist_ok=True)
    fn = stage_code(tmp_path, code_dir)
    layer = stage_layer(tmp_path)
    work = tmp_path / "work"
    work.mkdir()
    args = [str(DRIVER), "--case", case, "--backend", backend,
            "--runtime", "python3.12", "--handler", "app.handler", "--code", str(fn),
            "--layer", str(layer), "--work-dir", str(work),
            "--env", "PYTHONPATH=" + ":".join([str(fn)] + [str(p) for p in pythonpath]),
            "--env", "PYTHONDONTWRITEBYTECODE=1"]
    if not polling:
        args += ["--env", "AWS_EXECUTION_ENV="]  # unset: the driver's (and the emulator's) way to say it
    args += list(extra_args)
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRACEFUL_SHUTDOWN_")}
    env["LAMBDA_EMULATOR_RUNTIMES"] = str(paths.RUNTIME_PYTHON.parents[2])
    done = subprocess.run(args, capture_output=True, text=True, timeout=deadline_s, env=env)
    return Result(done.returncode, done.stdout, done.stderr)


def handler_statuses(case_line: Dict[str, Any]) -> Dict[str, str]:
    """Each handler's status in a ``--json`` case line's parsed verdict."""
    verdict: Optional[Dict[str, Any]] = case_line.get("verdict")
    assert verdict, case_line
    return {h["name"]: h["status"] for h in verdict["verdict"]["handlers"]}
