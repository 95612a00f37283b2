"""The benchmark harness runs end to end: ``python -m bench --quick --only read``.

It starts the real server, a ceiling app and wrk, so it needs Debian's wrk.
(``--only fanout`` takes about 45 s even when quick, so it is not run here.)
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
WRK = Path("/usr/bin/wrk")


@pytest.mark.skipif(not WRK.exists(), reason="the benchmark needs wrk at /usr/bin/wrk")
@pytest.mark.timeout(180)
def test_quick_read_writes_its_results(tmp_path: Path) -> None:
    output = tmp_path / "results.json"
    command = [sys.executable, "-m", "bench", "--quick", "--only", "read"]
    done = subprocess.run(
        [*command, "--output", str(output)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=150,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "customData SESSION" in done.stdout  # the table was printed
    results = json.loads(output.read_text())

    environment = results["environment"]
    assert {"date", "python", "nproc", "cpu_model", "packages"} <= set(environment)
    assert {
        "strawberry-graphql",
        "starlette",
        "uvicorn",
        "tortoise-orm",
        "aiosqlite",
        "uvloop",
        "httptools",
    } <= set(environment["packages"])
    assert results["settings"]["quick"] is True

    read = results["scenarios"]["read"]
    (row,) = read["rows"]
    assert {"value", "ceiling", "ratio", "goal", "met"} <= set(row)
    assert row["value"] > 0
    assert row["ceiling"] > 0
    assert row["ratio"] == pytest.approx(row["value"] / row["ceiling"])
    assert read["details"]["server"]["errors"] == 0
    assert read["details"]["server"]["latency_ms"]["p99"] > 0
