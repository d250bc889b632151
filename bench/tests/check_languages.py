"""Checks the language rows of a benchmark run: the results of the Node.js
library's bench (node/bench/bench.mjs --json), of the Python library's
(python/bench/bench.py --json) and of the Go library's (go/internal/bench
--json), written by bench/run.sh beside latest.json as node.json, python.json
and go.json. Every row must be there, each figure finite and in
a sane range, its spread in order, with as many samples as the run asked for.
It checks the shape and the sanity of the numbers, never a timing target.
What it does assert beyond that is the behaviour each row exists to show: the
hand-written patterns' processes hang until the SIGKILL at the end of the
runtime's share (Node.js always; Python with the main thread blocked in the
client's next(), where its signal handler never runs either; Go's
lambda.WithEnableSIGTERM alone always).

Usage: python3 bench/tests/check_languages.py DIR RUNS
  DIR   the folder with node.json, python.json and go.json
  RUNS  the --runs both benches were given
"""

import json
import math
import os
import sys

# Any figure of these rows above this is not a measurement but a hang.
HIGHEST_MS = 30_000.0

NODE_ROWS = {
    # name -> the sample series it must have
    "import + install": ("library", "handWritten"),
    "SIGTERM -> first handler": ("library", "handWritten"),
    "per-invoke latency": ("library", "without"),
    "SIGTERM -> process gone": ("library", "handWritten"),
}

PY_BLOCKED = "polling off (main thread blocked in next())"
PYTHON_ROWS = (
    ["import + install at cold start: library (target <= 3 ms)", "import + install at cold start: handwritten",
     "import + install at cold start, extension attached: library (target <= 3 ms)"]
    + [f"per invoke, {p}: {w}" for p in ("polling off", "polling on")
       for w in ("with the library", "without", "ratio with/without (target <= 1.01)")]
    + [f"SIGTERM -> {what}, {p}: {m}" for p in (PY_BLOCKED, "polling on")
       for m in ("library", "handwritten") for what in ("first handler", "process gone")]
    + [f"send_now on the handlers' path, answers after {ms} ms" for ms in (0, 10)]
)
# send_now writes and leaves the answer to the reporter's thread: it must not
# wait for an extension that answers late (python/bench/bench.py).
PY_SEND_NOW_MAX_MS = 5.0
# The trap the library exists for: this handler never runs.
PY_NEVER = f"SIGTERM -> first handler, {PY_BLOCKED}: handwritten"


def fail(errors):
    for e in errors:
        print(f"check_languages: {e}", file=sys.stderr)
    sys.exit(1)


def number(x):
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def check_stats(where, st, n_min, low, high, errors, inner_spread=True):
    """`st`: {median, p10, p90, n, ...}. `inner_spread`: p10 and p90 lie within [low, high] too
    (Python's quantiles extrapolate past the samples when there are few)."""
    if not isinstance(st, dict):
        errors.append(f"{where}: no figures")
        return
    for k in ("median", "p10", "p90", "n"):
        if not number(st.get(k)):
            errors.append(f"{where}: {k} is {st.get(k)!r}, not a finite number")
            return
    if st["n"] < n_min:
        errors.append(f"{where}: n={st['n']}, expected at least {n_min}")
    if not low <= st["median"] <= high:
        errors.append(f"{where}: median {st['median']} outside the sane range {low}..{high}")
    if not st["p10"] <= st["median"] <= st["p90"]:
        errors.append(f"{where}: spread out of order: p10 {st['p10']}, median {st['median']}, p90 {st['p90']}")
    if inner_spread and not (low <= st["p10"] and st["p90"] <= high):
        errors.append(f"{where}: p10 {st['p10']} or p90 {st['p90']} outside the sane range {low}..{high}")


def check_node(path, runs, errors):
    with open(path) as f:
        data = json.load(f)
    if not str(data.get("node", "")).startswith("v"):
        errors.append(f"{path}: node: expected the Node.js version, got {data.get('node')!r}")
    rows = {r.get("name"): r for r in data.get("rows", [])}
    missing = [n for n in NODE_ROWS if n not in rows]
    extra = [n for n in rows if n not in NODE_ROWS]
    if missing:
        errors.append(f"{path}: rows missing: {missing}")
    if extra:
        errors.append(f"{path}: rows not known to this check: {extra}")
    emu_runs = max(3, math.ceil(runs / 2))  # as node/bench/bench.mjs runs the emulator rows
    for name, series in NODE_ROWS.items():
        r = rows.get(name)
        if r is None:
            continue
        n_min = {"per-invoke latency": emu_runs, "SIGTERM -> process gone": emu_runs}.get(name, runs)
        for s in series:
            check_stats(f"{path}: {name}: {s}", r.get(s), n_min, 0.0, HIGHEST_MS, errors)
    inv = rows.get("per-invoke latency")
    if inv is not None:
        for k in ("ratioOfMeans", "ratioOfMedians"):
            if not (number(inv.get(k)) and 0.05 <= inv[k] <= 20.0):
                errors.append(f"{path}: per-invoke latency: {k} is {inv.get(k)!r}, not a sane ratio")
    gone = rows.get("SIGTERM -> process gone")
    if gone is not None:
        of, killed = gone.get("of"), gone.get("sigkilled") or {}
        if of != emu_runs:
            errors.append(f"{path}: SIGTERM -> process gone: of={of!r}, expected {emu_runs}")
        elif not (isinstance(killed.get("lib"), int) and 0 <= killed["lib"] <= of):
            errors.append(f"{path}: SIGTERM -> process gone: sigkilled.lib is {killed.get('lib')!r}")
        elif killed.get("hand") != of:
            errors.append(f"{path}: SIGTERM -> process gone: the hand-written process.exit(0) was SIGKILLed in "
                          f"{killed.get('hand')!r} of {of} runs; it hangs until the SIGKILL every time")


