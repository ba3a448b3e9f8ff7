"""Bearer authentication and the OAuth refresh grant of ``POST /v1/access_token``."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from webex_provisioner.emulator import EmulatorServer
from webex_provisioner.emulator.auth import TokenAuthority, TokenError

from .helpers import CISCO_ERROR, ERROR, ORG, TOKEN


def refresh(server: EmulatorServer, refresh_token: str, **fields: str) -> httpx.Response:
    form = {
        "grant_type": "refresh_token",
        "client_id": "client-1",
        "client_secret": "secret-1",
        "refresh_token": refresh_token,
        **fields,
    }
    return httpx.post(f"{server.url}/v1/access_token", data=form)


def get_users(server: EmulatorServer, authorization: str | None) -> httpx.Response:
    headers = {"Authorization": authorization} if authorization is not None else {}
    return httpx.get(f"{server.scim_url}/Users", headers=headers)


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer", "Bearer wrong-token", f"Basic {TOKEN}", f"bearer{TOKEN}"],
    ids=["missing", "empty", "no-token", "wrong-token", "basic", "no-space"],
)
def test_missing_or_wrong_token_is_401(server: EmulatorServer, authorization: str | None) -> None:
    """Without the right bearer token every SCIM request answers 401 in Webex's error shape."""
    response = get_users(server, authorization)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    body = response.json()
    tracking = response.headers["TrackingID"]
    assert body["message"] and body["errors"] == [{"description": body["message"]}]
    assert body["trackingId"] == tracking
    assert body["schemas"] == [ERROR] and body["status"] == "401"
    assert body[CISCO_ERROR]["trackingId"] == tracking


def test_bearer_scheme_ignores_case(server: EmulatorServer) -> None:
    """``bearer`` is accepted as well as ``Bearer``."""
    assert get_users(server, f"bearer {TOKEN}").status_code == 200


def test_static_token_works_until_revoked(server: EmulatorServer) -> None:
    """The static token is accepted until the test revokes it; reset() brings it back."""
    assert get_users(server, f"Bearer {TOKEN}").status_code == 200
    server.revoke(TOKEN)
    assert get_users(server, f"Bearer {TOKEN}").status_code == 401
    server.reset()
    assert get_users(server, f"Bearer {TOKEN}").status_code == 200


def test_refresh_grant_issues_a_working_access_token(server: EmulatorServer) -> None:
    """A refresh grant answers the documented fields, and the access token works on SCIM."""
    response = refresh(server, "refresh-1")
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert body["refresh_token_expires_in"] == 7_776_000
    assert body["refresh_token"] != "refresh-1"
    assert response.headers["TrackingID"]
    assert get_users(server, f"Bearer {body['access_token']}").status_code == 200


def test_refresh_tokens_rotate(server: EmulatorServer) -> None:
    """A used refresh token is invalid afterwards; the new one works (once)."""
    first = refresh(server, "refresh-1").json()
    reused = refresh(server, "refresh-1")
    assert reused.status_code == 400 and reused.json()["error"] == "invalid_grant"
    second = refresh(server, first["refresh_token"])
    assert second.status_code == 200
    assert refresh(server, first["refresh_token"]).status_code == 400


@pytest.mark.server
def test_rotation_can_be_switched_off() -> None:
    """With rotate_refresh_tokens=False the same refresh token is returned and stays valid."""
    with EmulatorServer(
        org_id=ORG, oauth_clients={"client-1": "secret-1"}, refresh_tokens=["r"], rotate_refresh_tokens=False
    ) as server:
        assert refresh(server, "r").json()["refresh_token"] == "r"
        assert refresh(server, "r").status_code == 200


def test_expired_access_tokens_are_401(server: EmulatorServer) -> None:
    """Once expired, an access token answers 401, while the static token keeps working."""
    access = refresh(server, "refresh-1").json()["access_token"]
    server.expire_access_tokens()
    assert get_users(server, f"Bearer {access}").status_code == 401
    assert get_users(server, f"Bearer {TOKEN}").status_code == 200


def test_token_lifetime_is_configurable() -> None:
    """``token_lifetime`` sets ``expires_in`` and when the access token stops working."""
    now = [1000.0]
    authority = TokenAuthority(
        None, oauth_clients={"c": "s"}, refresh_tokens=["r"], token_lifetime=60, clock=lambda: now[0]
    )
    answer = authority.grant(
        {"grant_type": "refresh_token", "client_id": "c", "client_secret": "s", "refresh_token": "r"}
    )
    assert answer["expires_in"] == 60
    now[0] += 59.9
    assert authority.accepts(answer["access_token"])
    now[0] += 0.2
    assert not authority.accepts(answer["access_token"])


@pytest.mark.parametrize(
    ("fields", "status", "error"),
    [
        ({"client_secret": "wrong"}, 401, "invalid_client"),
        ({"client_id": "nobody"}, 401, "invalid_client"),
        ({"grant_type": "authorization_code"}, 400, "unsupported_grant_type"),
        ({"refresh_token": ""}, 400, "invalid_request"),
        ({"refresh_token": "unknown"}, 400, "invalid_grant"),
    ],
)
def test_refused_token_requests(
    server: EmulatorServer, fields: dict[str, str], status: int, error: str
) -> None:
    """Wrong client credentials, grant types and refresh tokens are refused with OAuth error codes."""
    response = refresh(server, fields.pop("refresh_token", "refresh-1"), **fields)
    assert response.status_code == status
    body = response.json()
    assert body["error"] == error and body["message"] and body["trackingId"] == response.headers["TrackingID"]


def test_revoked_refresh_token(server: EmulatorServer) -> None:
    """A revoked refresh token cannot be used."""
    server.revoke("refresh-1")
    assert refresh(server, "refresh-1").status_code == 400


def test_token_errors_are_scim_errors() -> None:
    """A TokenError is a ScimError carrying the OAuth error code."""
    error = TokenError(400, "invalid_grant", "no")
    assert (error.status, error.error, error.detail) == (400, "invalid_grant", "no")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/identity/scim/{org}/v2/Groups"),
        ("GET", "/v1/licenses"),
        ("PATCH", "/v1/licenses/users"),
        ("GET", "/v1/people"),
        ("GET", "/v1/messages"),
        ("POST", "/v1/messages"),
    ],
)
def test_new_routes_need_a_token(server: EmulatorServer, method: str, path: str) -> None:
    """Groups, licences, people and messages answer 401 without a valid bearer token."""
    url = server.url + path.format(org=server.org_id)
    for headers in ({}, {"Authorization": "Bearer wrong"}):
        response = httpx.request(method, url, headers=headers, json={})
        assert response.status_code == 401
        assert response.json()["trackingId"] == response.headers["TrackingID"]
