"""Settings: names, defaults and limits from spec/limits.json; bad values named, then the default."""

from __future__ import annotations

import io
import json
import logging
from importlib import resources
from typing import Dict

import pytest

from support import paths, vectors

from lambda_graceful_shutdown import BadSetting, Config, ConfigError, _limits, report
from lambda_graceful_shutdown.config import parse_port, parse_timeout_ms


def test_the_shipped_limits_are_the_spec_file_byte_for_byte() -> None:
    shipped = resources.files("lambda_graceful_shutdown").joinpath("limits.json").read_bytes()
    assert shipped == paths.LIMITS.read_bytes()


def test_names_and_defaults_come_from_the_limits_file() -> None:
    spec = json.loads(paths.LIMITS.read_text())
    assert _limits.ENV_PORT == spec["env"]["port"] == "GRACEFUL_SHUTDOWN_PORT"
    assert _limits.ENV_TIMEOUT_MS == spec["env"]["timeoutMs"]
    assert _limits.ENV_SECRET_FILE == spec["env"]["secretFile"]
    config = Config()
    assert (config.port, config.timeout_ms, config.secret_file) == (
        spec["port"]["default"], spec["timeoutMs"]["default"], spec["secretFileDefault"])
    assert _limits.MAX_REPORT_BYTES == spec["maxReportBytes"]


def test_the_report_cuts_come_from_the_limits_file() -> None:
    spec = json.loads(paths.LIMITS.read_text())
    assert (report.MAX_NAME_BYTES, report.MAX_ERROR_BYTES, report.MAX_REPORT_BYTES, report.MAX_WORKER_BYTES) == (
        spec["maxNameBytes"], spec["maxErrorBytes"], spec["maxReportBytes"], spec["maxWorkerBytes"])
    # And they are what the encoder cuts to.
    name = report.hello(1, [], 250, False)
    assert report.hello_reports(1, ["n" * 5000], 250, False)[0]["handlers"] == [
        report.fit("n" * 5000, spec["maxNameBytes"])]
    assert len(report.failed("h", 0, 1, "e" * 5000)["error"].encode()) == spec["maxErrorBytes"]
    body = json.loads(report.to_json(name, "w" * 500))
    assert len(body["worker"].encode()) == spec["maxWorkerBytes"]


def lookup(values: Dict[str, str]):
    return values.get


def test_good_values_are_used() -> None:
    config, problems = Config.from_lookup(lookup({
        "GRACEFUL_SHUTDOWN_PORT": " 20001 ",
        "GRACEFUL_SHUTDOWN_TIMEOUT_MS": "120",
        "GRACEFUL_SHUTDOWN_SECRET_FILE": "/tmp/x.secret",
    }))
    assert problems == []
    assert config == Config(20001, 120, "/tmp/x.secret")


def test_every_limit_edge() -> None:
    spec = json.loads(paths.LIMITS.read_text())
    assert parse_port(str(spec["port"]["min"])) == spec["port"]["min"]
    assert parse_port(str(spec["port"]["max"])) == spec["port"]["max"]
    assert parse_timeout_ms("1") == 1
    assert parse_timeout_ms(str(spec["timeoutMs"]["max"])) == spec["timeoutMs"]["max"]
    for bad in ["1023", "65536", "-1", "", "abc", "4471.0", "1_000", "0x10"]:
        with pytest.raises(ConfigError):
            parse_port(bad)
    for bad in ["0", "281", "abc", "", "2.5", "-5", "1e2"]:
        with pytest.raises(ConfigError):
            parse_timeout_ms(bad)
    for entry in spec["port"]["reserved"]:
        with pytest.raises(ConfigError) as e:
            parse_port(str(entry["port"]))
        assert entry["usedBy"] in str(e.value)


