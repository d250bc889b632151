"""Tests run against the source tree (python/src), or, with
LAMBDA_GRACEFUL_SHUTDOWN_TEST_INSTALLED=1, against the installed package."""

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
if os.environ.get("LAMBDA_GRACEFUL_SHUTDOWN_TEST_INSTALLED") != "1":
    sys.path.insert(0, str(HERE.parent / "src"))
