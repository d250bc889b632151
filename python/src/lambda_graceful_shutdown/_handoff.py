"""The handoff: HTTP requests a shutdown handler hands to the extension, which
sends them after the runtime has gone (docs/protocol.md, "Handoff").

- :class:`HandoffRequest`: one request (method, URL, headers, body, and
  whether the extension signs it with SigV4).
- :func:`aws_json_request`: the request for one call of an AWS JSON-protocol
  API (DynamoDB, SQS, Kinesis, ...), signed by the extension.
- :func:`handoff`: sends one handoff and returns what came of it, a
  :class:`HandoffResult`; a refusal is logged and returned, never raised.

Imported on first use (the package's ``__getattr__``), never by
``import lambda_graceful_shutdown``; and importing it imports nothing the
package has not loaded already: ``json``, ``binascii`` and the socket are
imported when a handoff is encoded and sent. The body is written exactly as
the Rust encoder (``graceful-shutdown-protocol``, ``wire::encode_handoff``)
writes it: fields in the wire's order, no spaces, non-ASCII text as UTF-8.
"""

from __future__ import annotations

import os
import time
import types

from . import _log, attach
from ._limits import (
    ENV_SECRET_FILE,
    EXTENSION_NAME,
    HANDOFF_MAX_BODY_BYTES,
    HANDOFF_PATH,
    HANDOFF_TIMEOUT_MS,
    MAX_WORKER_BYTES,
    SECRET_HEADER,
)
from .report import fit

TYPE_CHECKING = False  # typing.TYPE_CHECKING, without importing typing at cold start
if TYPE_CHECKING:
    import socket
    from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union

    from .config import Config

__all__ = ["HandoffRequest", "HandoffResult", "aws_json_request", "handoff"]


class HandoffRequest:
    """One HTTP request for the extension to send (immutable).

    - ``method``: an upper-case HTTP method, ``"POST"``.
    - ``url``: an absolute ``http://`` or ``https://`` URL.
    - ``headers``: names to values, sent in the order given (read-only);
      ``host``, ``content-length``, ``connection``, ``transfer-encoding`` and
      ``expect`` are the extension's.
    - ``body``: text (``str``, sent as UTF-8) or bytes; ``None`` for none.
    - ``sign``: ``(service, region)`` to have the extension sign the request
      with AWS SigV4 and the credentials of its environment (the function's).
    - ``id``: your name for it, in the extension's log and dead-letter record.

    Types are checked here (a ``TypeError`` names the argument); the values
    are checked by the extension, whose refusal names the field.
    """

    __slots__ = ("method", "url", "headers", "body", "sign", "id")

    method: str
    url: str
    headers: Mapping[str, str]
    body: Union[str, bytes, None]
    sign: Optional[Tuple[str, str]]
    id: Optional[str]

    def __init__(
        self,
        method: str,
        url: str,
        *,
        headers: Optional[Mapping[str, str]] = None,
        body: Union[str, bytes, bytearray, memoryview, None] = None,
        sign: Optional[Tuple[str, str]] = None,
        id: Optional[str] = None,
    ) -> None:
        _text("method", method)
        _text("url", url)
        copied: Dict[str, str] = {}
        if headers is not None:
            from collections.abc import Mapping as AnyMapping

            if not isinstance(headers, AnyMapping):
                raise TypeError(f"HandoffRequest: headers must be a mapping of names to values, got {headers!r}")
            for name, value in headers.items():
                _text("a header name", name)
                _text(f"header {name!r}", value)
                copied[name] = value
        kept: Union[str, bytes, None]
        if body is None or isinstance(body, (str, bytes)):
            kept = body
        elif isinstance(body, (bytearray, memoryview)):
            kept = bytes(body)
        else:
            raise TypeError(f"HandoffRequest: body must be str, bytes or None, got {type(body).__name__}")
        if isinstance(kept, str):
            _text("body", kept)
        signing: Optional[Tuple[str, str]] = None
        if sign is not None:
            if not isinstance(sign, (tuple, list)) or len(sign) != 2:
                raise TypeError(f"HandoffRequest: sign must be a (service, region) pair, got {sign!r}")
            _text("sign's service", sign[0])
            _text("sign's region", sign[1])
            signing = (sign[0], sign[1])
        if id is not None:
            _text("id", id)
        init = object.__setattr__
        init(self, "method", method)
        init(self, "url", url)
        init(self, "headers", types.MappingProxyType(copied))
        init(self, "body", kept)
        init(self, "sign", signing)
        init(self, "id", id)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"HandoffRequest is immutable: cannot set {name!r}; make a new one")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"HandoffRequest is immutable: cannot delete {name!r}")

    def _key(self) -> Tuple[Any, ...]:
        return (self.method, self.url, tuple(self.headers.items()), self.body, self.sign, self.id)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, HandoffRequest):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        fields = [f"{self.method!r}", f"{self.url!r}"]
        if self.headers:
            fields.append(f"headers={dict(self.headers)!r}")
        if self.body is not None:
            fields.append(f"body={self.body!r}")
        if self.sign is not None:
            fields.append(f"sign={self.sign!r}")
        if self.id is not None:
            fields.append(f"id={self.id!r}")
        return f"HandoffRequest({', '.join(fields)})"


