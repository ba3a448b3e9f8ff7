"""The raw floors a cycle is compared with: what this machine does with no engine in the way.

* Writing: pre-built, pre-serialized user bodies POSTed to the emulator by a bare loop of
  ``concurrency`` threads sharing one httpx client (no LDAP, no planning, no state).
* Reading: ``ldapsearch -E pr=<page size>/noprompt`` of the same entries and attributes the
  engine reads, written to /dev/null.
* Listing Webex: the pages of ``GET /Users`` a drift check reads, fetched one after the other by
  a bare httpx client and parsed as JSON (no engine code).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.processes import BenchError, measure
from webex_provisioner.webex import scim


@dataclass(frozen=True)
class PostFloor:
    """``users`` creates in ``seconds`` with ``concurrency`` threads; ``failed`` were not 201.
    ``emulator_cpu_seconds``: the CPU the emulator used meanwhile (set by the caller)."""

    users: int
    concurrency: int
    seconds: float
    failed: int
    emulator_cpu_seconds: float = 0.0

    @property
    def per_second(self) -> float:
        return self.users / self.seconds if self.seconds else 0.0


def floor_bodies(users: int, domain: str = "floor.example.com") -> list[bytes]:
    """JSON bodies shaped like the engine's creates (same attributes), with their own e-mails."""
    bodies = []
    for i in range(users):
        attributes = {
            "email": f"floor{i:06d}@{domain}",
            "firstName": "Floor",
            "lastName": f"User{i}",
            "displayName": f"Floor User{i}",
            "title": "Engineer",
            "department": f"D{i % 50}",
            "employeeNumber": str(i),
            "workPhone": f"+1 555 {i:07d}",
            "externalId": f"floor-{i:012d}",
        }
        bodies.append(json.dumps(scim.to_resource(attributes, active=True)).encode())
    return bodies


def post_floor(scim_url: str, token: str, bodies: Sequence[bytes], concurrency: int) -> PostFloor:
    """POST every body to ``{scim_url}/Users`` from ``concurrency`` threads sharing one client."""
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    failed = 0
    lock = threading.Lock()
    errors: list[BaseException] = []
    with httpx.Client(base_url=scim_url, headers=headers, limits=limits, timeout=60.0) as client:

        def work(offset: int) -> None:
            nonlocal failed
            try:
                for n in range(offset, len(bodies), concurrency):
                    if client.post("/Users", content=bodies[n]).status_code != 201:
                        with lock:
                            failed += 1
            except BaseException as exc:
                errors.append(exc)

        workers = [threading.Thread(target=work, args=(i,)) for i in range(concurrency)]
        started = time.perf_counter()
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        seconds = time.perf_counter() - started
    if errors:
        raise BenchError(f"the POST floor loop failed: {errors[0]!r}")
    return PostFloor(len(bodies), concurrency, seconds, failed)


@dataclass(frozen=True)
class ReadFloor:
    """One ``ldapsearch`` of the scope's entries: seconds and the command (password not shown)."""

    seconds: float
    command: str


def ldapsearch_floor(
    uri: str,
    bind_dn: str,
    password_file: Path,
    base_dn: str,
    user_filter: str,
    attributes: Sequence[str],
    page_size: int,
    workdir: Path,
) -> ReadFloor:
    """Time ``ldapsearch`` of the entries and attributes the engine reads, to /dev/null."""
    argv = [
        "ldapsearch",
        "-x",
        "-LLL",
        "-H",
        uri,
        "-D",
        bind_dn,
        "-y",
        str(password_file),
        "-b",
        base_dn,
        "-s",
        "sub",
        "-E",
        f"pr={page_size}/noprompt",
        user_filter,
        *attributes,
    ]
    result = measure(argv, stdout=Path("/dev/null"), stderr=workdir / "ldapsearch.err")
    if result.exit_code != 0:
        raise BenchError(
            f"ldapsearch exited with {result.exit_code}: {(workdir / 'ldapsearch.err').read_text()[-500:]}"
        )
    return ReadFloor(result.seconds, " ".join(argv))


def listing_floor(scim_url: str, token: str, page: int) -> float:
    """Seconds to read every user of the emulator page by page (``count=page``) and parse each
    page as JSON: what reading Webex costs before any engine code runs."""
    started = time.perf_counter()
    with httpx.Client(headers={"Authorization": f"Bearer {token}"}, timeout=120.0) as client:
        start = 1
        while True:
            response = client.get(f"{scim_url}/Users", params={"startIndex": str(start), "count": str(page)})
            if response.status_code != 200:
                raise BenchError(f"listing users answered {response.status_code} at startIndex {start}")
            resources = response.json().get("Resources") or []
            if not resources:
                break
            start += len(resources)
    return round(time.perf_counter() - started, 3)
