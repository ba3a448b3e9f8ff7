"""Fixtures of the Active Directory tests: one Samba AD DC per test session (provisioning takes
seconds), a fresh OU per test holding that test's users and groups, and an ``AdWorld`` that wires
the OU, the Webex emulator and a state file to a ``directory.type: activedirectory`` config.

The tests skip (with the reason) only when Samba's AD DC cannot run on this machine at all: not
installed, or not root. Installed but failing to start is an error, not a skip.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ldap
import pytest

from tests.conftest import ORG_ID, WEBEX_TOKEN, World
from webex_provisioner.config import DirectoryConfig
from webex_provisioner.emulator import EmulatorServer
from webex_provisioner.sandbox.samba import ThrowawaySambaDC, samba_missing


@pytest.fixture(scope="session")
def samba_dc() -> Iterator[ThrowawaySambaDC]:
    """A throwaway domain EXAMPLE.TEST on 127.0.0.1:389 for the whole session."""
    missing = samba_missing()
    if missing:
        pytest.skip(f"no Samba AD DC here: {missing} (scripts/system-deps.sh installs it)")
    with ThrowawaySambaDC() as dc:
        yield dc


@dataclass
class Tree:
    """One test's OU: ``people`` (the base DN), ``others`` (outside it) and ``groups``."""

    dc: ThrowawaySambaDC
    root: str
    people: str
    others: str
    groups: str

    def user(self, name: str, *, parent: str | None = None, **kwargs: Any) -> str:
        kwargs.setdefault("mail", f"{name}@{self.dc.realm.lower()}")
        return self.dc.add_user(parent or self.people, name, **kwargs)


def nested_with_a_cycle(tree: Tree, name: str) -> str:
    """Users ann, ben, cid and out; the group ``name`` holds ann and inner, inner holds ben and
    deeper, deeper holds cid and ``name`` back (a cycle). Returns the DN of ``name``."""
    ann, ben, cid = tree.user("ann"), tree.user("ben"), tree.user("cid")
    tree.user("out")
    inner = tree.dc.add_group(tree.groups, "inner", [ben])
    deeper = tree.dc.add_group(tree.groups, "deeper", [cid])
    top = tree.dc.add_group(tree.groups, name, [ann, inner])
    tree.dc.modify(inner, [(ldap.MOD_ADD, "member", deeper)])
    tree.dc.modify(deeper, [(ldap.MOD_ADD, "member", top)])
    return top


@pytest.fixture
def tree(samba_dc: ThrowawaySambaDC) -> Iterator[Tree]:
    """A fresh OU for this test (removed afterwards); names are unique across the session."""
    name = f"t{uuid.uuid4().hex[:10]}"
    root = samba_dc.add_ou(name)
    made = Tree(
        samba_dc,
        root,
        samba_dc.add_ou("people", root),
        samba_dc.add_ou("others", root),
        samba_dc.add_ou("groups", root),
    )
    try:
        yield made
    finally:
        samba_dc.delete_tree(root)


def ad_directory(tree: Tree, **overrides: Any) -> DirectoryConfig:
    """``directory:`` for the tree's people OU, bound as Administrator, everything else preset."""
    raw: dict[str, Any] = {
        "type": "activedirectory",
        "url": tree.dc.uri,
        "bind_dn": tree.dc.admin_dn,
        "bind_password": tree.dc.admin_password,
        "base_dn": tree.people,
        "timeout": 10,
    }
    raw.update(overrides)
    return DirectoryConfig.model_validate(raw)


class AdWorld(World):
    """``World`` (tests/conftest.py) with Active Directory instead of slapd: the preset's mapping."""

    def __init__(self, tree: Tree, emulator: EmulatorServer, tmp_path: Path) -> None:
        self.tree = tree
        self.emulator = emulator
        self.tmp_path = tmp_path
        self.env = {"AD_PASSWORD": tree.dc.admin_password, "WEBEX_TOKEN": WEBEX_TOKEN}
        self.raw = {
            "directory": {
                "type": "activedirectory",
                "url": tree.dc.uri,
                "bind_dn": tree.dc.admin_dn,
                "bind_password": "${AD_PASSWORD}",
                "base_dn": tree.people,
                "timeout": 10,
            },
            "webex": {"org_id": ORG_ID, "url": emulator.url, "token": "${WEBEX_TOKEN}", "max_retry_wait": 2},
            "safety": {"max_deprovisions": {"count": 10, "percent": 100}},  # tiny test trees
            "logging": {"audit_log": str(tmp_path / "audit.log")},
            "state": f"sqlite:///{tmp_path / 'state.db'}",
        }


@pytest.fixture
def ad_world(tree: Tree, emulator: EmulatorServer, tmp_path: Path) -> AdWorld:
    return AdWorld(tree, emulator, tmp_path)