def _text(what: str, value: object) -> None:
    """``value`` must be a ``str`` that UTF-8 can carry (no lone surrogates)."""
    if not isinstance(value, str):
        raise TypeError(f"HandoffRequest: {what} must be a str, got {value!r}")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as e:
        raise ValueError(
            f"HandoffRequest: {what} is not valid Unicode (a lone surrogate at {e.start}); pass bytes as the body "
            "to send bytes as they are"
        ) from None


class HandoffResult:
    """What came of a handoff (immutable); true when the extension took it.

    - ``ok``: whether the extension took the handoff: it will send every
      request, and dead-letter to the log what it cannot deliver.
    - ``status``: the HTTP status the extension answered (``202`` when taken),
      or ``None`` when there was no answer: refused by the library before
      sending, or no answer within the wait.
    - ``message``: why it was not taken (the extension's message, naming the
      field or the limit, or the library's reason); ``""`` when it was.
    - ``accepted``: the requests of this handoff the extension took; ``held``:
      all it holds for the environment (both 0 when not taken).
    """

    __slots__ = ("ok", "status", "message", "accepted", "held")

    ok: bool
    status: Optional[int]
    message: str
    accepted: int
    held: int

    def __init__(self, ok: bool, status: Optional[int], message: str = "", accepted: int = 0, held: int = 0) -> None:
        init = object.__setattr__
        init(self, "ok", ok)
        init(self, "status", status)
        init(self, "message", message)
        init(self, "accepted", accepted)
        init(self, "held", held)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"HandoffResult is immutable: cannot set {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"HandoffResult is immutable: cannot delete {name!r}")

    def __bool__(self) -> bool:
        return self.ok

    def _key(self) -> Tuple[Any, ...]:
        return (self.ok, self.status, self.message, self.accepted, self.held)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, HandoffResult):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return (f"HandoffResult(ok={self.ok!r}, status={self.status!r}, message={self.message!r}, "
                f"accepted={self.accepted!r}, held={self.held!r})")


# -- encoding


def _fields(request: HandoffRequest) -> Dict[str, Any]:
    """One request as the wire orders it: id, method, url, headers, body or
    bodyBase64, sign (empty ones left out, as the Rust encoder does)."""
    fields: Dict[str, Any] = {}
    if request.id is not None:
        fields["id"] = request.id
    fields["method"] = request.method
    fields["url"] = request.url
    if request.headers:
        fields["headers"] = dict(request.headers)
    body = request.body
    if isinstance(body, str):
        if body:
            fields["body"] = body
    elif body:
        import binascii

        fields["bodyBase64"] = binascii.b2a_base64(body, newline=False).decode("ascii")
    if request.sign is not None:
        fields["sign"] = {"service": request.sign[0], "region": request.sign[1]}
    return fields


