"""The Rust protocol crate's own answers, from a small Rust program
(tests/rust-vectors) built against rust/protocol."""

from __future__ import annotations

import json
import os
import subprocess
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, List

from . import paths

MANIFEST = paths.PYTHON_DIR / "tests" / "rust-vectors" / "Cargo.toml"


@lru_cache(maxsize=1)
def binary() -> Path:
    env = dict(os.environ, CARGO_TARGET_DIR=str(paths.TARGET))
    subprocess.run(["cargo", "build", "--quiet", "--manifest-path", str(MANIFEST)],
                   check=True, env=env, timeout=600)
    return paths.TARGET / "debug" / "graceful-shutdown-python-vectors"


def ask(requests: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    text = "".join(json.dumps(r) + "\n" for r in requests)
    done = subprocess.run([str(binary())], input=text, capture_output=True, text=True, check=True, timeout=60)
    answers = [json.loads(line) for line in done.stdout.split("\n") if line]
    assert len(answers) == len(requests), done.stderr
    return answers
