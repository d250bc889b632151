"""What the tests beyond the shared cases take from them: a case's settings (the
Managed Instances tests run ``all_handlers_complete``'s handlers on two workers),
the probe's output, and the verdict read by the one parser of it (the driver's
``--read-verdict``, ``graceful_shutdown_protocol::verdict``). The shared cases
themselves are run and checked by the driver: see ``conformance.py``."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any, Dict, List, Optional

from . import conformance, paths

CASES_FILE = paths.REPO / "tests" / "cases" / "shutdown.json"


def case(name: str) -> Dict[str, Any]:
    """The case ``name`` of ``tests/cases/shutdown.json``, with the file's defaults."""
    data = json.loads(CASES_FILE.read_text(encoding="utf-8"))
    found = next(c for c in data["cases"] if c["name"] == name)
    return dict(data["defaults"], **found)


def read_lines(path: Path) -> List[str]:
    return path.read_text(encoding="utf-8").splitlines() if path.exists() else []


def read_verdict(line: Optional[str]) -> Dict[str, Any]:
    """The verdict ``line`` parsed (``{"form", "verdict", "summary"}``), or a failure."""
    assert line, "no verdict line"
    paths.require(conformance.DRIVER, f"run `{conformance.BUILD}`")
    done = subprocess.run([str(conformance.DRIVER), "--read-verdict"], input=line + "\n", capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, f"the verdict does not parse: {done.stderr}\n{line}"
    parsed: Dict[str, Any] = json.loads(done.stdout)
    return parsed


def check_two_workers(verdict_line: Optional[str], output: List[str], ctx: str) -> Dict[str, Any]:
    """The ``all_handlers_complete`` handlers on Managed Instances with two workers: each
    worker ran both, and the verdict says completed with each worker's handlers ``ok``.
    Returns the verdict."""
    assert verdict_line, ctx
    assert output.count("start flush") == 2 and output.count("close-pool") == 2, output
    v = read_verdict(verdict_line)["verdict"]
    assert v["outcome"] == "completed", ctx
    assert len(v["workers"]) == 2 and all(w["outcome"] == "completed" for w in v["workers"]), ctx
    assert sorted((h["worker"], h["name"], h["status"]) for h in v["handlers"]) == [
        ("w1", "close-pool", "ok"), ("w1", "flush", "ok"), ("w2", "close-pool", "ok"), ("w2", "flush", "ok")], ctx
    assert all("durationMs" in h for h in v["handlers"]), ctx
    return v
