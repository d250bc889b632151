"""Checks that a benchmark results file (bench/results/latest.json) has every
metric, for every extension it applies to, with sane values. It checks the
shape and the sanity of the numbers, never a timing target: the benchmark is
not a timed test.

Usage: python3 bench/tests/check_results.py bench/results/latest.json [quick|full]
"""

import json
import math
import sys

# The handoff flavour of the layer: measured beside the default one, in its own table.
HANDOFF = "graceful-shutdown-handoff"
SUBJECTS = ["graceful-shutdown", "lambda-extension", "restmachine-aws", "floor", HANDOFF]
OURS = ["graceful-shutdown"]
FLAVOURS = OURS + [HANDOFF]
RUST = ["graceful-shutdown", "lambda-extension", HANDOFF]
SIZED = ["graceful-shutdown", "lambda-extension", "restmachine-aws", HANDOFF]
# The 128 MB table: each library, and the hand-written pattern beside it (Rust has none).
LIBRARIES = ["rust", "python", "nodejs", "java", "go"]
SMALL = LIBRARIES + [f"{lang}-handwritten" for lang in LIBRARIES if lang != "rust"]

# id -> (subjects, lowest sane value, highest sane value, target op or None)
EXPECTED = {
    "start_ms": (SUBJECTS, 0.0, 10_000.0, "<="),
    "start_speedup_vs_restmachine": (RUST + ["floor"], 0.0, 1e6, ">="),
    "start_vs_floor": (FLAVOURS, 0.0, 1e4, None),
    "start_to_register_ms": (SUBJECTS, 0.0, 10_000.0, None),
    "init_cpu_ms": (SUBJECTS, 0.0, 10_000.0, None),
    "init_runqueue_wait_ms": (SUBJECTS, 0.0, 10_000.0, None),
    "peak_rss_mib": (SUBJECTS, 0.1, 4096.0, "<="),
    "binary_kib_x86_64": (RUST, 10.0, 100_000.0, None),
    "binary_kib_arm64": (RUST, 10.0, 100_000.0, None),
    "layer_zip_kib_x86_64": (SIZED, 1.0, 100_000.0, "<="),
    "layer_zip_kib_arm64": (SIZED, 1.0, 100_000.0, "<="),
    "invoke_ms_with_layer": (OURS, 0.0, 3_000.0, None),
    "invoke_ms_without_layer": (OURS, 0.0, 3_000.0, None),
    "invoke_ratio": (OURS, 0.05, 20.0, "<="),
    "sigterm_to_handler_ms": (FLAVOURS, 0.0, 300.0, "<="),
    "shutdown_to_verdict_ms": (FLAVOURS, 0.0, 2_000.0, "<="),
    "last_report_to_verdict_ms": (FLAVOURS, 0.0, 2_300.0, None),
    "exit_margin_ms": (SUBJECTS, 0.0, 2_000.0, None),
    "synth_warm_s": (OURS, 0.0, 3_600.0, "<="),
    "synth_warm_no_validation_s": (OURS, 0.0, 3_600.0, None),
    "cold_build_s": (OURS, 0.0, 7_200.0, None),
    # The handoff (bench-handoff-function, the handoff flavour): the Rust
    # library's call; the direct POST to an endpoint that answers after
    # 400 ms, which cannot take less; whether that POST made in the shutdown
    # handler ended before the runtime (0 is a sane value: it does not fit);
    # SHUTDOWN -> the last of 8 deliveries; and the share delivered, which
    # must be all of them (100 %): a request lost there is a broken run.
    "handoff_call_ms": (["rust"], 0.0, 1_000.0, None),
    "direct_post_ms": (["rust"], 399.0, 5_000.0, None),
    "direct_post_in_handler_done_pct": (["rust"], -1.0, 100.0, None),
    "handoff_delivery_ms": ([HANDOFF], 0.0, 2_000.0, None),
    "handoff_delivered_pct": ([HANDOFF], 99.999, 100.0, None),
    # At 128 MB: SIGTERM -> the handler's first line (runs where it started),
    # the share of runs whose 200 ms handler ended before the runtime did
    # (0 is a sane value: a miss, not a broken run), and the init.
    "m128_sigterm_to_handler_ms": (SMALL, 0.0, 2_000.0, None),
    "m128_completed_pct": (SMALL, -1.0, 100.0, None),
    "m128_init_ms": (SMALL, 0.0, 60_000.0, None),
    # Read from the Python and Node.js libraries' benches (python.json, node.json).
    "import_install_ms": (["python", "python-handwritten", "nodejs", "nodejs-handwritten"], 0.0, 10_000.0, None),
}
# Targets of other subjects than graceful-shutdown: id -> (subjects, op, figure judged).
OTHER_TARGETS = {
    "layer_zip_kib_x86_64": ([HANDOFF], "<=", "median"),
    "layer_zip_kib_arm64": ([HANDOFF], "<=", "median"),
    "start_vs_floor": ([HANDOFF], "<=", "median"),
    "handoff_delivered_pct": ([HANDOFF], ">=", "median"),
    "m128_sigterm_to_handler_ms": (LIBRARIES, "<=", "p90"),
    "m128_completed_pct": (LIBRARIES, ">=", "median"),
    "import_install_ms": (["python", "nodejs"], "<=", "median"),
}
FULL_ONLY = {"cold_build_s"}
# Repeated measurements: n must equal the configured count.
REPEATED = {
    "start_ms": "runsPerExtension",
    "peak_rss_mib": "runsPerExtension",
    "exit_margin_ms": "runsPerExtension",
    "start_to_register_ms": "runsPerExtension",
    "init_cpu_ms": "runsPerExtension",
    "init_runqueue_wait_ms": "runsPerExtension",
    "start_speedup_vs_restmachine": "runsPerExtension",
    "sigterm_to_handler_ms": "runsPerExtension",
    "shutdown_to_verdict_ms": "runsPerExtension",
    "last_report_to_verdict_ms": "runsPerExtension",
    "invoke_ratio": "invokePairs",
    "synth_warm_s": "synthRuns",
    "synth_warm_no_validation_s": "synthRuns",
    "m128_completed_pct": "smallRuns",
    "start_vs_floor": "runsPerExtension",
    "handoff_call_ms": "handoffRuns",
    "direct_post_ms": "handoffRuns",
    "direct_post_in_handler_done_pct": "handoffRuns",
    "handoff_delivery_ms": "handoffRuns",
    "handoff_delivered_pct": "handoffRuns",
    "m128_init_ms": "smallRuns",
}
# Samples only of the runs where something happened: at most the configured count.
AT_MOST = {"m128_sigterm_to_handler_ms": "smallRuns"}


