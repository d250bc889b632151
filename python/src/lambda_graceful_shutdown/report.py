"""The report protocol: what the library tells the extension, byte for byte.

Each report is one JSON object, written exactly as the Rust side
(``graceful-shutdown-protocol``, serde_json) writes it: fields in the same
order, no spaces, non-ASCII text as UTF-8, the same escapes. The request is
written out by hand rather than through an HTTP client: it is one tiny fixed
request to loopback, and the library has no dependencies.
"""

from __future__ import annotations

from ._limits import MAX_ERROR_BYTES, MAX_NAME_BYTES, MAX_REPORT_BYTES, MAX_WORKER_BYTES, REPORT_PATH, SECRET_HEADER

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing at cold start
if TYPE_CHECKING:
    from typing import Any, Dict, List, Optional, Sequence

    Report = Dict[str, Any]
else:
    Report = dict

_CUT_MARK = "\u2026"
_TWO = frozenset('"\\\b\f\n\r\t')


def clean_text(text: str) -> str:
    """``text`` as valid Unicode (lone surrogates, say from undecodable bytes, become ``?``)."""
    return text.encode("utf-8", "replace").decode("utf-8")


def _json_len(c: str) -> int:
    if c in _TWO:
        return 2
    if ord(c) < 0x20:
        return 6
    return len(c.encode("utf-8", "replace"))


def json_string_len(text: str) -> int:
    """Bytes ``text`` takes as a JSON string, without the quotes."""
    return sum(_json_len(c) for c in text)


def fit(text: str, max_bytes: int) -> str:
    """``text``, or its start cut on a character boundary and ending with ``…``,
    taking at most ``max_bytes`` once escaped as a JSON string."""
    text = clean_text(text)
    if json_string_len(text) <= max_bytes:
        return text
    mark = _json_len(_CUT_MARK)
    room = max_bytes - mark if max_bytes >= mark else max_bytes
    used = 0
    end = 0
    for i, c in enumerate(text):
        n = _json_len(c)
        if used + n > room:
            break
        used += n
        end = i + 1
    return text[:end] + (_CUT_MARK if max_bytes >= mark else "")


def to_json(report: Report, worker: Optional[str] = None) -> str:
    """The JSON body of ``report``, as serde_json writes it; sent by ``worker``
    (Managed Instances run several processes: see "Several workers" in the
    protocol), it is the last field, cut to ``maxWorkerBytes``."""
    import json  # the runtime client has loaded it already

    body = dict(report)
    if worker:
        body.pop("worker", None)
        body["worker"] = fit(worker, MAX_WORKER_BYTES)
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"))


# The reports, with their fields in the order the Rust enum declares them.


def hello(pid: int, handlers: Sequence[str], timeout_ms: int, concurrent: bool, first_index: int = 0) -> Report:
    report: Report = {
        "type": "hello",
        "pid": pid,
        "handlers": list(handlers),
        "timeoutMs": timeout_ms,
        "concurrent": concurrent,
    }
    if first_index:
        report["firstIndex"] = first_index
    return report


def shutdown_started(signal: str) -> Report:
    return {"type": "shutdownStarted", "signal": signal}


def started(handler: str, index: int) -> Report:
    return {"type": "started", "handler": handler, "index": index}


def finished(handler: str, index: int, duration_ms: int) -> Report:
    return {"type": "finished", "handler": handler, "index": index, "durationMs": duration_ms}


def failed(handler: str, index: int, duration_ms: int, error: str) -> Report:
    return {
        "type": "failed",
        "handler": handler,
        "index": index,
        "durationMs": duration_ms,
        "error": fit(error, MAX_ERROR_BYTES),
    }


def timed_out(handler: str, index: int, duration_ms: int) -> Report:
    return {"type": "timedOut", "handler": handler, "index": index, "durationMs": duration_ms}


def all_done(completed: int, failed: int, timed_out: int, total_ms: int) -> Report:
    return {
        "type": "allDone",
        "completed": completed,
        "failed": failed,
        "timedOut": timed_out,
        "totalMs": total_ms,
    }


def hello_reports(
    pid: int, handlers: Sequence[str], timeout_ms: int, concurrent: bool, worker: Optional[str] = None
) -> List[Report]:
    """The ``hello`` reports announcing ``handlers``: one, unless the names do not
    fit in one body (``worker`` included); then as many as needed, each within
    the limit, the later ones with ``firstIndex``. Names are cut to
    :data:`MAX_NAME_BYTES` first."""
    reports: List[Report] = []
    first = 0
    names: List[str] = []
    size = len(to_json(hello(pid, [], timeout_ms, concurrent, first), worker).encode("utf-8"))
    for index, raw in enumerate(handlers):
        name = fit(raw, MAX_NAME_BYTES)

        def cost(current: List[str]) -> int:
            return json_string_len(name) + 2 + (1 if current else 0)

        if names and size + cost(names) > MAX_REPORT_BYTES:
            reports.append(hello(pid, names, timeout_ms, concurrent, first))
            names = []
            first = index
            size = len(to_json(hello(pid, [], timeout_ms, concurrent, first), worker).encode("utf-8"))
        size += cost(names)
        names.append(name)
    reports.append(hello(pid, names, timeout_ms, concurrent, first))
    return reports


def encode_request(port: int, secret: str, report: Report, worker: Optional[str] = None) -> bytes:
    """The complete HTTP/1.1 request that carries ``report`` (from ``worker``) to the extension."""
    body = to_json(report, worker).encode("utf-8")
    head = (
        f"POST {REPORT_PATH} HTTP/1.1\r\n"
        f"Host: 127.0.0.1:{port}\r\n"
        "Content-Type: application/json\r\n"
        f"{SECRET_HEADER}: {secret}\r\n"
        f"Content-Length: {len(body)}\r\n"
        "Connection: close\r\n"
        "\r\n"
    )
    return head.encode("ascii") + body
