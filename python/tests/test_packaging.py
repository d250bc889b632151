"""Packaging: an sdist and a wheel built from it, installed into a fresh virtual
environment and into a function's code directory, and used from there."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path
from typing import Tuple

import pytest

from support import conformance, paths


@pytest.fixture(scope="module")
def dists(tmp_path_factory: pytest.TempPathFactory) -> Tuple[Path, Path]:
    out = tmp_path_factory.mktemp("dist")
    # Build from a copy, so the source tree gets no build/ or egg-info, with the
    # limits link resolved exactly as a checkout has it.
    src = tmp_path_factory.mktemp("src") / "python"
    shutil.copytree(paths.PYTHON_DIR, src, symlinks=True,
                    ignore=shutil.ignore_patterns(".venv", "tests", "bench", "build", "dist", "*.egg-info",
                                                  "__pycache__"))
    spec = src.parent / "spec"
    spec.mkdir()
    shutil.copy2(paths.LIMITS, spec / "limits.json")
    subprocess.run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(src)],
                   check=True, capture_output=True, timeout=300)
    [sdist] = out.glob("*.tar.gz")
    [wheel] = out.glob("*.whl")
    return sdist, wheel


def test_the_wheel_and_sdist_ship_the_limits_as_a_real_file(dists: Tuple[Path, Path]) -> None:
    sdist, wheel = dists
    assert wheel.name == "lambda_graceful_shutdown-0.1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        assert "lambda_graceful_shutdown/limits.json" in names
        assert "lambda_graceful_shutdown/py.typed" in names
        assert z.read("lambda_graceful_shutdown/limits.json") == paths.LIMITS.read_bytes()
        metadata = z.read("lambda_graceful_shutdown-0.1.0.dist-info/METADATA").decode()
        assert "Requires-Dist" not in metadata, "no runtime dependencies"
        assert not any(n.startswith("tests/") for n in names)
    with tarfile.open(sdist) as t:
        member = t.getmember("lambda_graceful_shutdown-0.1.0/src/lambda_graceful_shutdown/limits.json")
        assert member.isfile(), "the link is resolved into the file itself"
        data = t.extractfile(member)
        assert data is not None and data.read() == paths.LIMITS.read_bytes()


def test_installed_into_a_fresh_venv_it_works_from_there(dists: Tuple[Path, Path], tmp_path: Path) -> None:
    _, wheel = dists
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    py = venv / "bin" / "python"
    subprocess.run([str(py), "-m", "pip", "install", "--quiet", "--no-index", "--no-deps",
                    "--disable-pip-version-check", str(wheel)], check=True, timeout=120)
    script = tmp_path / "check.py"
    script.write_text(
        "import json, sys, lambda_graceful_shutdown as g\n"
        "from importlib import resources\n"
        "s = g.GracefulShutdown(g.Config(timeout_ms=100, secret_file='/nonexistent'))\n"
        "@s.on_startup\n"
        "def db(): return ['open']\n"
        "@s.on_shutdown\n"
        "def close_db(db): db.clear()\n"
        "summary = s.trigger()\n"
        "print(json.dumps({'file': g.__file__, 'completed': summary.completed,\n"
        "  'limits': resources.files('lambda_graceful_shutdown').joinpath('limits.json').read_text(),\n"
        "  'typed': resources.files('lambda_graceful_shutdown').joinpath('py.typed').is_file()}))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run([str(py), "-I", str(script)], cwd=tmp_path, env=env, capture_output=True, text=True,
                          check=True, timeout=60)
    result = json.loads(done.stdout)
    assert result["file"].startswith(str(venv)), result["file"]
    assert result["completed"] == 1
    assert result["limits"] == paths.LIMITS.read_text()
    assert result["typed"]
    # The unit tests, against the installed package rather than the source tree.
    tests = subprocess.run(
        [str(paths.PYTHON_DIR / ".venv" / "bin" / "python"), "-m", "pytest", "-q", "-p", "no:cacheprovider",
         "tests/test_limits_and_config.py", "tests/test_core.py"],
        cwd=paths.PYTHON_DIR, capture_output=True, text=True, timeout=300,
        env=dict(env, LAMBDA_GRACEFUL_SHUTDOWN_TEST_INSTALLED="1",
                 PYTHONPATH=str(next((venv / "lib").glob("python3*/site-packages")))),
    )
    assert tests.returncode == 0, tests.stdout + tests.stderr
    assert "passed" in tests.stdout


def test_vendored_into_a_function_it_runs_a_shared_case(dists: Tuple[Path, Path], tmp_path: Path) -> None:
    # How functions ship it to Lambda: `pip install --target` into the code directory.
    _, wheel = dists
    code = tmp_path / "code"
    shutil.copytree(paths.PROBE, code, ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-index", "--no-deps",
                    "--disable-pip-version-check", "--target", str(code), str(wheel)], check=True, timeout=120)
    case = "the_verdict_names_each_handler_with_its_status"
    conformance.run(case, tmp_path / "run", polling=False, code_dir=code, pythonpath=()).assert_passed(case)
