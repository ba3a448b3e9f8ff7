"""Creates per second against the Webex emulator: 8 threads sharing one httpx sync Client, loopback.

    .venv/bin/python bench/emulator_bench.py [--users 5000] [--threads 8] [--in-process]

By default the emulator runs in its own process (as ``webex-provisioner emulator`` does), so the
client's CPU and the server's do not share one interpreter lock; ``--in-process`` runs it in a
thread of the benchmark instead. Prints the creates per second; exits 1 if any create failed.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from webex_provisioner.emulator import EmulatorServer

ORG = "0ae87ade-8c8a-4952-af08-318798958d0c"
TOKEN = "bench-token"
_CHILD = f"""
import re
from webex_provisioner.emulator import serve
def announce(line):
    print(re.findall(r"http://\\S+", line)[0], flush=True)
serve("127.0.0.1", 0, {ORG!r}, {TOKEN!r}, announce=announce)
"""


@contextmanager
def emulator(in_process: bool) -> Iterator[str]:
    """The SCIM base URL of a running emulator."""
    if in_process:
        with EmulatorServer(org_id=ORG, token=TOKEN) as server:
            yield server.scim_url
        return
    child = subprocess.Popen([sys.executable, "-c", _CHILD], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        url = child.stdout.readline().strip()
        for _ in range(200):  # the line is printed just before uvicorn listens
            try:
                httpx.get(url + "/Users", timeout=1.0)
                break
            except httpx.TransportError:
                time.sleep(0.01)
        yield url
    finally:
        child.terminate()
        child.wait(timeout=10)


def bench(url: str, users: int, threads: int) -> tuple[float, int]:
    """(creates per second, failures) for ``users`` creates spread over ``threads`` threads."""
    limits = httpx.Limits(max_connections=threads, max_keepalive_connections=threads)
    headers = {"Authorization": f"Bearer {TOKEN}"}
    failures = 0
    lock = threading.Lock()
    with httpx.Client(base_url=url, headers=headers, limits=limits, timeout=30.0) as client:

        def work(offset: int) -> None:
            nonlocal failures
            for n in range(offset, users, threads):
                body = {
                    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                    "userName": f"user{n}@example.com",
                    "displayName": f"User {n}",
                    "name": {"givenName": "User", "familyName": str(n)},
                }
                if client.post("/Users", json=body).status_code != 201:
                    with lock:
                        failures += 1

        workers = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
        started = time.perf_counter()
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        elapsed = time.perf_counter() - started
    return users / elapsed, failures


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users", type=int, default=5000)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument(
        "--in-process", action="store_true", help="run the emulator in a thread of this process"
    )
    args = parser.parse_args()
    with emulator(args.in_process) as url:
        rate, failures = bench(url, args.users, args.threads)
    where = "in-process" if args.in_process else "separate process"
    print(f"{rate:,.0f} creates/s ({args.users} users, {args.threads} threads, emulator in a {where})")
    if failures:
        print(f"{failures} creates failed", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
