"""The handoff (docs/protocol.md, "Handoff"): the exact bodies and requests of
spec/vectors/handoff.json, the AWS helper's requests, the refusals the library
makes by itself, and the extension's answers read from a real loopback listener."""

from __future__ import annotations

import base64
import json
import logging
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

import pytest

from support import paths, vectors
from support.ports import reserved_port

import lambda_graceful_shutdown as lgs
from lambda_graceful_shutdown import Config, HandoffRequest, HandoffResult, aws_json_request, handoff
from lambda_graceful_shutdown import _handoff as h
from lambda_graceful_shutdown._limits import HANDOFF_MAX_BODY_BYTES, HANDOFF_TIMEOUT_MS, limits

VECTORS = vectors.load("handoff.json")
SECRET = "ab" * 32
LOGGER = "lambda_graceful_shutdown"


def from_vector(fields: Dict[str, Any]) -> HandoffRequest:
    """A vector's request, made with the public constructor."""
    body: Any = fields.get("body")
    if "bodyBase64" in fields:
        body = base64.b64decode(fields["bodyBase64"])
    sign = fields.get("sign")
    return HandoffRequest(fields["method"], fields["url"], headers=fields.get("headers"), body=body,
                          sign=(sign["service"], sign["region"]) if sign else None, id=fields.get("id"))


# -- the wire


def test_the_vectors_are_for_the_path_and_header_of_the_limits() -> None:
    assert VECTORS["path"] == limits()["handoff"]["path"]
    assert len(VECTORS["encode"]) >= 4 and len(VECTORS["aws"]) >= 5


@pytest.mark.parametrize("case", VECTORS["encode"], ids=lambda c: c["name"])
def test_every_handoff_is_byte_for_byte_what_the_rust_encoder_writes(case: Dict[str, Any]) -> None:
    requests = [from_vector(r) for r in case["value"]["requests"]]
    worker = case["value"].get("worker")
    assert h.to_json(requests, worker) == case["json"]
    assert h.encode_request(VECTORS["port"], VECTORS["secret"], requests, worker) == case["request"].encode("utf-8")


@pytest.mark.parametrize("case", VECTORS["aws"], ids=lambda c: c["name"])
def test_every_aws_request_is_the_one_of_the_vectors(case: Dict[str, Any]) -> None:
    def build() -> HandoffRequest:
        return aws_json_request(case["service"], case["target"], case["body"], region=case["region"],
                                environ=case["env"])

    if "error" in case:
        with pytest.raises(ValueError) as raised:
            build()
        assert str(raised.value) == case["error"]
    else:
        assert h.to_json([build()]) == '{"type":"handoff","requests":[' + case["json"] + "]}"


def test_the_aws_helper_reads_the_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    with pytest.raises(ValueError, match="neither AWS_REGION nor AWS_DEFAULT_REGION"):
        aws_json_request("sqs", "AmazonSQS.SendMessageBatch", "{}")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-central-1")
    monkeypatch.setenv("AWS_ENDPOINT_URL_SOME_SERVICE", "http://127.0.0.1:4566")
    got = aws_json_request("some-service", "X.Y", "{}", id="flush-1")
    assert (got.url, got.sign, got.id) == ("http://127.0.0.1:4566/", ("some-service", "eu-central-1"), "flush-1")
    monkeypatch.setenv("AWS_REGION", "")  # empty is unset, as for the SDKs
    got = aws_json_request("sqs", "AmazonSQS.SendMessageBatch", "{}")
    assert got.url == "https://sqs.eu-central-1.amazonaws.com/"
    assert dict(got.headers) == {"content-type": "application/x-amz-json-1.0",
                                 "x-amz-target": "AmazonSQS.SendMessageBatch"}


@pytest.mark.parametrize("args, kwargs, message", [
    (("DynamoDB", "T.X", "{}"), {"region": "us-east-1"}, 'service: expected an AWS signing name such as "dynamodb"'),
    (("dynamodb", "T X", "{}"), {"region": "us-east-1"}, "target: expected an X-Amz-Target"),
    (("dynamodb", "T.X", "{}"), {"region": "EU WEST"}, 'region: expected an AWS region such as "us-east-1", got "EU WEST"'),
    (("dynamodb", "T.X", "{}"), {"region": "us-east-1", "environ": {"AWS_ENDPOINT_URL": "localhost:4566"}},
     'AWS_ENDPOINT_URL_DYNAMODB: expected an http:// or https:// URL, got "localhost:4566/"'),
])
def test_the_aws_helper_names_a_bad_value(args: Any, kwargs: Any, message: str) -> None:
    with pytest.raises(ValueError) as raised:
        aws_json_request(*args, **kwargs)
    assert str(raised.value).startswith(message), raised.value


