//! The canonical example, run as a real process: records buffered across
//! invocations are written on SIGTERM, and the pool is closed after them.

mod support;

use std::time::Duration;

use nix::sys::signal::Signal;
use support::*;

#[test]
fn buffered_records_are_flushed_and_the_pool_closed_on_sigterm() {
    let binary = built_binary(
        "examples/buffered_writer",
        "cargo build -p lambda-graceful-shutdown --examples",
    );
    let api = FakeLambdaApi::start(vec![r#"{"order":1}"#.into(), r#"{"order":2}"#.into()]);
    let scratch = Scratch::new();
    let listener = FakeReportListener::start();
    let mut cmd = lambda_command(&binary, &api, &scratch, "writer");
    cmd.env("BUFFERED_WRITER_OUTPUT", scratch.path("store"))
        .env("GRACEFUL_SHUTDOWN_PORT", listener.port.to_string())
        .env("GRACEFUL_SHUTDOWN_SECRET_FILE", scratch.write_secret());
    let mut process = Process::spawn(cmd);

    // Both invocations answered, the third `next` waits: the records sit in memory.
    api.wait_for_next_calls(3, Duration::from_secs(10));
    assert_eq!(api.log.lock().expect("lock").responses.len(), 2);
    assert_eq!(
        scratch.read("store"),
        "",
        "nothing is written before the batch is full"
    );

    process.signal(Signal::SIGTERM);
    let (status, _) = process.wait_exit(Duration::from_secs(5));
    assert_eq!(status.code(), Some(0), "{}", scratch.read("writer.out"));
    assert_eq!(
        scratch.lines("store"),
        [
            r#"record {"order":1}"#,
            r#"record {"order":2}"#,
            "pool closed 4 connections"
        ]
    );
    listener.wait_for("allDone", Duration::from_secs(2), |r| {
        matches!(
            r,
            graceful_shutdown_protocol::Report::AllDone {
                completed: 2,
                failed: 0,
                timed_out: 0,
                ..
            }
        )
    });
}
