"""The RestMachine adapter, with restmachine and restmachine-aws from PyPI, on
RestMachine's documented example."""

from __future__ import annotations

import json
from pathlib import Path
from typing import List

import pytest

from support import emulator, paths
from support.ports import reserved_port

restmachine = pytest.importorskip("restmachine")  # installed by scripts/setup.d/40-python.sh
from restmachine import RestApplication  # noqa: E402
from restmachine_aws import AwsApiGatewayAdapter  # noqa: E402

from lambda_graceful_shutdown import Config, GracefulShutdown, HandlerStatus  # noqa: E402
from lambda_graceful_shutdown.restmachine import add_app_handlers  # noqa: E402

CODE = paths.PYTHON_DIR / "tests" / "functions" / "restmachine"
EVENT = {
    "resource": "/users/{user_id}", "path": "/users/42", "httpMethod": "GET",
    "headers": {"Accept": "application/json"}, "multiValueHeaders": None,
    "queryStringParameters": None, "multiValueQueryStringParameters": None,
    "pathParameters": {"user_id": "42"}, "stageVariables": None,
    "requestContext": {"resourcePath": "/users/{user_id}", "httpMethod": "GET", "path": "/prod/users/42",
                       "stage": "prod", "requestId": "r-1", "identity": {"sourceIp": "127.0.0.1"}},
    "body": None, "isBase64Encoded": False,
}


def test_the_apps_handlers_get_the_startup_values_and_their_own_names() -> None:
    app = RestApplication()
    events: List[str] = []

    class Db:
        def close(self) -> None:
            events.append(f"close {id(self)}")

    @app.on_startup
    def database() -> Db:
        db = Db()
        events.append(f"open {id(db)}")
        return db

    @app.on_shutdown
    def close_database(database: Db) -> None:
        database.close()

    @app.on_shutdown
    async def flush_metrics() -> None:
        events.append("flush")

    @app.on_shutdown
    def broken(nonexistent) -> None:  # type: ignore[no-untyped-def]
        events.append("never")

    AwsApiGatewayAdapter(app, enable_metrics=False)
    shutdown = add_app_handlers(app, GracefulShutdown(Config(secret_file="/nonexistent")))
    assert shutdown.handler_names == ["close_database", "flush_metrics", "broken"]
    summary = shutdown.trigger()
    opened = events[0].split()[1]
    assert events == [f"open {opened}", f"close {opened}", "flush"], "the startup value itself, once"
    assert [h.status for h in summary.handlers] == [
        HandlerStatus.COMPLETED, HandlerStatus.COMPLETED, HandlerStatus.FAILED]
    assert "RestMachine cannot inject 'nonexistent'" in (summary.handlers[2].error or "")


def test_not_an_app_is_a_clear_error() -> None:
    with pytest.raises(TypeError, match="expected a restmachine RestApplication"):
        add_app_handlers(object(), GracefulShutdown(Config(secret_file="/nonexistent")))


@pytest.mark.parametrize("polling", [False, True], ids=["polling-off", "polling-on"])
def test_the_documented_example_closes_its_database_on_sigterm(polling: bool, tmp_path: Path) -> None:
    import restmachine_aws

    deps = [Path(restmachine.__file__).parent.parent, Path(restmachine_aws.__file__).parent.parent]
    fn = emulator.stage_function(tmp_path, polling=polling, code_dir=CODE, pythonpath=[paths.SRC, *deps])
    layer = emulator.stage_layer(tmp_path)
    out = tmp_path / "restmachine.txt"
    with reserved_port() as port:
        run = emulator.run(fn, layer, events=[json.dumps(EVENT)], invocations=2, env={
            "RESTMACHINE_OUTPUT": str(out),
            "GRACEFUL_SHUTDOWN_PORT": str(port),
            "GRACEFUL_SHUTDOWN_SECRET_FILE": str(tmp_path / "secret"),
        })
    ctx = run.describe()
    assert run.returncode == 0, ctx
    lines = out.read_text().splitlines()
    db = lines[0].split()[1]
    assert lines == [f"open {db}", f"query {db} 42", f"query {db} 42", f"close {db}"], ctx
    verdict = run.verdict_line() or ""
    assert "outcome=completed" in verdict and "handlers=1/1" in verdict and " close_database=ok(" in verdict, ctx
    assert run.signals("runtime") == ["SIGTERM"] and run.exit_of("runtime") == "code:0", ctx
