"""Fault injection: the switches (pure) and what a client sees over HTTP."""

from __future__ import annotations

import time

import httpx
import pytest

from webex_provisioner.emulator import EmulatorServer, Faults
from webex_provisioner.emulator.faults import LostResponse, Refusal

from .helpers import CISCO_ERROR, TOKEN, user_body


class TestSwitches:
    """``Faults.decide`` with a fixed clock."""

    def test_all_off_by_default(self) -> None:
        """A fresh Faults object lets every request through untouched."""
        faults = Faults()
        assert all(faults.decide(is_write=True, now=0.0) == faults.decide(False, now=0.0) for _ in range(50))
        decision = faults.decide(True, now=0.0)
        assert (decision.delay, decision.refusal, decision.lost) == (0.0, None, None)

    def test_rate_limit_sliding_window(self) -> None:
        """More than N requests within one second answer 429 until the window frees a slot."""
        faults = Faults()
        faults.rate_limit = 2
        assert faults.decide(False, now=10.0).refusal is None
        assert faults.decide(False, now=10.4).refusal is None
        throttled = faults.decide(False, now=10.5).refusal
        assert throttled is not None and throttled.status == 429 and throttled.retry_after == 1
        assert faults.decide(False, now=11.01).refusal is None  # the 10.0 request left the window
        assert faults.decide(False, now=11.2).refusal is not None

    def test_rate_limit_retry_after_is_configurable(self) -> None:
        """``rate_limit_retry_after`` sets the Retry-After of rate-limit refusals."""
        faults = Faults()
        faults.rate_limit = 1
        faults.rate_limit_retry_after = 30
        faults.decide(False, now=0.0)
        refusal = faults.decide(False, now=0.1).refusal
        assert refusal is not None and refusal.retry_after == 30

    def test_queued_faults_run_in_order(self) -> None:
        """fail_next and throttle_next are used up in the order they were queued, one per request."""
        faults = Faults()
        faults.fail_next(2, status=502)
        faults.throttle_next(1, retry_after=7)
        assert faults.pending == 3
        refusals = [faults.decide(False).refusal for _ in range(4)]
        assert refusals[:3] == [
            Refusal(502, "injected failure (502)"),
            Refusal(502, "injected failure (502)"),
            Refusal(429, "too many requests (injected)", 7),
        ]
        assert refusals[3] is None and faults.pending == 0

    def test_lost_responses_apply_to_writes_only(self) -> None:
        """lose_response_next waits for a write; reads pass through."""
        faults = Faults()
        faults.lose_response_next(1, status=0, delay=0.5)
        assert faults.decide(is_write=False).lost is None
        assert faults.decide(is_write=True).lost == LostResponse(0, 0.5)
        assert faults.decide(is_write=True).lost is None

    def test_fail_rate_is_seedable(self) -> None:
        """fail_rate refuses about that fraction of requests; a seed makes the draw repeatable."""
        faults = Faults()
        faults.fail_rate = 0.3
        faults.seed(7)
        first = [faults.decide(False).refusal is not None for _ in range(1000)]
        faults.seed(7)
        assert [faults.decide(False).refusal is not None for _ in range(1000)] == first
        assert 200 < sum(first) < 400

    def test_latency(self) -> None:
        """latency_ms becomes the delay of every decision, refused or not."""
        faults = Faults()
        faults.latency_ms = 250
        faults.fail_next(1)
        assert faults.decide(False).delay == 0.25 and faults.decide(False).delay == 0.25

    @pytest.mark.parametrize(
        ("name", "value"), [("rate_limit", 0), ("fail_rate", 1.5), ("fail_rate", -0.1), ("latency_ms", -1)]
    )
    def test_invalid_settings(self, name: str, value: float) -> None:
        """Out-of-range settings are refused with ValueError."""
        with pytest.raises(ValueError, match=name):
            setattr(Faults(), name, value)

    def test_reset(self) -> None:
        """reset() turns everything off and forgets queued faults."""
        faults = Faults()
        faults.rate_limit, faults.fail_rate, faults.latency_ms = 1, 1.0, 10
        faults.fail_next(3)
        faults.lose_response_next(3)
        faults.reset()
        assert faults.rate_limit is None
        assert (faults.fail_rate, faults.latency_ms, faults.pending) == (0.0, 0, 0)


