"""Creates per second against the Webex emulator: 8 threads sharing one httpx sync Client, loopback.

    .venv/bin/python bench/emulator_bench.py [--users 5000] [--threads 8] [--in-process] [--baseline]

By default the emulator runs in its own process (as ``webex-provisioner emulator`` does), so the
client's CPU and the server's do not share one interpreter lock; ``--in-process`` runs it in a
thread of the benchmark instead. ``--baseline`` first measures a trivial Starlette app (echoes
the body with 201) on the same uvicorn settings: the ceiling of this client on this machine at
this moment, to compare with (shared machines vary by 10-15 % from run to run).
Prints the creates per second; exits 1 if any create failed.
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
_TRIVIAL = """
import json, socket, uvicorn
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

async def users(request):
    if request.method == "GET":
        return JSONResponse({})
    return JSONResponse(json.loads(await request.body()), 201)

app = Starlette(routes=[Route("/v2/Users", users, methods=["GET", "POST"])])
sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
sock.bind(("127.0.0.1", 0))
print(f"http://127.0.0.1:{sock.getsockname()[1]}/v2", flush=True)
config = uvicorn.Config(app, http="h11", lifespan="off", log_level="warning", access_log=False)
uvicorn.Server(config).run(sockets=[sock])
"""
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
    with child_server(_CHILD) as url:
        yield url


@contextmanager
def child_server(code: str) -> Iterator[str]:
    """Run ``code`` (which prints its base URL first) in a child process; yield the URL."""
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
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
    parser.add_argument("--baseline", action="store_true", help="measure a trivial Starlette app first")
    args = parser.parse_args()
    if args.baseline:
        with child_server(_TRIVIAL) as url:
            rate, _ = bench(url, args.users, args.threads)
        print(f"{rate:,.0f} creates/s (baseline: trivial Starlette app, same client and uvicorn settings)")
    with emulator(args.in_process) as url:
        rate, failures = bench(url, args.users, args.threads)
    where = "a thread of the benchmark" if args.in_process else "its own process"
    print(f"{rate:,.0f} creates/s ({args.users} users, {args.threads} threads, emulator in {where})")
    if failures:
        print(f"{failures} creates failed", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
