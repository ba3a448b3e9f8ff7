"""``python -m bench [--users N] [--concurrency C]``: run the benchmark, print the table, write JSON.

Exit code 0 when the run completed (whether or not the targets are met), 1 when it could not run.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

from bench.harness import Bench
from bench.processes import BenchError
from bench.report import machine, table, write_json
from webex_provisioner.sandbox import SandboxError

RESULTS = Path(__file__).resolve().parent / "results"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users", type=int, default=10_000, help="directory users to load (default 10,000)")
    parser.add_argument("--concurrency", type=int, default=8, help="webex.concurrency and floor threads")
    parser.add_argument("--results", type=Path, default=RESULTS, help="where to write the JSON file")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (configs, logs, state)")
    args = parser.parse_args(argv)
    if args.users < CHANGED_MINIMUM:
        parser.error(f"--users must be at least {CHANGED_MINIMUM} (1 % of them change)")
    workdir = Path(tempfile.mkdtemp(prefix="webex-provisioner-bench-"))
    try:
        result = Bench(args.users, args.concurrency, workdir, say=_say).run()
    except (BenchError, SandboxError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        print(f"the work directory {workdir} is kept for a look", file=sys.stderr)
        return 1
    info = machine()
    print(table(result, info))
    path = write_json(result, info, args.results)
    print(f"\nresults written to {path}")
    if args.keep:
        print(f"work directory kept: {workdir}")
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


CHANGED_MINIMUM = 100


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