def test_the_aws_helper_refuses_a_wrong_type() -> None:
    with pytest.raises(TypeError, match="body must be str or bytes"):
        aws_json_request("dynamodb", "T.X", {"RequestItems": {}}, region="us-east-1")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="service must be a str"):
        aws_json_request(None, "T.X", "{}", region="us-east-1")  # type: ignore[arg-type]


# -- the request type


def test_a_request_keeps_its_header_order_and_cannot_change() -> None:
    request = HandoffRequest("POST", "http://127.0.0.1:9/x", headers={"b": "1", "a": "2"}, body="t",
                             sign=["sqs", "eu-west-1"], id="x-1")  # type: ignore[arg-type]
    assert list(request.headers) == ["b", "a"]
    assert request.sign == ("sqs", "eu-west-1")
    with pytest.raises(AttributeError, match="immutable"):
        request.url = "http://elsewhere/"  # type: ignore[misc]
    with pytest.raises(TypeError):
        request.headers["c"] = "3"  # type: ignore[index]
    same = HandoffRequest("POST", "http://127.0.0.1:9/x", headers={"b": "1", "a": "2"}, body="t",
                          sign=("sqs", "eu-west-1"), id="x-1")
    assert request == same and hash(request) == hash(same)
    assert request != HandoffRequest("POST", "http://127.0.0.1:9/x", headers={"a": "2", "b": "1"}, body="t",
                                     sign=("sqs", "eu-west-1"), id="x-1")
    assert "HandoffRequest('POST', 'http://127.0.0.1:9/x'" in repr(request)


def test_text_goes_in_body_and_bytes_in_body_base64() -> None:
    def wire(body: Any) -> str:
        return h.to_json([HandoffRequest("PUT", "http://a/", body=body)])

    assert wire("caf\u00e9") == '{"type":"handoff","requests":[{"method":"PUT","url":"http://a/","body":"caf\u00e9"}]}'
    # Bytes are sent as they are, UTF-8 or not.
    assert wire(b"caf\xc3\xa9") == ('{"type":"handoff","requests":[{"method":"PUT","url":"http://a/",'
                                   '"bodyBase64":"Y2Fmw6k="}]}')
    assert wire(bytearray(b"\x00\xff")) == wire(b"\x00\xff")
    # An empty body is no body, as the Rust encoder writes it.
    assert wire("") == wire(b"") == wire(None) == '{"type":"handoff","requests":[{"method":"PUT","url":"http://a/"}]}'


@pytest.mark.parametrize("make, message", [
    (lambda: HandoffRequest(b"POST", "http://a/"), "method must be a str"),  # type: ignore[arg-type]
    (lambda: HandoffRequest("POST", "http://a/", headers=[("a", "b")]), "headers must be a mapping"),  # type: ignore[arg-type]
    (lambda: HandoffRequest("POST", "http://a/", headers={"a": 1}), "header 'a' must be a str"),  # type: ignore[dict-item]
    (lambda: HandoffRequest("POST", "http://a/", body={"a": 1}), "body must be str, bytes or None"),  # type: ignore[arg-type]
    (lambda: HandoffRequest("POST", "http://a/", sign="sqs"), "sign must be a (service, region) pair"),  # type: ignore[arg-type]
    (lambda: HandoffRequest("POST", "http://a/", id=7), "id must be a str"),  # type: ignore[arg-type]
])
def test_a_request_of_the_wrong_types_raises(make: Any, message: str) -> None:
    with pytest.raises(TypeError, match=message.replace("(", r"\(").replace(")", r"\)")):
        make()


def test_text_that_utf8_cannot_carry_is_refused_at_once() -> None:
    with pytest.raises(ValueError, match="body is not valid Unicode"):
        HandoffRequest("POST", "http://a/", body="bad \udcff")


def test_handoff_refuses_what_is_not_a_request() -> None:
    request = HandoffRequest("POST", "http://a/")
    with pytest.raises(TypeError, match=r"pass the requests themselves: handoff\(\*requests\)"):
        handoff([request])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="argument 1 must be a HandoffRequest"):
        handoff(request, "http://a/")  # type: ignore[arg-type]


def test_the_package_exports_it_and_keeps_it() -> None:
    assert {"handoff", "aws_json_request", "HandoffRequest", "HandoffResult"} <= set(lgs.__all__)
    assert lgs.handoff is h.handoff and lgs.HandoffResult is HandoffResult
    assert callable(lgs.handoff), "the function, not the module"


# -- a loopback extension


