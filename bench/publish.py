"""Publishes a full benchmark run: puts its table into bench/README.md, between
the `<!-- results:start -->` and `<!-- results:end -->` markers, with the date,
the command and the machine, and writes its JSON to bench/published.json,
the tracked copy that goes into the repository with the table (latest.json and
table.md are not tracked). bench/run.sh calls it after a full run; a quick
run is refused, so that its few repetitions never replace published figures.

Usage: python3 bench/publish.py bench/results/latest.json bench/results/table.md bench/README.md [bench/published.json]
"""

import json
import os
import sys

START = "<!-- results:start -->"
END = "<!-- results:end -->"
# Beside this script, not in bench/results/, which the repository ignores as a whole.
PUBLISHED = os.path.join(os.path.dirname(os.path.abspath(__file__)), "published.json")


def section(results, table):
    host = results["host"]
    config = results["config"]
    return "\n".join(
        [
            START,
            f"Measured {results['date']} with `{results['command']}` ({results['mode']} mode) on "
            f"{host['cpus']} vCPUs ({host['cpu_model']}, Linux {host['kernel']}), "
            f"{config['runsPerExtension']} runs per extension, {config['invokePairs']} pairs of "
            f"{config['invocationsPerRun']} invocations, {config['synthRuns']} timed synths "
            f"(`{config['synthCommand']}`). Cells: median (p10–p90).",
            "",
            table.rstrip("\n"),
            END,
        ]
    )


def main():
    if len(sys.argv) not in (4, 5):
        sys.exit(
            "usage: publish.py RESULTS.json TABLE.md README.md [PUBLISHED.json]; "
            "bench/run.sh passes them after a full run"
        )
    results_path, table_path, readme_path = sys.argv[1:4]
    published_path = sys.argv[4] if len(sys.argv) == 5 else PUBLISHED
    with open(results_path, encoding="utf-8") as f:
        results = json.load(f)
    if results.get("mode") != "full":
        sys.exit(
            f"publish.py: {results_path} is a {results.get('mode')!r} run; only a full run "
            "(`pnpm run bench`, without --quick) is published"
        )
    with open(table_path, encoding="utf-8") as f:
        table = f.read()
    with open(readme_path, encoding="utf-8") as f:
        readme = f.read()
    if START not in readme or END not in readme:
        sys.exit(f"publish.py: {readme_path} has no {START} ... {END} markers")
    head, rest = readme.split(START, 1)
    _, tail = rest.split(END, 1)
    with open(readme_path, "w", encoding="utf-8") as f:
        f.write(head + section(results, table) + tail)
    os.makedirs(os.path.dirname(os.path.abspath(published_path)), exist_ok=True)
    with open(published_path, "w", encoding="utf-8") as f:
        f.write(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    print(f"publish.py: results of {results['date']} written to {readme_path} and {published_path}")


if __name__ == "__main__":
    main()
