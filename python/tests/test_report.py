"""Report encoding: the exact bytes the Rust side writes and expects."""

from __future__ import annotations

import json
import random

import pytest

from support import rust_vectors

from lambda_graceful_shutdown import report as r
from lambda_graceful_shutdown._limits import MAX_REPORT_BYTES


def test_request_is_exact_as_in_the_protocol_crate() -> None:
    # The literal from rust/protocol/src/report.rs `request_is_exact`.
    assert r.encode_request(4471, "s3cr3t", r.shutdown_started("SIGTERM")) == (
        b"POST /v1/report HTTP/1.1\r\nHost: 127.0.0.1:4471\r\nContent-Type: application/json\r\n"
        b"x-graceful-shutdown-secret: s3cr3t\r\nContent-Length: 45\r\nConnection: close\r\n\r\n"
        b'{"type":"shutdownStarted","signal":"SIGTERM"}'
    )
    assert r.to_json(r.finished("flush", 0, 12)) == '{"type":"finished","handler":"flush","index":0,"durationMs":12}'
    assert r.to_json(r.all_done(2, 1, 0, 40)) == '{"type":"allDone","completed":2,"failed":1,"timedOut":0,"totalMs":40}'
    assert r.to_json(r.hello(7, ["flush", "close-pool"], 250, True)) == (
        '{"type":"hello","pid":7,"handlers":["flush","close-pool"],"timeoutMs":250,"concurrent":true}')


EVERY_KIND = [
    r.hello(4242, ["flush", "close pool", "日本", 'q"uote\\'], 250, False),
    r.hello(1, ["x"], 1, True, first_index=3),
    r.shutdown_started("SIGTERM"),
    r.shutdown_started("trigger"),
    r.started("flush", 0),
    r.finished("é\u0001\n\t", 2**40, 2**53),
    r.failed("boom", 1, 3, "RuntimeError: disk full\nline 2 \u00e9 \U0001f631 \u007f \u2028"),
    r.timed_out("slow", 9, 280),
    r.all_done(2, 1, 1, 281),
]


@pytest.mark.parametrize("worker", [None, "4242", "88/2", "", "w\u00e9\"" * 40], ids=["no-worker", "pid", "thread", "empty", "long"])
@pytest.mark.parametrize("report", EVERY_KIND, ids=lambda rep: rep["type"])
def test_every_report_is_byte_for_byte_what_the_rust_encoder_writes(report: r.Report, worker) -> None:
    request = {"encode": report, "port": 20471, "secret": "ab" * 32}
    if worker is not None:
        request["worker"] = worker
    [answer] = rust_vectors.ask([request])
    assert "error" not in answer, answer
    assert r.to_json(report, worker) == answer["body"]
    assert r.encode_request(20471, "ab" * 32, report, worker) == answer["request"].encode("utf-8")


def test_the_worker_field_is_last_with_the_documented_bytes() -> None:
    # The examples of docs/protocol.md, "Several workers".
    assert r.encode_request(4471, "s3cr3t", r.started("flush", 0), "4242") == (
        b"POST /v1/report HTTP/1.1\r\nHost: 127.0.0.1:4471\r\nContent-Type: application/json\r\n"
        b"x-graceful-shutdown-secret: s3cr3t\r\nContent-Length: 62\r\nConnection: close\r\n\r\n"
        b'{"type":"started","handler":"flush","index":0,"worker":"4242"}'
    )
    assert r.to_json(r.hello(4242, ["flush", "close-pool"], 250, False), "4242") == (
        '{"type":"hello","pid":4242,"handlers":["flush","close-pool"],"timeoutMs":250,"concurrent":false,'
        '"worker":"4242"}')
    assert r.to_json(r.finished("flush", 0, 3), "88/2") == (
        '{"type":"finished","handler":"flush","index":0,"durationMs":3,"worker":"88/2"}')
    assert r.to_json(r.all_done(2, 0, 0, 13), "4242") == (
        '{"type":"allDone","completed":2,"failed":0,"timedOut":0,"totalMs":13,"worker":"4242"}')


def test_fit_cuts_exactly_as_the_rust_side() -> None:
    rng = random.Random(15)
    alphabet = ["a", "é", "日", "😱", "\u0001", '"', "\\", "\n", "…", " "]
    texts = ["flush", "é" * 64, "日本" * 1000, "\u0001" * 300, 'é\u0001"' * 5000, "abcdef", ""]
    texts += ["".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 200))) for _ in range(200)]
    maxes = [0, 1, 2, 3, 4, 5, 6, 7, 63, 128, 1024]
    requests = [{"fit": t, "max": m} for t in texts for m in maxes]
    answers = rust_vectors.ask(requests)
    for request, answer in zip(requests, answers):
        got = r.fit(request["fit"], request["max"])
        assert got == answer["fit"], request
        assert r.json_string_len(got) <= request["max"]


def test_json_string_len_is_what_json_writes() -> None:
    for text in ["", "plain", "é日😱", "\u0000\u001f\u007f", '"\\\b\f\n\r\t', "\u2028"]:
        assert r.json_string_len(text) == len(json.dumps(text, ensure_ascii=False).encode()) - 2


def test_hellos_split_exactly_as_the_rust_side() -> None:
    cases = [
        ([], 250, False),
        (["flush", "close-pool"], 250, True),
        ([f"{i}-" + "ß" * 200 for i in range(100)], 2**32 - 1, False),
        ([f"handler-{i:02}-" + "x" * 110 for i in range(40)], 250, False),
        (["é" * 2000, "after"], 280, True),
    ]
    requests = [{"hello": n, "pid": 77, "timeoutMs": t, "concurrent": c, "worker": w}
                for n, t, c in cases for w in (None, "4242", "x" * 200)]
    answers = rust_vectors.ask(requests)
    for request, answer in zip(requests, answers):
        names, worker = request["hello"], request["worker"]
        hellos = r.hello_reports(77, names, request["timeoutMs"], request["concurrent"], worker)
        assert [r.to_json(h, worker) for h in hellos] == answer["hellos"]
        for h in hellos:
            assert len(r.to_json(h, worker).encode()) <= MAX_REPORT_BYTES
        assert sum((h["handlers"] for h in hellos), []) == [r.fit(n, r.MAX_NAME_BYTES) for n in names]


def test_long_texts_are_cut_so_that_every_report_fits() -> None:
    name = r.fit('é\u0001"' * 5000, r.MAX_NAME_BYTES)
    error = "panicked: " + "😱\n\u0007" * 5000
    for report in [r.failed(name, 2**63, 2**63, error), r.started(name, 2**63),
                   r.finished(name, 2**63, 2**63), r.timed_out(name, 2**63, 2**63)]:
        assert len(r.to_json(report).encode()) <= MAX_REPORT_BYTES
    assert r.failed("x", 0, 0, error)["error"].endswith("…")


def test_lone_surrogates_become_valid_text() -> None:
    text = "bad\udcff byte"
    assert r.to_json(r.started(r.fit(text, 128), 0)).encode("utf-8")