class Listener(threading.Thread):
    """Accepts one connection on 127.0.0.1 (port chosen by the kernel), keeps
    the whole request, answers ``answer`` and closes."""

    def __init__(self, answer: bytes) -> None:
        super().__init__(daemon=True)
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port: int = self.server.getsockname()[1]
        self.answer = answer
        self.request = b""
        self.error: Optional[BaseException] = None

    def run(self) -> None:
        try:
            self.server.settimeout(30)
            conn, _ = self.server.accept()
            with conn:
                conn.settimeout(10)
                data = b""
                while b"\r\n\r\n" not in data:
                    data += conn.recv(65536)
                head, _, body = data.partition(b"\r\n\r\n")
                length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                              if line.lower().startswith(b"content-length:"))
                while len(body) < length:
                    body += conn.recv(65536)
                self.request = head + b"\r\n\r\n" + body
                conn.sendall(self.answer)
        except BaseException as e:
            self.error = e
        finally:
            self.server.close()

    def received(self) -> bytes:
        self.join(30)
        assert not self.is_alive() and self.error is None, self.error
        return self.request


def answer(status: str, body: str, content_type: str = "text/plain; charset=utf-8") -> bytes:
    data = body.encode("utf-8")
    return (f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {len(data)}\r\n"
            "Connection: close\r\n\r\n").encode("ascii") + data


@pytest.fixture
def secret_file(tmp_path: Path) -> Path:
    path = tmp_path / "secret"
    path.write_text(SECRET + "\n")
    return path


def config_for(port: int, secret_file: Path) -> Config:
    return Config(port=port, secret_file=str(secret_file))


def refusals(caplog: pytest.LogCaptureFixture) -> List[str]:
    return [r.getMessage() for r in caplog.records if r.name == LOGGER and "handoff refused" in r.getMessage()]


TWO = [
    HandoffRequest("POST", "http://127.0.0.1:5005/flush", headers={"content-type": "application/json"},
                   body='{"n":1}', id="flush-1"),
    aws_json_request("dynamodb", "DynamoDB_20120810.BatchWriteItem", '{"RequestItems":{}}', region="us-east-1"),
]


def test_a_taken_handoff_is_one_exact_request_and_its_counts(secret_file: Path,
                                                             caplog: pytest.LogCaptureFixture) -> None:
    listener = Listener(answer("202 Accepted", '{"accepted":2,"held":5}', "application/json"))
    listener.start()
    with caplog.at_level(logging.DEBUG, logger=LOGGER):
        result = handoff(*TWO, config=config_for(listener.port, secret_file))
    assert result == HandoffResult(True, 202, "", 2, 5) and result
    # As every report of this process: the worker is the process id, the last field.
    assert listener.received() == h.encode_request(listener.port, SECRET, TWO, str(os.getpid()))
    assert listener.request.endswith(f',"worker":"{os.getpid()}"}}'.encode())
    assert refusals(caplog) == []


