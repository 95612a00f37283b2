"""The benchmark harness: ``python -m bench``.

    python -m bench                    # every scenario, full length (minutes)
    python -m bench --quick            # a smoke run: a few seconds a measurement
    python -m bench --only fanout      # one scenario (repeat --only for more)
    python -m bench --output PATH      # default bench/results/latest.json
    python -m bench --ws-compression none   # WebSocket clients without deflate

Each scenario starts a real ``datastore serve`` and the bare ceiling apps
(bench/ceilings.py) on 127.0.0.1, drives them with wrk (HTTP) and with
bench/ws_clients.py (WebSockets), and stops every process it started when it
ends, fails or is interrupted. The run prints one table at the end and writes
every figure, with the versions and the machine, to the output file (also
after each scenario, so that a long run leaves its figures behind).

Figures are ratios to ceilings measured in the same run: the table's "met?"
column judges the ratios, never an absolute number. The exit status is 0 when
every scenario ran (whether or not its goals were met), 1 when one failed,
and 2 when wrk is missing.
"""

from __future__ import annotations

import argparse
import dataclasses
import signal
import sys
import time
import traceback
from pathlib import Path
from types import FrameType

from bench import wrk
from bench.processes import raise_open_file_limit, uvicorn_options
from bench.report import (
    Row,
    ScenarioResult,
    environment,
    source,
    table,
    write_json,
)
from bench.scenarios import SCENARIOS, Plan

DEFAULT_OUTPUT = Path(__file__).resolve().parent / "results" / "latest.json"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--quick", action="store_true", help="a smoke run of a few seconds each"
    )
    parser.add_argument(
        "--only",
        action="append",
        choices=list(SCENARIOS),
        metavar="NAME",
        help=f"run only this scenario (one of: {', '.join(SCENARIOS)})",
    )
    parser.add_argument(
        "--output", type=Path, default=DEFAULT_OUTPUT, help="the JSON results file"
    )
    parser.add_argument(
        "--ws-compression",
        choices=["deflate", "none"],
        default="deflate",
        help="offer permessage-deflate from the WebSocket clients, as browsers "
        "do (default), or not",
    )
    return parser


def _interrupt(signum: int, frame: FrameType | None) -> None:
    """Turn SIGTERM into KeyboardInterrupt, so that every ``finally`` runs."""
    raise KeyboardInterrupt


def run(names: list[str], plan: Plan, output: Path) -> int:
    """Run the scenarios in order; write and print the results; return the status."""
    env = environment()
    env["open_files_limit"] = list(raise_open_file_limit())
    env["ceiling_uvicorn_options"] = list(uvicorn_options())
    results: list[ScenarioResult] = []
    status = 0
    for name in names:
        print(f"[bench] {name} …", file=sys.stderr, flush=True)
        started, code = time.monotonic(), source()
        try:
            result = SCENARIOS[name](plan)
        except Exception as exc:
            traceback.print_exc()
            status = 1
            row = Row(name, f"failed: {type(exc).__name__}", None, None, "", met=False)
            result = ScenarioResult(name, [row], {"error": traceback.format_exc()})
        result.seconds, result.source = time.monotonic() - started, code
        print(f"[bench] {name}: {result.seconds:.0f} s", file=sys.stderr, flush=True)
        results.append(result)
        write_json(output, results, plan.as_dict(), env)
    print(table(results))
    print(f"\nWrote {output}")
    return status


def main(argv: list[str] | None = None) -> int:
    """Parse the arguments and run."""
    args = _parser().parse_args(argv)
    if not wrk.available():
        print(
            f"bench: wrk is missing ({wrk.WRK}); install Debian's wrk", file=sys.stderr
        )
        return 2
    signal.signal(signal.SIGTERM, _interrupt)
    # Also when started in the background, where SIGINT may come ignored.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    plan = Plan.quick_run() if args.quick else Plan()
    plan = dataclasses.replace(plan, compression=args.ws_compression)
    names = [n for n in SCENARIOS if args.only is None or n in args.only]
    try:
        return run(names, plan, args.output)
    except KeyboardInterrupt:
        print("bench: interrupted; every process it started has been stopped.")
        return 130


if __name__ == "__main__":
    sys.exit(main())
