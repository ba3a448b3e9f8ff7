"""/healthz and /metrics of ``run``: the health state, and a small HTTP server in a thread.

``/healthz`` answers 200 ``{"status": "ok", ...}`` when the last cycle succeeded (partial or
held counts: the cycle ran) and both the directory and Webex answered at the last contact, and
503 with the reasons otherwise (no cycle finished yet, the last one failed, a server is
unreachable, this instance waits for another one's lock). The reasons are terse: no error text,
URL, DN or host name reaches whoever can reach the port (``status`` and the logs have the
details). ``/metrics`` is the Prometheus text format. Nothing else is served; the server binds
where ``schedule.listen`` says, serves at most ``MAX_CONNECTIONS`` connections at a time (one
thread each) and closes a connection idle for ``REQUEST_TIMEOUT`` seconds.
"""

from __future__ import annotations

import json
import socket
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import structlog
from prometheus_client import CONTENT_TYPE_LATEST

from webex_provisioner.engine.report import CycleReport
from webex_provisioner.errors import ProvisionerError
from webex_provisioner.service.metrics import Metrics

log = structlog.get_logger("webex_provisioner.service.health")

COMPONENTS = ("directory", "webex")
REQUEST_TIMEOUT = 10.0
"""Seconds a connection may stay idle (or a request take to arrive) before it is closed."""
MAX_CONNECTIONS = 16
"""Connections served at once; more are closed at once (a probe or a scraper needs one)."""


class Health:
    """What the daemon knows about itself; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last: dict[str, Any] | None = None
        self._last_failed = False
        self._last_success: datetime | None = None
        self._problems: dict[str, str] = {}
        self._standby: str | None = None
        self.change_detection = "unknown"

    def cycle_finished(self, report: CycleReport) -> None:
        with self._lock:
            self._standby = None
            self._last = {
                "id": report.cycle_id,
                "kind": report.kind.value,
                "outcome": report.outcome,
                "finished_at": report.finished_at.isoformat() if report.finished_at else None,
            }
            self._last_failed = report.error is not None
            if report.error is None and report.finished_at is not None:
                self._last_success = report.finished_at

    def reachable(self, component: str, problem: str | None) -> None:
        """Record whether ``component`` (directory or webex) answered; ``problem`` says why not."""
        with self._lock:
            if problem is None:
                self._problems.pop(component, None)
            else:
                self._problems[component] = problem

    def active(self) -> None:
        with self._lock:
            self._standby = None

    def standby(self, holder: str | None) -> None:
        with self._lock:
            self._standby = holder or "another instance"

    def answer(self) -> tuple[int, dict[str, Any]]:
        """(HTTP status, JSON body) of /healthz."""
        with self._lock:
            reasons = []
            if self._standby is not None:
                reasons.append("standing by: another instance holds the cycle lock of this state store")
            if self._last is None:
                reasons.append("no cycle has finished yet")
            elif self._last_failed:
                reasons.append(f"the last cycle ({self._last['kind']}) failed")
            reasons += [f"{name} unreachable" for name in sorted(self._problems)]
            body: dict[str, Any] = {
                "status": "standby" if self._standby is not None else ("unhealthy" if reasons else "ok"),
                "role": "standby" if self._standby is not None else "active",
                "reasons": reasons,
                "last_cycle": self._last,
                "last_success_at": self._last_success.isoformat() if self._last_success else None,
                "change_detection": self.change_detection,
                "checked_at": datetime.now(UTC).isoformat(),
            }
            body.update(
                {name: "unreachable" if name in self._problems else "reachable" for name in COMPONENTS}
            )
        return (503 if reasons else 200), body


class StatusServer:
    """Serves /healthz and /metrics on ``host``:``port`` in a background thread."""

    def __init__(
        self,
        host: str,
        port: int,
        health: Health,
        metrics: Metrics,
        *,
        request_timeout: float = REQUEST_TIMEOUT,
        max_connections: int = MAX_CONNECTIONS,
    ) -> None:
        handler = _handler(health, metrics, request_timeout)
        server_class = _IPv6Server if ":" in host else _BoundedServer
        try:
            self._server = server_class((host, port), handler, max_connections)
        except OSError as exc:
            raise ProvisionerError(
                f"schedule.listen {host}:{port} cannot be served ({exc.strerror}); choose a free port "
                "or set schedule.listen: null"
            ) from exc
        self._server.daemon_threads = True
        self.host = host
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(target=self._server.serve_forever, name="status-server", daemon=True)

    def start(self) -> None:
        self._thread.start()
        log.info("daemon.listening", url=f"http://{self.host}:{self.port}/healthz")

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


class _BoundedServer(ThreadingHTTPServer):
    """A thread per connection, at most ``max_connections`` at once: a connection beyond them is
    closed at once, so idle or slow clients cannot pile up threads."""

    def __init__(
        self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler], max_connections: int
    ) -> None:
        super().__init__(address, handler)
        self._slots = threading.BoundedSemaphore(max_connections)

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self._slots.acquire(blocking=False):
            log.debug("daemon.http_refused", client=str(client_address), detail="too many connections")
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()


class _IPv6Server(_BoundedServer):
    address_family = socket.AF_INET6


def _handler(health: Health, metrics: Metrics, request_timeout: float) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "webex-provisioner"
        timeout = request_timeout  # an idle connection is closed after this long

        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path == "/healthz":
                status, body = health.answer()
                self._send(status, "application/json", json.dumps(body).encode())
            elif path == "/metrics":
                self._send(200, CONTENT_TYPE_LATEST, metrics.render())
            else:
                self._send(404, "text/plain; charset=utf-8", b"not found; try /healthz or /metrics\n")

        def _send(self, status: int, content_type: str, data: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            log.debug("daemon.http", request=format % args)

    return Handler