def check_python(path, runs, errors):
    with open(path) as f:
        data = json.load(f)
    if not isinstance(data, list):
        errors.append(f"{path}: expected a list of rows")
        return
    rows = {r.get("row"): r for r in data}
    missing = [n for n in PYTHON_ROWS if n not in rows]
    extra = [n for n in rows if n not in PYTHON_ROWS]
    if missing:
        errors.append(f"{path}: rows missing: {missing}")
    if extra:
        errors.append(f"{path}: rows not known to this check: {extra}")
    for name in PYTHON_ROWS:
        r = rows.get(name)
        if r is None:
            continue
        if name == PY_NEVER:
            if r.get("n") != 0:
                errors.append(f"{path}: {name}: the hand-written signal handler ran (n={r.get('n')!r}); "
                              "with the main thread blocked in next() it never does")
            continue
        if name.startswith("send_now"):
            check_stats(f"{path}: {name}", r, runs * 20, 0.0, PY_SEND_NOW_MAX_MS, errors, inner_spread=False)
            continue
        if name.startswith("per invoke"):
            n_min = max(3, runs // 3)  # as python/bench/bench.py repeats them
        elif "first handler" in name:
            n_min = 1  # a run whose handler did not start counts in "process gone" only
        else:
            n_min = runs
        if r.get("unit") == "x":
            check_stats(f"{path}: {name}", r, n_min, 0.05, 20.0, errors, inner_spread=False)
        else:
            if r.get("unit") != "ms":
                errors.append(f"{path}: {name}: unit {r.get('unit')!r}, expected ms")
            check_stats(f"{path}: {name}", r, n_min, 0.0, HIGHEST_MS, errors, inner_spread=False)
    hand_gone = rows.get(f"SIGTERM -> process gone, {PY_BLOCKED}: handwritten")
    # SIGKILLed at the end of the 300 ms share: it cannot be gone before.
    if hand_gone and number(hand_gone.get("median")) and hand_gone["median"] < 250.0:
        errors.append(f"{path}: the hand-written pattern with the main thread blocked was gone after "
                      f"{hand_gone['median']} ms (median); it waits for the SIGKILL at the end of the 300 ms share")


GO_SETUPS = ("library", "WithEnableSIGTERM", "both")


def check_go(path, runs, errors):
    with open(path) as f:
        data = json.load(f)
    if not str(data.get("go", "")).startswith("go"):
        errors.append(f"{path}: go: expected the Go version, got {data.get('go')!r}")
    rows = {r.get("setup"): r for r in data.get("rows", [])}
    missing = [n for n in GO_SETUPS if n not in rows]
    extra = [n for n in rows if n not in GO_SETUPS]
    if missing:
        errors.append(f"{path}: rows missing: {missing}")
    if extra:
        errors.append(f"{path}: rows not known to this check: {extra}")
    for name in GO_SETUPS:
        r = rows.get(name)
        if r is None:
            continue
        for series in ("sigtermToFirstHandler", "sigtermToProcessGone"):
            check_stats(f"{path}: {name}: {series}", r.get(series), runs, 0.0, HIGHEST_MS, errors)
        killed = r.get("sigkilled")
        if r.get("runs") != runs or not (isinstance(killed, int) and 0 <= killed <= runs):
            errors.append(f"{path}: {name}: sigkilled {killed!r} of runs {r.get('runs')!r}, expected {runs} runs")
    alone = rows.get("WithEnableSIGTERM")
    # It never ends the process: the SIGKILL at the end of the 300 ms share does.
    if alone is not None and alone.get("sigkilled") != runs:
        errors.append(f"{path}: WithEnableSIGTERM alone was SIGKILLed in {alone.get('sigkilled')!r} of {runs} runs; "
                      "it never ends the process, so the SIGKILL ends it every time")


def main(argv):
    if len(argv) != 3:
        print(__doc__.strip().splitlines()[-3], file=sys.stderr)
        sys.exit(2)
    folder = argv[1]
    try:
        runs = int(argv[2])
    except ValueError:
        fail([f"RUNS: expected a number of runs, got {argv[2]!r}"])
    errors = []
    for name, check in (("node.json", check_node), ("python.json", check_python), ("go.json", check_go)):
        path = os.path.join(folder, name)
        if not os.path.exists(path):
            errors.append(f"{path}: missing (bench/run.sh writes it)")
            continue
        try:
            check(path, runs, errors)
        except (ValueError, AttributeError, TypeError) as e:
            errors.append(f"{path}: not the expected JSON: {e}")
    if errors:
        fail(errors)
    print(f"check_languages: node.json, python.json and go.json in {folder}: every language row present and sane")


if __name__ == "__main__":
    main(sys.argv)