def to_json(requests: Sequence[HandoffRequest], worker: Optional[str] = None) -> str:
    """The JSON body of a handoff of ``requests`` (from ``worker``, the last
    field, cut to ``maxWorkerBytes``, as reports carry it)."""
    import json  # the runtime client has loaded it already

    body: Dict[str, Any] = {"type": "handoff", "requests": [_fields(r) for r in requests]}
    if worker:
        body["worker"] = fit(worker, MAX_WORKER_BYTES)
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"))


def _head(port: int, secret: str, length: int) -> bytes:
    return (
        f"POST {HANDOFF_PATH} HTTP/1.1\r\n"
        f"Host: 127.0.0.1:{port}\r\n"
        "Content-Type: application/json\r\n"
        f"{SECRET_HEADER}: {secret}\r\n"
        f"Content-Length: {length}\r\n"
        "Connection: close\r\n"
        "\r\n"
    ).encode("ascii")


def encode_request(port: int, secret: str, requests: Sequence[HandoffRequest], worker: Optional[str] = None) -> bytes:
    """The complete HTTP/1.1 request that hands ``requests`` (from ``worker``) to the extension."""
    body = to_json(requests, worker).encode("utf-8")
    return _head(port, secret, len(body)) + body


# -- the AWS helper


def aws_json_request(
    service: str,
    target: str,
    body: Union[str, bytes],
    *,
    region: Optional[str] = None,
    id: Optional[str] = None,
    environ: Optional[Mapping[str, str]] = None,
) -> HandoffRequest:
    """The request for one call of an AWS JSON-protocol API, signed by the extension.

    ``POST`` of ``body`` with ``content-type: application/x-amz-json-1.0`` and
    ``x-amz-target: target``, to ``AWS_ENDPOINT_URL_<SERVICE>`` (upper-cased,
    ``-`` as ``_``), else ``AWS_ENDPOINT_URL``, else
    ``https://<service>.<region>.amazonaws.com/``, as the AWS SDKs choose it;
    signed for ``service`` in ``region``, else ``AWS_REGION``, else
    ``AWS_DEFAULT_REGION``. ``environ`` replaces ``os.environ`` (tests).

    ::

        aws_json_request("dynamodb", "DynamoDB_20120810.BatchWriteItem", json.dumps(batch))

    Raises ``ValueError`` naming what is wrong (no region anywhere, a service
    or region that is none, a bad endpoint variable), ``TypeError`` for an
    argument of the wrong type.
    """
    for what, value in (("service", service), ("target", target)):
        if not isinstance(value, str):
            raise TypeError(f"aws_json_request: {what} must be a str, got {value!r}")
    if not isinstance(body, (str, bytes)):
        raise TypeError(f"aws_json_request: body must be str or bytes (the JSON text), got {type(body).__name__}")
    if region is not None and not isinstance(region, str):
        raise TypeError(f"aws_json_request: region must be a str or None, got {region!r}")
    env = os.environ if environ is None else environ

    def setting(name: str) -> Optional[str]:
        value = env.get(name)
        return value if value else None

    if not _is_label(service, 64):
        raise ValueError(f"service: expected an AWS signing name such as \"dynamodb\", got {_excerpt(service)}")
    if not target or any(c.isspace() or _is_control(c) for c in target):
        raise ValueError(
            "target: expected an X-Amz-Target such as \"DynamoDB_20120810.BatchWriteItem\", "
            f"got {_excerpt(target)}"
        )
    if region is None:
        region = setting("AWS_REGION") or setting("AWS_DEFAULT_REGION")
        if region is None:
            raise ValueError("region: not given, and neither AWS_REGION nor AWS_DEFAULT_REGION is set")
    if not _is_label(region, 32):
        raise ValueError(f"region: expected an AWS region such as \"us-east-1\", got {_excerpt(region)}")
    variable = "AWS_ENDPOINT_URL_" + service.upper().replace("-", "_")
    endpoint = setting(variable) or setting("AWS_ENDPOINT_URL")
    url = _with_path(endpoint) if endpoint is not None else f"https://{service}.{region}.amazonaws.com/"
    why = _url_problem(url)
    if why is not None:
        raise ValueError(f"{variable}: {why}, got {_excerpt(url)}")
    return HandoffRequest(
        "POST",
        url,
        headers={"content-type": "application/x-amz-json-1.0", "x-amz-target": target},
        body=body,
        sign=(service, region),
        id=id,
    )


