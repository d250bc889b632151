"""The cold-start check: is the shutdown extension attached?

The extension writes the per-environment secret file before it registers, and
Lambda starts extensions before the runtime, so at cold start the file is
there exactly when the extension is. The check is one small file read.
"""

from __future__ import annotations

from ._limits import ENV_SECRET_FILE, EXTENSION_NAME

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing at cold start
if TYPE_CHECKING:
    from typing import Sequence, Tuple

#: Longest secret accepted; the extension writes 64 hex characters.
MAX_SECRET_CHARS = 512


def read_secret(path: str) -> Tuple[bool, str]:
    """``(True, secret)``, or ``(False, why the extension looks absent)``."""
    try:
        with open(path, "rb") as f:
            raw = f.read(MAX_SECRET_CHARS + 2)
    except FileNotFoundError:
        return False, f"{path} does not exist"
    except OSError as e:
        return False, f"{path} cannot be read: {e.strerror or e}"
    secret = raw.strip()
    # The secret goes into a header line: refuse anything that could break it.
    printable = all(0x21 <= b <= 0x7E for b in secret)
    if not secret or not printable or len(secret) > MAX_SECRET_CHARS:
        return False, f"{path} does not hold a secret (expected one line of printable text)"
    return True, secret.decode("ascii")


def missing_warning(reason: str, handler_names: Sequence[str]) -> str:
    """The warning for a missing extension, naming the handlers that will not run."""
    handlers = ", ".join(handler_names) if handler_names else "(none registered yet)"
    return (
        f"graceful-shutdown: the {EXTENSION_NAME} extension is not attached ({ENV_SECRET_FILE}: {reason}). "
        "Without a registered extension Lambda sends no SIGTERM: it kills the function without warning, "
        f"so these shutdown handlers will NOT run when the environment is retired: {handlers}. "
        f"Fix: attach the {EXTENSION_NAME} layer to this function (the CDK construct library does it for you; "
        "without the CDK, `gracefulctl render` prints the SAM, CloudFormation and Terraform snippets), "
        f"and keep {ENV_SECRET_FILE} the same for the function and the extension. "
        "The handlers still run on SIGTERM or SIGINT, for example in local runs; nothing is reported."
    )


_warned = False


def warn_missing_once(reason: str, handler_names: Sequence[str]) -> bool:
    """Log the missing-extension warning once per process; whether it was logged now."""
    global _warned
    if _warned:
        return False
    _warned = True
    from ._log import warn_line

    warn_line(missing_warning(reason, handler_names))
    return True


