"""The contract's vectors, `spec/vectors/*.json`, written by the Rust code that
defines the contract (rust/lambda-graceful-shutdown/tests/vectors.rs)."""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any, Dict

from . import paths


@lru_cache(maxsize=None)
def load(name: str) -> Dict[str, Any]:
    """One vector file, parsed."""
    with open(paths.REPO / "spec" / "vectors" / name, encoding="utf-8") as f:
        data: Dict[str, Any] = json.load(f)
    return data
