"""Child processes of the benchmark: the Webex emulator, and commands measured for time and memory.

Every measured command runs in a process of its own and is reaped with ``os.wait4``, which
gives that one child's resource usage: its peak resident memory is ``ru_maxrss``, unmixed with
the emulator's, slapd's or ``slapadd``'s.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Self

import httpx

HOST = "127.0.0.1"
_ANNOUNCED = re.compile(r"at (http://\S+/identity/scim/\S+/v2)")


class BenchError(Exception):
    """The benchmark could not run (a child failed, a server did not start); says what to check."""


@dataclass(frozen=True)
class Measured:
    """A finished child: exit code, wall and CPU (user + system) seconds, peak resident memory in
    bytes, its output files."""

    exit_code: int
    seconds: float
    cpu_seconds: float
    peak_rss: int
    stdout: Path
    stderr: Path


# Runs one command and writes [exit code, wall seconds, CPU seconds, peak RSS in KiB] to a file.
# Linux counts in a child's peak RSS the memory of the process that forked it (ru_maxrss is kept
# across exec), so measured commands are started by this small process, not by the benchmark
# (which holds 100,000 pre-built request bodies); it adds its own ~10 MB at most.
_LAUNCHER = """
import json, os, sys, time
started = time.perf_counter()
pid = os.posix_spawnp(sys.argv[2], sys.argv[2:], os.environ)
_, status, usage = os.wait4(pid, 0)
seconds = time.perf_counter() - started
cpu = usage.ru_utime + usage.ru_stime
with open(sys.argv[1], "w") as out:
    json.dump([os.waitstatus_to_exitcode(status), seconds, cpu, usage.ru_maxrss], out)
"""


def measure(
    argv: Sequence[str], *, stdout: Path, stderr: Path, env: Mapping[str, str] | None = None
) -> Measured:
    """Run ``argv`` to completion with its output in files; its wall and CPU time and peak RSS."""
    usage_file = stderr.with_name(stderr.name + ".usage")
    with stdout.open("wb") as out, stderr.open("wb") as err:
        launcher = subprocess.run(
            [sys.executable, "-c", _LAUNCHER, str(usage_file), *argv],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            env=dict(env) if env else None,
            check=False,
        )
    try:
        exit_code, seconds, cpu, peak_kib = json.loads(usage_file.read_text())
    except (OSError, ValueError) as exc:
        raise BenchError(
            f"could not run {argv[0]} (launcher exit {launcher.returncode}); see {stderr}"
        ) from exc
    return Measured(int(exit_code), float(seconds), float(cpu), int(peak_kib) * 1024, stdout, stderr)


def cpu_seconds(pid: int) -> float:
    """CPU seconds (user + system) a running process has used so far (from /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    # after the command: state is field 3, utime 14 and stime 15 (1-based) of the whole line
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class EmulatorProcess:
    """``webex-provisioner emulator`` on a free loopback port, in its own process (so it never
    shares an interpreter lock with the benchmark's floor loop). Stopped by its PID."""

    def __init__(
        self,
        org_id: str,
        token: str,
        log_file: Path,
        *,
        start_timeout: float = 30.0,
        licenses: Mapping[str, int] | None = None,
    ) -> None:
        self.org_id = org_id
        self.token = token
        self.log_file = log_file
        self.licenses = dict(licenses or {})
        self.start_timeout = start_timeout
        self.scim_url = ""
        self._child: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``, the ``webex.url`` of the configuration."""
        return self.scim_url.split("/identity/", 1)[0]

    def start(self) -> Self:
        argv = [
            sys.executable,
            "-m",
            "webex_provisioner",
            "emulator",
            "--host",
            HOST,
            "--port",
            "0",
            "--org-id",
            self.org_id,
            "--token",
            self.token,
            *(arg for name, units in self.licenses.items() for arg in ("--license", f"{name}={units}")),
        ]
        with self.log_file.open("wb") as log:
            self._child = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self._child.poll() is not None:
                raise BenchError(
                    f"the emulator exited with status {self._child.returncode} while starting; "
                    f"see {self.log_file}"
                )
            found = _ANNOUNCED.search(self.log_file.read_text(errors="replace"))
            if found and self._answers(found.group(1)):
                self.scim_url = found.group(1)
                return self
            time.sleep(0.05)
        self.stop()
        raise BenchError(
            f"the emulator did not answer within {self.start_timeout:.0f} s; see {self.log_file}"
        )

    def _answers(self, scim_url: str) -> bool:
        try:
            response = httpx.get(
                f"{scim_url}/Users",
                params={"count": "1"},
                headers={"Authorization": f"Bearer {self.token}"},
                timeout=2.0,
            )
        except httpx.TransportError:
            return False
        return response.status_code == 200

    def cpu_seconds(self) -> float:
        """CPU seconds the emulator has used since it started."""
        return cpu_seconds(self._child.pid) if self._child is not None else 0.0

    def user_count(self) -> int:
        """How many users the emulated organization holds."""
        response = httpx.get(
            f"{self.scim_url}/Users",
            params={"count": "1"},
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=30.0,
        )
        response.raise_for_status()
        return int(response.json()["totalResults"])

    def stop(self) -> None:
        child, self._child = self._child, None
        if child is None or child.poll() is not None:
            return
        child.send_signal(signal.SIGTERM)
        try:
            child.wait(15)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
