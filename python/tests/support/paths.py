"""Where the repository's parts are."""

from __future__ import annotations

import os
from pathlib import Path

PYTHON_DIR = Path(__file__).resolve().parents[2]
REPO = PYTHON_DIR.parent
SRC = PYTHON_DIR / "src"
LIMITS = REPO / "spec" / "limits.json"
TARGET = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
RUNTIME_PYTHON = REPO / ".runtimes" / "python" / "bin" / "python"
EMULATOR = TARGET / "debug" / "lambda-emulator"
PROBE = PYTHON_DIR / "tests" / "functions" / "probe"


def layer_binary() -> Path:
    """The shutdown layer's binary: the release build for Lambda, else the debug build."""
    for candidate in (TARGET / "lambda" / "x86_64" / "extensions" / "graceful-shutdown",
                      TARGET / "debug" / "graceful-shutdown"):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(
        "the shutdown layer is not built: run `cargo build -p graceful-shutdown-extension` "
        "or `bash scripts/build-layers.sh`"
    )


def handoff_layer_binary() -> Path:
    """The shutdown layer's binary of the handoff flavour (``--features handoff``): the
    release build for Lambda, else the debug build in its own target directory (so
    that it does not replace the default one)."""
    for candidate in (TARGET / "lambda" / "x86_64" / "handoff" / "extensions" / "graceful-shutdown",
                      TARGET / "handoff" / "debug" / "graceful-shutdown"):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(
        "the handoff flavour of the shutdown layer is not built: run `CARGO_TARGET_DIR=target/handoff "
        "cargo build -p graceful-shutdown-extension --features handoff` or `bash scripts/build-layers.sh`"
    )


def require(path: Path, how: str) -> Path:
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: {how}")
    return path
