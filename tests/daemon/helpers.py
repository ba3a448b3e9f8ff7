"""``webex-provisioner run`` as a real subprocess, and what the tests ask it (/healthz, /metrics)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import ORG_ID, WEBEX_TOKEN
from webex_provisioner.emulator import EmulatorServer
from webex_provisioner.sandbox import Company, ThrowawaySlapd

WAIT = 30.0  # seconds a condition may take before the test fails (a liveness bound, not a measure)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def daemon_config(
    folder: Path, slapd: ThrowawaySlapd, emulator: EmulatorServer, corp: Company, **overrides: Any
) -> dict[str, Any]:
    """The configuration of the tests' daemon: Example Corp's targeted group, the emulator."""
    raw: dict[str, Any] = {
        "directory": {
            "url": slapd.uri,
            "bind_dn": slapd.root_dn,
            "bind_password": "${LDAP_PASSWORD}",
            "base_dn": f"ou=people,{slapd.suffix}",
            "scope": {"groups": [corp.targeted_group], "nested_groups": True},
            "disabled_filter": "(pwdAccountLockedTime=*)",
        },
        "webex": {
            "org_id": ORG_ID,
            "url": emulator.url,
            "token": "${WEBEX_TOKEN}",
            "max_retries": 1,
            "max_retry_wait": 1,
            "timeout": 5,
        },
        "mapping": {"email": "mail", "firstName": "givenName", "lastName": "sn", "title": "title"},
        "logging": {"audit_log": str(folder / "audit.log"), "level": "info"},
        "state": f"sqlite:///{folder / 'state.db'}",
        "schedule": {"interval": "30s", "batch_delay": "0.1s", "listen": f"127.0.0.1:{free_port()}"},
    }
    for section, values in overrides.items():
        raw[section] = {**raw.get(section, {}), **values}
    return raw


class DaemonProcess:
    """``python -m webex_provisioner --config FILE run`` with its log in ``folder``."""

    def __init__(self, folder: Path, raw: dict[str, Any], slapd: ThrowawaySlapd, name: str = "run") -> None:
        self.folder = folder
        self.raw = raw
        self.config_file = folder / f"{name}.yaml"
        self.config_file.write_text(yaml.safe_dump(raw))
        self.log_file = folder / f"{name}.log"
        self.env = {**os.environ, "LDAP_PASSWORD": slapd.root_pw, "WEBEX_TOKEN": WEBEX_TOKEN}
        listen = raw["schedule"]["listen"]
        self.base_url = f"http://{listen}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> DaemonProcess:
        with self.log_file.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "webex_provisioner", "--config", str(self.config_file), "run"],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self.env,
            )
        return self

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Another command against the same configuration, e.g. ``sync``."""
        return subprocess.run(
            [sys.executable, "-m", "webex_provisioner", "--config", str(self.config_file), *args],
            capture_output=True,
            text=True,
            env=self.env,
            timeout=60,
            check=False,
        )

    def signal(self, signum: int = signal.SIGTERM) -> None:
        assert self.process is not None
        self.process.send_signal(signum)

    def wait(self, timeout: float = WAIT) -> int:
        assert self.process is not None
        return self.process.wait(timeout)

    def close(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def log(self) -> str:
        return self.log_file.read_text(errors="replace")[-4000:]

    # -- what it serves -----------------------------------------------------------------------

    def get(self, path: str) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(self.base_url + path, timeout=5) as answer:  # noqa: S310 - loopback
                return answer.status, answer.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()
        except OSError as exc:
            return 0, repr(exc)

    def health(self) -> tuple[int, dict[str, Any]]:
        status, body = self.get("/healthz")
        return status, (json.loads(body) if status in (200, 503) else {"error": body})

    def metric(self, name: str, **labels: str) -> float:
        """The value of one sample of /metrics (0 when absent)."""
        status, body = self.get("/metrics")
        assert status == 200, body
        for family in text_string_to_metric_families(body):
            for sample in family.samples:
                if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                    return float(sample.value)
        return 0.0

    def full_cycles(self) -> float:
        return sum(
            self.metric("webex_provisioner_cycles_total", kind="full", outcome=outcome)
            for outcome in ("succeeded", "partial", "held", "failed", "interrupted")
        )

    def wait_until(self, condition: Callable[[], bool], what: str, timeout: float = WAIT) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():
                return
            if self.process is not None and self.process.poll() is not None:
                raise AssertionError(
                    f"run exited ({self.process.returncode}) waiting for {what}:\n{self.log()}"
                )
            time.sleep(0.05)
        raise AssertionError(f"timed out waiting for {what}; log of run:\n{self.log()}")

    def wait_healthy(self) -> dict[str, Any]:
        self.wait_until(lambda: self.health()[0] == 200, "/healthz to answer 200")
        return self.health()[1]


def webex_user(emulator: EmulatorServer, email: str) -> dict[str, Any] | None:
    return next((u for u in emulator.users() if u["userName"].lower() == email.lower()), None)