def test_the_port_and_secret_file_come_from_the_environment(secret_file: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    listener = Listener(answer("202 Accepted", '{"accepted":1,"held":1}'))
    listener.start()
    monkeypatch.setenv("GRACEFUL_SHUTDOWN_PORT", str(listener.port))
    monkeypatch.setenv("GRACEFUL_SHUTDOWN_SECRET_FILE", str(secret_file))
    assert handoff(TWO[0]).accepted == 1
    assert f"x-graceful-shutdown-secret: {SECRET}\r\n".encode() in listener.received()


# The extension's refusals, as docs/protocol.md lists them, with its messages.
REFUSED = [
    ("400 Bad Request", 'requests[0].url: expected an http:// or https:// URL, got "file:///etc/passwd"'),
    ("413 Payload Too Large", "requests: 65 requests; handoff.maxRequests is 64"),
    ("501 Not Implemented", "handoff: this layer sends no requests; attach the handoff flavour "
                            "(graceful-shutdown-handoff-<arch>.zip, or the construct's handoff: true)"),
]


@pytest.mark.parametrize("status, message", REFUSED, ids=[s for s, _ in REFUSED])
def test_a_refusal_is_returned_and_logged_with_its_status_and_message(
        status: str, message: str, secret_file: Path, caplog: pytest.LogCaptureFixture) -> None:
    listener = Listener(answer(status, message + "\n"))
    listener.start()
    with caplog.at_level(logging.INFO, logger=LOGGER):
        result = handoff(*TWO, config=config_for(listener.port, secret_file))
    listener.received()
    code = int(status.split()[0])
    assert result == HandoffResult(False, code, message, 0, 0) and not result
    assert refusals(caplog) == [f"graceful-shutdown: handoff refused ({status}): {message}"]
    assert [r.levelno for r in caplog.records if r.name == LOGGER] == [logging.WARNING]


def test_a_refusal_without_a_message_is_named_by_its_status(secret_file: Path) -> None:
    listener = Listener(b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n")
    listener.start()
    result = handoff(TWO[0], config=config_for(listener.port, secret_file))
    listener.received()
    assert (result.ok, result.status, result.message) == (False, 401, "Unauthorized")


def test_an_answer_that_is_not_http_is_no_answer(secret_file: Path) -> None:
    listener = Listener(b"SSH-2.0-OpenSSH\r\n")
    listener.start()
    result = handoff(TWO[0], config=config_for(listener.port, secret_file))
    listener.received()
    assert (result.ok, result.status) == (False, None)
    assert "answered the handoff with something not HTTP" in result.message


def test_without_an_answer_within_the_limit_it_returns_a_refusal(secret_file: Path,
                                                                 caplog: pytest.LogCaptureFixture) -> None:
    # A listener that never accepts: the kernel completes the connection and
    # takes the request into its buffers, and no answer ever comes.
    with socket.create_server(("127.0.0.1", 0)) as silent, caplog.at_level(logging.INFO, logger=LOGGER):
        port = silent.getsockname()[1]
        began = time.monotonic()
        result = handoff(*TWO, config=config_for(port, secret_file))
        took = time.monotonic() - began
    assert (result.ok, result.status) == (False, None)
    assert result.message == (f"no answer from the extension on 127.0.0.1:{port} within "
                              f"{HANDOFF_TIMEOUT_MS} ms (it may have taken the handoff)")
    assert HANDOFF_TIMEOUT_MS / 1000 * 0.9 <= took < HANDOFF_TIMEOUT_MS / 1000 + 1.0, took
    assert refusals(caplog) == [f"graceful-shutdown: handoff refused (no answer): {result.message}"]


def test_nobody_listening_is_said_at_once(secret_file: Path) -> None:
    with reserved_port() as port:
        result = handoff(TWO[0], config=config_for(port, secret_file))
    assert (result.ok, result.status) == (False, None)
    assert result.message.startswith(f"cannot hand off to the extension on 127.0.0.1:{port}: ")


# -- the refusals the library makes by itself, without sending


def nothing_sent(server: socket.socket) -> bool:
    server.setblocking(False)
    try:
        server.accept()[0].close()
    except BlockingIOError:
        return True
    return False


def test_without_the_layer_nothing_is_sent(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    missing = tmp_path / "no-secret"
    with socket.create_server(("127.0.0.1", 0)) as server, caplog.at_level(logging.INFO, logger=LOGGER):
        result = handoff(*TWO, config=config_for(server.getsockname()[1], missing))
        assert nothing_sent(server)
    assert (result.ok, result.status, result.accepted) == (False, None, 0)
    assert result.message == (f"the graceful-shutdown extension is not attached (GRACEFUL_SHUTDOWN_SECRET_FILE: "
                              f"{missing} does not exist); nothing was handed off")
    assert refusals(caplog) == [f"graceful-shutdown: handoff refused (not sent): {result.message}"]


def test_a_handoff_over_the_body_limit_is_not_sent(secret_file: Path, caplog: pytest.LogCaptureFixture) -> None:
    big = HandoffRequest("POST", "http://127.0.0.1:5005/", body="x" * HANDOFF_MAX_BODY_BYTES)
    with socket.create_server(("127.0.0.1", 0)) as server, caplog.at_level(logging.INFO, logger=LOGGER):
        result = handoff(big, config=config_for(server.getsockname()[1], secret_file))
        assert nothing_sent(server)
    size = len(h.to_json([big], str(os.getpid())).encode())
    assert (result.ok, result.status) == (False, None)
    assert result.message.startswith(f"handoff: body of {size} bytes; handoff.maxBodyBytes is {HANDOFF_MAX_BODY_BYTES}")
    assert refusals(caplog) == [f"graceful-shutdown: handoff refused (not sent): {result.message}"]


def test_a_handoff_of_nothing_sends_nothing(tmp_path: Path) -> None:
    assert handoff(config=config_for(1, tmp_path / "none")) == HandoffResult(True, None, "", 0, 0)


# -- the cold start


def test_the_package_loads_it_only_when_used_and_it_imports_nothing_new() -> None:
    script = (
        "import sys\n"
        "import lambda_graceful_shutdown\n"
        "assert 'lambda_graceful_shutdown._handoff' not in sys.modules\n"
        "before = set(sys.modules)\n"
        "from lambda_graceful_shutdown import handoff, aws_json_request, HandoffRequest, HandoffResult\n"
        "print(sorted(set(sys.modules) - before))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GRACEFUL_SHUTDOWN_", "PYTHON"))}
    env["PYTHONPATH"] = str(paths.SRC)
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.replace("'", '"')) == ["lambda_graceful_shutdown._handoff"]
