"""Helpers of the directory tests: a configuration for a throwaway slapd, reading users by uid, and
sample people for a 389 DS."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from webex_provisioner.config import DirectoryConfig
from webex_provisioner.directory import LdapDirectory
from webex_provisioner.model import DirectoryUser
from webex_provisioner.sandbox import SERVICE_DN, SERVICE_PASSWORD, SUFFIX, TARGETED_GROUP, ThrowawaySlapd
from webex_provisioner.sandbox.dirsrv import ThrowawayDirSrv

PEOPLE = f"ou=people,{SUFFIX}"
GROUPS = f"ou=groups,{SUFFIX}"
ENGINEERING = f"cn=engineering,{GROUPS}"
SRE = f"cn=sre,{GROUPS}"
SALES = f"cn=sales,{GROUPS}"
CONTRACTORS = f"cn=contractors,{GROUPS}"
MAPPED = ("mail", "givenName", "sn", "displayName", "title", "departmentNumber", "telephoneNumber", "mobile")


def config_for(slapd: ThrowawaySlapd, **overrides: Any) -> DirectoryConfig:
    """Example Corp read as the sandbox's service account, targeting webex-users (nested)."""
    raw: dict[str, Any] = {
        "url": slapd.uri,
        "bind_dn": SERVICE_DN,
        "bind_password": SERVICE_PASSWORD,
        "base_dn": PEOPLE,
        "scope": {"groups": [TARGETED_GROUP]},
        "disabled_filter": "(pwdAccountLockedTime=*)",
        "page_size": 10,
        "timeout": 5,
    }
    raw.update(overrides)
    return DirectoryConfig.model_validate(raw)


def uid_of(user: DirectoryUser) -> str:
    return user.dn.split(",", 1)[0].split("=", 1)[1]


def by_uid(users: Iterable[DirectoryUser]) -> dict[str, DirectoryUser]:
    return {uid_of(user): user for user in users}


def read_all(config: DirectoryConfig, attributes: Iterable[str] = MAPPED) -> dict[str, DirectoryUser]:
    with LdapDirectory(config, list(attributes)) as directory:
        return by_uid(directory.read_users())


def dn(uid: str) -> str:
    return f"uid={uid},{PEOPLE}"


def add_389ds_people(dirsrv: ThrowawayDirSrv, ou: str) -> list[str]:
    """Under ``ou`` of a 389 DS: an inetOrgPerson (ann), a dsidm-style nsPerson (ben) and a user
    locked with nsAccountLock (cid); their DNs in that order."""
    return [
        dirsrv.add(
            f"uid=ann,{ou}",
            {"objectClass": "inetOrgPerson", "cn": "Ann A", "sn": "A", "mail": "ann@example.com"},
        ),
        dirsrv.add(
            f"uid=ben,{ou}",
            {
                "objectClass": ["top", "nsPerson", "nsAccount", "nsOrgPerson"],
                "cn": "Ben B",
                "displayName": "Ben B",
                "mail": "ben@example.com",
            },
        ),
        dirsrv.add(
            f"uid=cid,{ou}",
            {
                "objectClass": "inetOrgPerson",
                "cn": "Cid C",
                "sn": "C",
                "mail": "cid@example.com",
                "nsAccountLock": "true",
            },
        ),
    ]