def _is_label(s: str, max_len: int) -> bool:
    return 0 < len(s) <= max_len and all(c in "abcdefghijklmnopqrstuvwxyz0123456789-" for c in s)


def _is_control(c: str) -> bool:
    n = ord(c)
    return n < 0x20 or 0x7F <= n <= 0x9F


def _excerpt(s: str) -> str:
    import json

    return json.dumps(s[:64], ensure_ascii=False)


def _with_path(endpoint: str) -> str:
    """An endpoint URL with at least the root path: ``http://host:1`` becomes ``http://host:1/``."""
    _, sep, rest = endpoint.partition("://")
    return endpoint if "/" in (rest if sep else endpoint) else endpoint + "/"


def _url_problem(url: str) -> Optional[str]:
    """Why ``url`` is not an absolute http(s) URL with a host, as the extension checks it."""
    if len(url.encode("utf-8", "replace")) > 2048:
        return "longer than 2048 bytes"
    if url.startswith("https://"):
        rest = url[len("https://"):]
    elif url.startswith("http://"):
        rest = url[len("http://"):]
    else:
        return "expected an http:// or https:// URL"
    if any(c.isspace() or _is_control(c) for c in url):
        return "white space or a control character in the URL"
    authority = rest
    for stop in "/?#":
        authority = authority.split(stop, 1)[0]
    host = authority.rsplit("@", 1)[-1]
    if not host or host.startswith(":"):
        return "no host in the URL"
    return None


# -- sending


def handoff(*requests: HandoffRequest, config: Optional[Config] = None) -> HandoffResult:
    """Hand ``requests`` to the extension, which sends them after the runtime has
    gone (within the shutdown phase) and logs what it could not deliver. For a
    shutdown handler whose work does not fit the runtime's share.

    One ``POST`` to the extension on ``127.0.0.1:$GRACEFUL_SHUTDOWN_PORT``,
    whose answer is waited for at most ``library.handoffTimeoutMs`` (100 ms).
    Returns a :class:`HandoffResult`, true when the extension took the
    handoff. Any other outcome (the extension refused it, the layer is not
    attached, the handoff is over ``handoff.maxBodyBytes``, no answer in
    time) is logged as one warning naming the status and the reason, and
    returned, not raised: check ``result.ok`` if you keep the data otherwise.
    A wrong argument (not a :class:`HandoffRequest`) raises ``TypeError``.
    With no requests nothing is sent and the result is true.

    ``config`` replaces the settings read from the environment (the port and
    the secret file): pass ``shutdown.config`` for a :class:`GracefulShutdown`
    made with a config of its own.
    """
    for index, request in enumerate(requests):
        if not isinstance(request, HandoffRequest):
            hint = "; pass the requests themselves: handoff(*requests)" if isinstance(request, (list, tuple)) else ""
            raise TypeError(f"handoff: argument {index} must be a HandoffRequest, got {request!r}{hint}")
    if config is None:
        from .config import Config

        config = Config.from_lookup(os.environ.get)[0]  # bad values were logged at cold start
    elif not hasattr(config, "port") or not hasattr(config, "secret_file"):
        raise TypeError(f"handoff: config must be a Config, got {config!r}")
    if not requests:
        return HandoffResult(True, None)
    found, secret_or_reason = attach.read_secret(config.secret_file)
    if not found:
        return _refused(
            None,
            f"the {EXTENSION_NAME} extension is not attached ({ENV_SECRET_FILE}: {secret_or_reason}); "
            "nothing was handed off",
            "not sent",
        )
    body = to_json(requests, str(os.getpid())).encode("utf-8")
    if len(body) > HANDOFF_MAX_BODY_BYTES:
        return _refused(
            None,
            f"handoff: body of {len(body)} bytes; handoff.maxBodyBytes is {HANDOFF_MAX_BODY_BYTES}; "
            "nothing was handed off (hand off fewer or smaller requests)",
            "not sent",
        )
    return send(config.port, _head(config.port, secret_or_reason, len(body)) + body, len(requests))


