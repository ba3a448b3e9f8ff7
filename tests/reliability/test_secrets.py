"""Secrets (bind password, Webex tokens, OAuth client secret and refresh tokens) never appear in
logs, error messages, --json output, repr or the audit trail; the state database holds only the
current rotated refresh token, and it and the audit log are readable by the owner only."""

from __future__ import annotations

import stat
from collections.abc import Mapping
from typing import Any

import pytest

from tests.conftest import WEBEX_TOKEN, World
from tests.reliability.conftest import CLIENT_SECRET, REFRESH_TOKEN, at_writes
from tests.reliability.helpers import stored_refresh_token
from webex_provisioner.engine.wiring import open_engine

pytestmark = pytest.mark.timeout(120)

WRONG_PASSWORD = "wrong-bind-password-0c4a"


def issued_tokens(world: World, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every access and refresh token the emulator's token endpoint hands out from now on."""
    authority = world.emulator.emulator.auth
    grant = authority.grant
    issued: list[str] = []

    def recording(form: Mapping[str, str]) -> dict[str, Any]:
        answer = grant(form)
        issued.extend((answer["access_token"], answer["refresh_token"]))
        return answer

    monkeypatch.setattr(authority, "grant", recording)
    return issued


def state_files(world: World) -> dict[str, bytes]:
    state = world.tmp_path / "state.db"
    return {p.name: p.read_bytes() for p in state.parent.glob(f"{state.name}*")}


def test_no_secret_in_any_output_log_audit_or_repr(
    oauth_world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Cycles with OAuth (a token renewal and a refresh-token rotation mid-cycle), JSON debug
    logs, every --json command, a refused bind and a revoked refresh token: no output, error,
    repr, audit line or state file carries a secret, except the current rotated refresh token,
    which the 0600 state database must keep."""
    world = oauth_world
    world.configure(logging={"level": "debug", "format": "json"})
    issued = issued_tokens(world, monkeypatch)
    at_writes(world.emulator, monkeypatch, {10}, world.emulator.expire_access_tokens)

    outputs = []
    for args in (
        ("check", "--json"),
        ("plan", "--json"),
        ("sync", "--json"),
        ("sync",),
        ("status", "--json"),
        ("users", "list", "--json"),
        ("users", "show", "eva.novak@example.com", "--json"),
        ("users", "explain", "eva.novak@example.com", "--json"),
    ):
        result = world.cli(*args)
        assert result.exit_code in (0, 3), (args, result.output)
        outputs.append(result.output)
    assert len(issued) >= 6  # three runs that read Webex, plus the renewal after the expiry
    with open_engine(world.config) as engine:
        outputs += [repr(world.config), repr(engine.webex), repr(engine.store), repr(engine.directory)]

    password = world.env["LDAP_PASSWORD"]
    world.env["LDAP_PASSWORD"] = WRONG_PASSWORD
    refused_bind = world.cli("sync")
    assert refused_bind.exit_code == 1 and "refused the bind" in refused_bind.output
    outputs.append(refused_bind.output)
    world.env["LDAP_PASSWORD"] = password
    for token in issued:
        world.emulator.revoke(token)
    world.slapd.modify(world.corp.person("enovak").dn, {"title": [b"Staff Engineer"]})
    revoked = world.cli("sync", "--json")
    assert revoked.exit_code == 1 and "re-authorize" in revoked.output
    outputs.append(revoked.output)

    current = stored_refresh_token(world)
    assert current is not None and current in issued
    secrets = {password, WRONG_PASSWORD, CLIENT_SECRET, REFRESH_TOKEN, *issued}
    audit = (world.tmp_path / "audit.log").read_text()
    for secret in secrets:
        for text in (*outputs, audit):
            assert secret not in text
    stored = state_files(world)
    for secret in secrets - {current} - set(issued[1::2]):  # rotated refresh tokens are dead
        for name, content in stored.items():
            assert secret.encode() not in content, name
    assert any(current.encode() in content for content in stored.values())
    for path in (world.tmp_path / "state.db", world.tmp_path / "audit.log"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


def test_static_token_never_appears_when_it_is_refused(world: World) -> None:
    """A revoked static token: the error says it was refused, and neither the token nor the
    bind password appears in the output (JSON debug logs), the audit log or the state."""
    world.configure(logging={"level": "debug", "format": "json"})
    assert world.cli("sync").exit_code == 3
    world.emulator.revoke(WEBEX_TOKEN)
    world.slapd.modify(world.corp.person("enovak").dn, {"title": [b"Staff Engineer"]})
    result = world.cli("sync", "--json")
    assert result.exit_code == 1 and "token was refused" in result.output
    texts = [result.output, (world.tmp_path / "audit.log").read_text()]
    for secret in (WEBEX_TOKEN, world.env["LDAP_PASSWORD"]):
        assert all(secret not in text for text in texts)
        assert all(secret.encode() not in content for content in state_files(world).values())
