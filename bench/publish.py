"""Puts the table of a full benchmark run into bench/README.md, between the
`<!-- results:start -->` and `<!-- results:end -->` markers, with the date,
the command and the machine. bench/run.sh calls it after a full run.

Usage: python3 bench/publish.py bench/results/latest.json bench/results/table.md bench/README.md
"""

import json
import sys

START = "<!-- results:start -->"
END = "<!-- results:end -->"


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
    results_path, table_path, readme_path = sys.argv[1:4]
    with open(results_path, encoding="utf-8") as f:
        results = json.load(f)
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
    print(f"publish.py: results of {results['date']} written to {readme_path}")


if __name__ == "__main__":
    main()