def send(port: int, request: bytes, count: int, timeout_ms: float = HANDOFF_TIMEOUT_MS) -> HandoffResult:
    """Write ``request`` (a handoff of ``count`` requests) to the extension on
    ``127.0.0.1:port`` and read its answer, all within ``timeout_ms``."""
    from .reporter import _net

    net = _net()
    deadline = time.monotonic() + timeout_ms / 1000
    where = f"the extension on 127.0.0.1:{port}"
    s: socket.socket = net.socket(net.AF_INET, net.SOCK_STREAM)
    written = False
    try:
        s.setsockopt(net.IPPROTO_TCP, net.TCP_NODELAY, 1)
        _limit(s, deadline)
        s.connect(("127.0.0.1", port))
        _limit(s, deadline)
        s.sendall(request)
        written = True
        answer = _read_answer(s, deadline)
    except OSError as e:
        if isinstance(e, TimeoutError) or type(e).__name__ == "timeout":
            if written:
                why = f"no answer from {where} within {_ms(timeout_ms)} ms (it may have taken the handoff)"
            else:
                why = f"{where} did not take the handoff within {_ms(timeout_ms)} ms"
        else:
            why = f"cannot hand off to {where}: {e}"
        return _refused(None, why, "no answer")
    finally:
        s.close()
    return _answered(answer, count, where)


def _ms(ms: float) -> str:
    return str(int(ms)) if ms == int(ms) else str(ms)


def _limit(s: socket.socket, deadline: float) -> None:
    """The socket's timeout: the time left, or a timeout now when none is."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError("timed out")
    s.settimeout(left)


#: Most of an answer read: a status line, a few headers, a one-line message.
MAX_ANSWER_BYTES = 16 * 1024


def _read_answer(s: socket.socket, deadline: float) -> bytes:
    """The answer, up to its ``Content-Length`` or the end of the connection."""
    answer = b""
    want: Optional[int] = None
    while len(answer) < MAX_ANSWER_BYTES and (want is None or len(answer) < want):
        _limit(s, deadline)
        chunk = s.recv(MAX_ANSWER_BYTES - len(answer))
        if not chunk:
            break
        answer += chunk
        if want is None:
            end = answer.find(b"\r\n\r\n")
            if end >= 0:
                length = _content_length(answer[:end])
                if length is not None:
                    want = end + 4 + length
    return answer


def _content_length(head: bytes) -> Optional[int]:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            value = value.strip()
            return int(value) if value.isdigit() else None
    return None


def _answered(answer: bytes, count: int, where: str) -> HandoffResult:
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line = head.split(b"\r\n", 1)[0].decode("latin-1")
    parts = status_line.split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
        return _refused(None, f"{where} answered the handoff with something not HTTP: {_excerpt(status_line)}",
                        "no answer")
    status = int(parts[1])
    length = _content_length(head)
    if length is not None:
        body = body[:length]
    text = body.decode("utf-8", "replace").strip()
    if status == 202:
        accepted, held = count, count
        try:
            import json

            taken = json.loads(text)
            accepted, held = int(taken["accepted"]), int(taken["held"])
        except (ValueError, TypeError, KeyError):
            pass  # taken all the same; the counts are this handoff's
        _log.debug(f"graceful-shutdown: handoff accepted={accepted} held={held}")
        return HandoffResult(True, 202, "", accepted, held)
    message = text or (parts[2] if len(parts) > 2 else "")
    return _refused(status, fit(message, 1024), f"{status} {parts[2] if len(parts) > 2 else ''}".rstrip())


def _refused(status: Optional[int], message: str, label: str) -> HandoffResult:
    """A handoff not taken: one warning naming ``label`` (the status) and ``message``."""
    _log.warning(f"graceful-shutdown: handoff refused ({label}): {message}")
    return HandoffResult(False, status, message)