class TestOverHttp:
    """What a client sees."""

    def test_rate_limit_answers_429_with_retry_after(
        self, server: EmulatorServer, scim: httpx.Client
    ) -> None:
        """Past the rate limit, requests answer 429 with a Retry-After in seconds and an error body."""
        server.faults.rate_limit = 3
        statuses = [scim.get("/Users") for _ in range(5)]
        assert [r.status_code for r in statuses] == [200, 200, 200, 429, 429]
        throttled = statuses[3]
        assert int(throttled.headers["Retry-After"]) >= 1
        assert throttled.json()["status"] == "429"
        assert throttled.json()[CISCO_ERROR]["trackingId"] == throttled.headers["TrackingID"]

    def test_throttle_next(self, server: EmulatorServer, scim: httpx.Client) -> None:
        """throttle_next(n, retry_after) answers exactly the next n requests with 429 and that Retry-After."""
        server.faults.throttle_next(2, retry_after=7)
        responses = [scim.get("/Users") for _ in range(3)]
        assert [r.status_code for r in responses] == [429, 429, 200]
        assert responses[0].headers["Retry-After"] == "7"

    def test_fail_next_does_not_apply_the_request(self, server: EmulatorServer, scim: httpx.Client) -> None:
        """A request failed by fail_next is not served: the user is not created."""
        server.faults.fail_next(1, status=503)
        response = scim.post("/Users", json=user_body())
        assert response.status_code == 503 and response.json()["status"] == "503"
        assert server.users() == []
        assert scim.post("/Users", json=user_body()).status_code == 201

    def test_fail_next_with_retry_after(self, server: EmulatorServer, scim: httpx.Client) -> None:
        """fail_next can send a Retry-After too (e.g. 503 or 423)."""
        server.faults.fail_next(1, status=423, retry_after=3)
        response = scim.get("/Users")
        assert (response.status_code, response.headers["Retry-After"]) == (423, "3")

    def test_fail_rate_one_fails_everything(self, server: EmulatorServer, scim: httpx.Client) -> None:
        """fail_rate 1.0 answers every request with 503."""
        server.faults.fail_rate = 1.0
        assert {scim.get("/Users").status_code for _ in range(5)} == {503}

    def test_latency(self, server: EmulatorServer, scim: httpx.Client) -> None:
        """latency_ms delays every answer by that much."""
        server.faults.latency_ms = 150
        started = time.perf_counter()
        assert scim.get("/Users").status_code == 200
        assert time.perf_counter() - started >= 0.15

    def test_lost_response_504(self, server: EmulatorServer, scim: httpx.Client) -> None:
        """lose_response_next: the write is applied but the client gets a 504."""
        server.faults.lose_response_next(1, status=504)
        response = scim.post("/Users", json=user_body())
        assert response.status_code == 504 and response.json()["status"] == "504"
        assert [u["userName"] for u in server.users()] == ["alice@example.com"]
        assert scim.post("/Users", json=user_body()).status_code == 409

    def test_lost_response_dropped_connection(self, server: EmulatorServer, scim: httpx.Client) -> None:
        """With status 0 the connection breaks mid-answer; the write was applied anyway."""
        server.faults.lose_response_next(1, status=0)
        with pytest.raises(httpx.RemoteProtocolError):
            scim.post("/Users", json=user_body())
        assert len(server.users()) == 1
        assert scim.get("/Users").status_code == 200  # the client recovers on a new connection
        assert [status for _, _, status in server.request_log] == [0, 200]  # 0: no answer

    def test_lost_response_timeout(self, server: EmulatorServer, scim: httpx.Client) -> None:
        """With a delay longer than the client's timeout the client times out; the write was applied."""
        server.faults.lose_response_next(1, status=504, delay=1.0)
        with pytest.raises(httpx.ReadTimeout):
            scim.post("/Users", json=user_body(), timeout=0.2)
        assert len(server.users()) == 1

    def test_lost_response_waits_for_a_write(self, server: EmulatorServer, scim: httpx.Client) -> None:
        """Reads before the write are answered normally."""
        server.faults.lose_response_next(1)
        assert scim.get("/Users").status_code == 200
        created = scim.post("/Users", json=user_body())
        assert created.status_code == 504
        user_id = server.users()[0]["id"]
        assert scim.delete(f"/Users/{user_id}").status_code == 204

    def test_faults_skip_unauthenticated_requests(self, server: EmulatorServer) -> None:
        """A request with a bad token is refused with 401 and does not use up a queued fault."""
        server.faults.fail_next(1)
        assert httpx.get(f"{server.scim_url}/Users").status_code == 401
        assert server.faults.pending == 1

    def test_token_endpoint_is_not_faulted(self, server: EmulatorServer) -> None:
        """Faults apply to the SCIM API only, not to /v1/access_token."""
        server.faults.fail_rate = 1.0
        form = {
            "grant_type": "refresh_token",
            "client_id": "client-1",
            "client_secret": "secret-1",
            "refresh_token": "refresh-1",
        }
        assert httpx.post(f"{server.url}/v1/access_token", data=form).status_code == 200

    def test_request_log_records_fault_answers(self, server: EmulatorServer, scim: httpx.Client) -> None:
        """The request log shows the status each client actually got."""
        server.faults.throttle_next(1)
        scim.get("/Users")
        scim.get("/Users")
        assert [entry[2] for entry in server.request_log] == [429, 200]

    @pytest.mark.parametrize(
        ("method", "path"),
        [
            ("GET", "/identity/scim/{org}/v2/Groups"),
            ("GET", "/v1/licenses"),
            ("GET", "/v1/people"),
            ("POST", "/v1/messages"),
            ("PATCH", "/v1/licenses/users"),
        ],
    )
    def test_new_routes_take_faults_and_are_logged(
        self, server: EmulatorServer, method: str, path: str
    ) -> None:
        """Groups, licences, people and messages take injected 429/5xx (in their own error shape) and
        latency like the Users routes, and appear in the request log."""
        url = server.url + path.format(org=server.org_id)
        headers = {"Authorization": f"Bearer {TOKEN}"}
        server.faults.throttle_next(1, retry_after=3)
        server.faults.fail_next(1, status=502)
        throttled = httpx.request(method, url, headers=headers, json={})
        assert throttled.status_code == 429 and throttled.headers["Retry-After"] == "3"
        failed = httpx.request(method, url, headers=headers, json={})
        assert failed.status_code == 502
        body = failed.json()
        if path.startswith("/v1/"):
            assert body["trackingId"] == failed.headers["TrackingID"] and body["errors"][0]["description"]
        else:
            assert body[CISCO_ERROR]["trackingId"] == failed.headers["TrackingID"]
        server.faults.latency_ms = 150
        started = time.monotonic()
        httpx.request(method, url, headers=headers, json={})
        assert time.monotonic() - started >= 0.15
        assert [(m, p, s) for m, p, s in server.request_log][:2] == [
            (method, path.format(org=server.org_id), 429),
            (method, path.format(org=server.org_id), 502),
        ]

    def test_lost_response_on_a_licence_assignment(self, server: EmulatorServer, v1: httpx.Client) -> None:
        """A lost answer to PATCH /v1/licenses/users still applies the assignment."""
        user = server.add_user({"userName": "ann@example.com"})
        licence = server.licenses()[0]["id"]
        server.faults.lose_response_next(1, status=504)
        response = v1.patch(
            "/licenses/users", json={"email": "ann@example.com", "licenses": [{"id": licence}]}
        )
        assert response.status_code == 504
        assert server.user_licenses(user["id"]) == [licence]

    def test_faults_do_not_leak_between_tests(self, server: EmulatorServer) -> None:
        """The fixture's reset() leaves no fault switched on."""
        assert (server.faults.rate_limit, server.faults.fail_rate, server.faults.pending) == (None, 0.0, 0)


@pytest.mark.server
def test_rate_limit_recovers_after_retry_after() -> None:
    """After waiting Retry-After seconds a throttled client gets through again."""
    with EmulatorServer(org_id="o", token=TOKEN) as server:
        server.faults.rate_limit = 1
        client = httpx.Client(base_url=server.scim_url, headers={"Authorization": f"Bearer {TOKEN}"})
        assert client.get("/Users").status_code == 200
        throttled = client.get("/Users")
        assert throttled.status_code == 429
        time.sleep(float(throttled.headers["Retry-After"]))
        assert client.get("/Users").status_code == 200
