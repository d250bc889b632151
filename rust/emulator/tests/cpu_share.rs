//! Lambda gives a function CPU in proportion to its memory (one vCPU at
//! 1,769 MB). With the memory given explicitly, the environment's processes
//! get that share through a cgroup CPU quota: at 128 MB a CPU-bound loop gets
//! measurably less done in a fixed time than at 1,769 MB.

mod common;

use common::{built, free_port, rt, serial, Staged};
use graceful_shutdown_emulator::{render, Emulator, InvokeOutcome, Scenario};
use graceful_shutdown_protocol::{ENV_PORT, ENV_SECRET_FILE};

/// Counts loop turns for a fixed wall-clock time, and the CPU time it got.
const BUSY: &str = r#"
import time
def handler(event, context):
    cpu = time.process_time()
    end = time.monotonic() + event["seconds"]
    n = 0
    while time.monotonic() < end:
        n += 1
    return {"n": n, "cpu_ms": (time.process_time() - cpu) * 1000}
"#;

/// Loop turns and CPU milliseconds the handler got in 600 ms, and the timeline.
fn loop_turns(memory: Option<u32>) -> (u64, f64, String) {
    let staged = Staged::new().extension(
        "graceful-shutdown",
        &built(
            "graceful-shutdown",
            "cargo build -p graceful-shutdown-extension",
        ),
    );
    std::fs::write(staged.function_dir().join("app.py"), BUSY).expect("write app.py");
    let mut s = Scenario::new(staged.function_dir())
        .managed_runtime("python3.12", "app.handler")
        .layer(staged.layer_dir())
        .env(ENV_PORT, free_port().to_string())
        .env(ENV_SECRET_FILE, staged.file("secret").display().to_string())
        .event(br#"{"seconds":0.6}"#.to_vec());
    if let Some(mb) = memory {
        s = s.memory(mb);
        // On a small share of a busy core the Python client's init alone can
        // take seconds; this test is about the invocation's CPU.
        s.init_cap = std::time::Duration::from_secs(60);
    }
    let report = rt().block_on(Emulator::run(s)).expect("run");
    let text = render(&report.timeline);
    assert!(report.lifecycle_ok(), "{text}");
    let answer: serde_json::Value = match &report.invocations[0] {
        InvokeOutcome::Response(b) => serde_json::from_slice(b).expect("JSON"),
        other => panic!("{other:?}\n{text}"),
    };
    (
        answer["n"].as_u64().expect("n"),
        answer["cpu_ms"].as_f64().expect("cpu_ms"),
        text,
    )
}

fn cpu_writable() -> bool {
    let probe = std::path::Path::new(graceful_shutdown_emulator::cgroup::CGROUP_ROOT)
        .join("cpu/lambda-emulator-probe");
    let ok = std::fs::create_dir(&probe).is_ok();
    let _ = std::fs::remove_dir(&probe);
    ok
}

#[test]
fn at_128_mb_a_cpu_bound_loop_gets_less_done_than_at_1769_mb() {
    let _one = serial();
    let (small, small_cpu, small_text) = loop_turns(Some(128));
    let (large, large_cpu, large_text) = loop_turns(Some(1769));
    eprintln!(
        "in 600 ms: 128 MB {small} loop turns on {small_cpu:.0} ms of CPU, 1769 MB {large} on \
         {large_cpu:.0} ms; ratio {:.3}",
        small as f64 / large as f64
    );
    if !cpu_writable() {
        assert!(small_text.contains("CPU share not applied"), "{small_text}");
        return;
    }
    assert!(
        small_text.contains("CPU share 7.2 % of a vCPU for 128 MB: cpu.cfs_quota_us 7236"),
        "{small_text}"
    );
    assert!(
        large_text.contains("CPU share 100.0 % of a vCPU for 1769 MB"),
        "{large_text}"
    );
    // The quota is a ceiling: 7.2 % of 600 ms is 43 ms (plus the kernel's
    // 5 ms slices at period edges), whatever else the machine is doing.
    assert!(
        small_cpu < 90.0,
        "128 MB got {small_cpu} ms of CPU in 600 ms:\n{small_text}"
    );
    // Against up to a whole core: measurably less, even when other work on
    // this machine keeps the 1769 MB run well under a core.
    assert!(
        small * 3 < large * 2 && small_cpu * 1.5 < large_cpu,
        "128 MB did {small} turns on {small_cpu} ms, 1769 MB {large} on {large_cpu} ms:\n{small_text}\n{large_text}"
    );
}

#[test]
fn without_an_explicit_memory_size_nothing_is_throttled() {
    let _one = serial();
    let (_, _, text) = loop_turns(None);
    assert!(!text.contains("CPU share"), "{text}");
    let s = Scenario::new("fn");
    assert_eq!(s.cpu_share, None);
    assert_eq!(s.memory_mb, 128);
    let t = Scenario::new("fn").cpu_share(0.07);
    assert_eq!(t.cpu_share, Some(0.07));
}