def test_bad_values_name_variable_and_value_and_fall_back() -> None:
    config, problems = Config.from_lookup(lookup({
        "GRACEFUL_SHUTDOWN_PORT": "9001",
        "GRACEFUL_SHUTDOWN_TIMEOUT_MS": "5000",
        "GRACEFUL_SHUTDOWN_SECRET_FILE": " ",
    }))
    assert config == Config()
    lines = [str(p) for p in problems]
    assert lines == [
        'GRACEFUL_SHUTDOWN_PORT: expected a port not used by the Lambda Runtime API (default 4471), '
        'got "9001"; using the default 4471',
        "GRACEFUL_SHUTDOWN_TIMEOUT_MS: expected milliseconds from 1 to 280 (the runtime's 300 ms share "
        'of the shutdown phase, less 20 ms for the last reports and the exit), got "5000"; using the default 250',
        'GRACEFUL_SHUTDOWN_SECRET_FILE: expected a file path, got " "; using the default '
        "/tmp/.graceful-shutdown.secret",
    ]
    assert [p.var for p in problems] == [
        "GRACEFUL_SHUTDOWN_PORT", "GRACEFUL_SHUTDOWN_TIMEOUT_MS", "GRACEFUL_SHUTDOWN_SECRET_FILE"]
    _, [problem] = Config.from_lookup(lookup({"GRACEFUL_SHUTDOWN_TIMEOUT_MS": "abc"}))
    assert isinstance(problem, BadSetting)
    assert str(problem) == 'GRACEFUL_SHUTDOWN_TIMEOUT_MS: expected milliseconds, got "abc"; using the default 250'


def test_settings_are_read_as_the_vectors_say() -> None:
    cases = vectors.load("settings.json")["library"]
    assert any(case["problems"] for case in cases) and any(not case["problems"] for case in cases)
    for case in cases:
        config, problems = Config.from_lookup(lookup(case["env"]))
        assert config == Config(case["port"], case["timeoutMs"], case["secretFile"]), case["env"]
        assert [str(p) for p in problems] == case["problems"], case["env"]


def test_each_value_is_accepted_or_refused_as_the_vectors_say() -> None:
    parse = {"GRACEFUL_SHUTDOWN_PORT": parse_port, "GRACEFUL_SHUTDOWN_TIMEOUT_MS": parse_timeout_ms}
    for case in vectors.load("settings.json")["values"]:
        if "accepted" in case:
            assert parse[case["variable"]](case["value"]) == case["accepted"], case
        else:
            with pytest.raises(ConfigError) as e:
                parse[case["variable"]](case["value"])
            assert str(e.value) == case["error"], case


def test_from_env_logs_one_line_per_bad_value_through_logging(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="lambda_graceful_shutdown"):
        config = Config.from_env({"GRACEFUL_SHUTDOWN_PORT": "80", "GRACEFUL_SHUTDOWN_TIMEOUT_MS": "100"})
    assert config == Config(timeout_ms=100)
    warnings = [r for r in caplog.records if r.name == "lambda_graceful_shutdown"]
    assert len(warnings) == 1
    assert warnings[0].levelno == logging.WARNING
    assert warnings[0].getMessage() == (
        'graceful-shutdown: GRACEFUL_SHUTDOWN_PORT: expected a port number from 1024 to 65535, got "80"; '
        "using the default 4471")


def test_without_any_log_handler_the_line_goes_to_stderr(capfd: pytest.CaptureFixture[str]) -> None:
    root = logging.getLogger()
    saved = root.handlers[:]
    root.handlers.clear()
    try:
        Config.from_env({"GRACEFUL_SHUTDOWN_TIMEOUT_MS": "0"})
    finally:
        root.handlers[:] = saved
    err = capfd.readouterr().err
    assert err.count("\n") == 1, err
    assert err.startswith("WARNING graceful-shutdown: GRACEFUL_SHUTDOWN_TIMEOUT_MS: expected milliseconds from 1 to 280")
    assert err.endswith('got "0"; using the default 250\n')


def test_config_is_a_plain_frozen_value() -> None:
    config = Config(port=20002)
    with pytest.raises(Exception):
        config.port = 1  # type: ignore[misc]
    assert config == Config(20002, 250, "/tmp/.graceful-shutdown.secret")
    assert io  # keeps the import list honest for type checkers