def check(results, mode):
    problems = []
    if results.get("schema") != 1:
        problems.append(f"schema is {results.get('schema')!r}, expected 1")
    if results.get("mode") != mode:
        problems.append(f"mode is {results.get('mode')!r}, expected {mode!r}")
    for key in ("date", "command"):
        if not results.get(key):
            problems.append(f"{key} is empty")
    config = results.get("config", {})
    metrics = results.get("metrics", [])
    seen = {(m.get("id"), m.get("subject")) for m in metrics}
    if len(seen) != len(metrics):
        problems.append("a metric appears twice for the same subject")
    for mid, (subjects, low, high, op) in EXPECTED.items():
        if mode == "quick" and mid in FULL_ONLY:
            if any(m["id"] == mid for m in metrics):
                problems.append(f"{mid} present in quick mode, which skips it")
            continue
        for subject in subjects:
            found = [m for m in metrics if m.get("id") == mid and m.get("subject") == subject]
            if not found:
                problems.append(f"missing metric {mid} for {subject}")
                continue
            m = found[0]
            where = f"{mid}/{subject}"
            stats = [m.get(k) for k in ("median", "p10", "p90", "min", "max", "iqr")]
            if not all(isinstance(v, (int, float)) and math.isfinite(v) for v in stats):
                problems.append(f"{where}: non-finite statistics {stats}")
                continue
            median, p10, p90, lo, hi, iqr = stats
            if not (lo <= p10 <= median <= p90 <= hi) or iqr < 0:
                problems.append(f"{where}: statistics out of order {stats}")
            if not (low < median <= high) and not (low == 0.0 and median == 0.0 and mid.endswith("_ms")):
                problems.append(f"{where}: median {median} outside the sane range ({low}, {high}]")
            if mid in AT_MOST:
                most = config.get(AT_MOST[mid])
                if not (isinstance(m.get("n"), int) and 1 <= m["n"] <= (most or 0)):
                    problems.append(f"{where}: n = {m.get('n')}, expected 1 to {AT_MOST[mid]} = {most}")
            if mid in OTHER_TARGETS and subject in OTHER_TARGETS[mid][0]:
                _, want_op, on = OTHER_TARGETS[mid]
                target = m.get("target")
                figure = p90 if on == "p90" else median
                if not target or target.get("op") != want_op or target.get("on") != on or not isinstance(m.get("met"), bool):
                    problems.append(f"{where}: expected a target {want_op} on the {on} with met true/false, got {target!r}")
                elif m["met"] != ((figure <= target["value"]) if want_op == "<=" else (figure >= target["value"])):
                    problems.append(f"{where}: met={m['met']} disagrees with {on} {figure} {want_op} {target['value']}")
            if mid in REPEATED:
                want = config.get(REPEATED[mid])
                if m.get("n") != want:
                    problems.append(f"{where}: n = {m.get('n')}, expected {REPEATED[mid]} = {want}")
            if not m.get("label") or not m.get("unit"):
                problems.append(f"{where}: no label or unit")
            if subject == "graceful-shutdown" and op is not None:
                target = m.get("target")
                if not target or target.get("op") != op or not isinstance(m.get("met"), bool):
                    problems.append(f"{where}: expected a target {op} with met true/false, got {target!r}")
                elif m["met"] != ((median <= target["value"]) if op == "<=" else (median >= target["value"])):
                    problems.append(f"{where}: met={m['met']} disagrees with median {median} {op} {target['value']}")
    return problems


def main():
    path = sys.argv[1]
    mode = sys.argv[2] if len(sys.argv) > 2 else "quick"
    with open(path, encoding="utf-8") as f:
        results = json.load(f)
    problems = check(results, mode)
    for p in problems:
        print(f"bench results: {p}", file=sys.stderr)
    if problems:
        print(f"bench results: {len(problems)} problem(s) in {path}", file=sys.stderr)
        sys.exit(1)
    print(f"bench results: {len(results['metrics'])} metrics present and sane in {path}")


if __name__ == "__main__":
    main()
