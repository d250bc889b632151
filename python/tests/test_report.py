"""Report encoding: the exact bytes the Rust side writes and expects."""

from __future__ import annotations

import json

import pytest

from support import vectors

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


def build(fields: dict) -> r.Report:
    """The report of a vector, made by the library's own constructors."""
    kind = fields["type"]
    if kind == "hello":
        return r.hello(fields["pid"], fields["handlers"], fields["timeoutMs"], fields["concurrent"],
                       first_index=fields.get("firstIndex", 0))
    if kind == "shutdownStarted":
        return r.shutdown_started(fields["signal"])
    if kind == "started":
        return r.started(fields["handler"], fields["index"])
    if kind == "finished":
        return r.finished(fields["handler"], fields["index"], fields["durationMs"])
    if kind == "failed":
        return r.failed(fields["handler"], fields["index"], fields["durationMs"], fields["error"])
    if kind == "timedOut":
        return r.timed_out(fields["handler"], fields["index"], fields["durationMs"])
    assert kind == "allDone", kind
    return r.all_done(fields["completed"], fields["failed"], fields["timedOut"], fields["totalMs"])


REPORTS = vectors.load("reports.json")


def test_the_report_vectors_cover_every_kind() -> None:
    kinds = {case["report"]["type"] for case in REPORTS["cases"]}
    assert kinds == {"hello", "shutdownStarted", "started", "finished", "failed", "timedOut", "allDone"}


@pytest.mark.parametrize("case", REPORTS["cases"],
                         ids=lambda c: f'{c["report"]["type"]}-{"none" if c["worker"] is None else len(c["worker"])}')
def test_every_report_is_byte_for_byte_what_the_rust_encoder_writes(case: dict) -> None:
    report = build(case["report"])
    assert r.to_json(report, case["worker"]) == case["body"]
    assert r.encode_request(REPORTS["port"], REPORTS["secret"], report, case["worker"]) == case["request"].encode("utf-8")


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
    cases = vectors.load("fit.json")["cases"]
    assert len(cases) > 50
    for case in cases:
        for max_bytes, expected in case["cuts"]:
            got = r.fit(case["text"], max_bytes)
            assert got == expected, (case["text"], max_bytes)
            assert r.json_string_len(got) <= max_bytes


def test_json_string_len_is_what_json_writes() -> None:
    for text in ["", "plain", "é日😱", "\u0000\u001f\u007f", '"\\\b\f\n\r\t', "\u2028"]:
        assert r.json_string_len(text) == len(json.dumps(text, ensure_ascii=False).encode()) - 2


def test_hellos_split_exactly_as_the_rust_side() -> None:
    cases = vectors.load("hello.json")["cases"]
    assert any(len(case["hellos"]) > 1 for case in cases), "the vectors include a split"
    for case in cases:
        names, worker = case["names"], case["worker"]
        hellos = r.hello_reports(case["pid"], names, case["timeoutMs"], case["concurrent"], worker)
        assert [r.to_json(h, worker) for h in hellos] == case["hellos"]
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
