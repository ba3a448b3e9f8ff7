"""``make demo``: Example Corp in a real slapd, synced into the bundled Webex emulator.

Runs the real command line (``python -m webex_provisioner``) the way an administrator would:
check, plan, sync; then someone edits a user in Webex (as in Control Hub) and a full sync sets it
back, and ``users orphans`` lists the Webex user no directory user is linked to; then changes the
directory (an attribute change, a disable, a removal from the targeted group, a deletion, a
re-enable) and syncs again: the guard holds the three deprovisions and tells a Webex space of the
emulator, whose message is shown; an approval applies them (and the space hears it is resolved);
then the status. Everything it starts is stopped at the end, whatever happens.
"""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx
import ldap
import yaml

from webex_provisioner.emulator import EmulatorServer
from webex_provisioner.sandbox.company import LOCKED, example_corp
from webex_provisioner.sandbox.slapd import ThrowawaySlapd

ORG_ID = "3f1c0a4e-0000-4000-8000-000000000001"


def banner(text: str) -> None:
    print(f"\n\033[1m=== {text} ===\033[0m" if sys.stdout.isatty() else f"\n=== {text} ===", flush=True)


def demo_config(slapd: ThrowawaySlapd, webex_url: str, workdir: Path) -> dict[str, object]:
    return {
        "directory": {
            "url": slapd.uri,
            "bind_dn": slapd.root_dn,
            "bind_password": "${LDAP_PASSWORD}",
            "base_dn": f"ou=people,{slapd.suffix}",
            "user_filter": "(objectClass=inetOrgPerson)",
            "anchor": "entryUUID",
            "scope": {"groups": [f"cn=webex-users,ou=groups,{slapd.suffix}"], "nested_groups": True},
            "disabled_filter": "(pwdAccountLockedTime=*)",
            "page_size": 500,
        },
        "webex": {"org_id": ORG_ID, "url": webex_url, "token": "${WEBEX_TOKEN}", "concurrency": 8},
        "mapping": {
            "email": "mail",
            "firstName": "givenName",
            "lastName": "sn",
            "displayName": "{{ displayName or givenName ~ ' ' ~ sn }}",
            "title": "title",
            "department": "departmentNumber",
            "workPhone": "telephoneNumber",
            "mobilePhone": "mobile",
        },
        "provisioning": {"on_deleted": "disable", "on_disabled": "disable", "on_left_scope": "disable"},
        "logging": {"level": "warning", "audit_log": str(workdir / "audit.log")},
        "state": f"sqlite:///{workdir / 'state.db'}",
    }


ORPHAN = "front.desk@example.com"
"""A Webex account created by hand for no directory user: what ``users orphans`` lists."""


def seed_webex(server: EmulatorServer) -> None:
    """Three Example Corp people already have Webex accounts (one inactive, one in upper case),
    and so does a front desk that is in no directory; an administrator gave one of them a
    Meetings licence by hand."""
    seeds = [
        ("amelia.hart@example.com", "Amelia", "Hart", True),
        ("maria.garcia@example.com", "Maria", "Garcia", True),
        ("jun.nakamura@example.com", "Jun", "Nakamura", False),
        (ORPHAN, "Front", "Desk", True),
    ]
    for email, given, family, active in seeds:
        added = server.add_user(
            {
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": email,
                "name": {"givenName": given, "familyName": family},
                "displayName": f"{given} {family} (created by hand)",
                "active": active,
            }
        )
        if email.startswith("maria."):
            server.give_license(added["id"], DEMO_MEETINGS)


EDITED = ("amelia.hart@example.com", "Chief Coffee Officer")
"""The user an administrator edits in Webex, and the title given there."""

DEMO_DRIFT: dict[str, object] = {"drift": {}}
"""The demo compares Webex with what was applied at each full cycle (the defaults)."""


def edit_in_webex(server: EmulatorServer, token: str) -> str:
    """Change a title over the emulator's SCIM API, as an administrator would in Control Hub."""
    email, title = EDITED
    [user] = [u for u in server.users() if u["userName"].lower() == email]
    body = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "title", "value": title}],
    }
    response = httpx.patch(
        f"{server.scim_url}/Users/{user['id']}", json=body, headers={"Authorization": f"Bearer {token}"}
    )
    response.raise_for_status()
    return f"title of {email} set to {title!r} in Webex (a SCIM PATCH of the user)"


def run_cli(config: Path, env: dict[str, str], *args: str) -> int:
    command = [sys.executable, "-m", "webex_provisioner", "--config", str(config), *args]
    print(f"$ webex-provisioner {' '.join(args)}", flush=True)
    code = subprocess.run(command, env=env, check=False).returncode
    meaning = {0: "done", 1: "failed", 2: "configuration error", 3: "done, some users reported", 4: "held"}
    print(f"(exit code {code}: {meaning.get(code, 'unexpected')})", flush=True)
    return code


def change_directory(slapd: ThrowawaySlapd) -> list[str]:
    corp = example_corp(slapd.suffix)
    group = f"cn=webex-users,ou=groups,{slapd.suffix}"
    title_change = corp.person("enovak")
    disable = corp.person("tmueller")
    direct_members = [
        p for p in corp.people if p.dn in corp.group("webex-users").members and p.uid not in corp.disabled
    ]
    removed = direct_members[-1]
    deleted = direct_members[-2]
    reenabled = corp.person(sorted(corp.disabled)[0])
    slapd.modify(title_change.dn, [(ldap.MOD_REPLACE, "title", [b"Head of Platform"])])
    slapd.modify(disable.dn, [(ldap.MOD_ADD, "pwdAccountLockedTime", [LOCKED.encode()])])
    slapd.modify(group, [(ldap.MOD_DELETE, "member", [removed.dn.encode()])])
    slapd.delete(deleted.dn)
    slapd.modify(reenabled.dn, [(ldap.MOD_DELETE, "pwdAccountLockedTime", None)])
    return [
        f"title of {title_change.display_name} changed to 'Head of Platform'",
        f"{disable.display_name} disabled (pwdAccountLockedTime set)",
        f"{removed.display_name} removed from {group}",
        f"{deleted.display_name} deleted from the directory",
        f"{reenabled.display_name} re-enabled (was disabled, never provisioned)",
    ]


DEMO_SPACE = "Y2lzY29zcGFyazovL3VzL1JPT00vZGVtby1pZGVudGl0eS10ZWFt"
DEMO_GUARD_AND_NOTIFY: dict[str, object] = {
    "safety": {"max_deprovisions": {"count": 2, "percent": None}},
    "notify": {
        "events": ["failed", "held", "recovered"],
        "webex": {"room_id": DEMO_SPACE, "token": "${WEBEX_TOKEN}"},
    },
}
"""The demo's guard holds its three deprovisions, and tells a space of the emulator."""

DEMO_GROUPS: dict[str, object] = {
    "groups": {"base_dn": "ou=groups,dc=example,dc=com", "filter": "(|(cn=engineering)(cn=sales))"},
}
"""The demo pushes two directory groups (engineering holds a nested group, sales is a
groupOfUniqueNames) to Webex groups."""


DEMO_MEETINGS, DEMO_MESSAGING = "Webex Meetings - Enterprise", "Webex Messaging"
DEMO_LICENSE_UNITS = {DEMO_MEETINGS: 100, DEMO_MESSAGING: 20, "Webex Calling - Professional": 10}
DEMO_LICENSES: dict[str, object] = {
    "licenses": {
        "rules": [
            {"when": {"everyone": True}, "assign": [DEMO_MEETINGS]},
            {"when": {"group": "cn=engineering,ou=groups,dc=example,dc=com"}, "assign": [DEMO_MESSAGING]},
        ]
    }
}
"""Everyone gets Meetings, the engineering group (with its nested group) Messaging."""


def show_messages(server: EmulatorServer, title: str, *, skip: int = 0) -> bool:
    """Print the messages the demo's space received (after the first ``skip``); whether none came."""
    messages = server.messages(DEMO_SPACE)[skip:]
    print(f"{title} (GET /v1/messages?roomId=...):", flush=True)
    for message in messages:
        shown = re.sub(r"\\(.)", r"\1", message["markdown"])  # as the space shows it
        print("\n".join(f"  | {line}" for line in shown.splitlines()), flush=True)
    return not messages


def walkthrough(config: Path, env: dict[str, str], slapd: ThrowawaySlapd, server: EmulatorServer) -> int:
    """The commands of the demo, in order; how many did not end as expected."""
    failures = 0
    banner("check: is everything reachable?")
    failures += run_cli(config, env, "check") != 0
    banner("plan: what the first sync will do, and why (writes nothing)")
    run_cli(config, env, "plan")
    banner("sync: the first cycle")
    failures += run_cli(config, env, "sync") not in (0, 3)
    banner("groups list: the directory groups pushed to Webex, with their members")
    failures += run_cli(config, env, "groups", "list") != 0
    banner("licenses: units, what webex-provisioner assigned, what was held before, the rules")
    failures += run_cli(config, env, "licenses") != 0
    banner("sync again: nothing should change")
    failures += run_cli(config, env, "sync") not in (0, 3)

    banner("Someone edits a user in Webex (as in Control Hub)")
    print(f"- {edit_in_webex(server, env['WEBEX_TOKEN'])}")
    banner("sync --full: a full cycle reads Webex, finds the edit and sets it back")
    failures += run_cli(config, env, "sync", "--full") not in (0, 3)
    banner("users orphans: Webex users no directory user is linked to (left alone)")
    failures += run_cli(config, env, "users", "orphans") != 0

    banner("Changing the directory")
    for line in change_directory(slapd):
        print(f"- {line}")
    banner("sync: the changes reach Webex; the guard holds the deprovisions (more than 2)")
    failures += run_cli(config, env, "sync") != 4
    failures += show_messages(server, "the message posted to the Webex space")
    banner("sync --approve-held: an administrator approves them")
    failures += run_cli(config, env, "sync", "--approve-held") not in (0, 3)
    show_messages(server, "and the space is told it is resolved", skip=1)
    banner("groups show sales: members in Webex, expected from the directory, skipped and why")
    failures += run_cli(config, env, "groups", "show", "sales") != 0
    banner("status")
    failures += run_cli(config, env, "status") != 0
    return failures


def main() -> int:
    token = secrets.token_urlsafe(24)
    workdir = Path(tempfile.mkdtemp(prefix="webex-provisioner-demo-"))
    slapd = ThrowawaySlapd()
    server = EmulatorServer(org_id=ORG_ID, token=token, licenses=DEMO_LICENSE_UNITS)
    failures = 0
    try:
        banner("Starting a real slapd with Example Corp and the bundled Webex emulator")
        corp = example_corp(slapd.suffix)
        slapd.load_ldif(corp.ldif())
        slapd.start()
        server.start()
        seed_webex(server)
        print(f"directory: {slapd.uri} ({len(corp.people)} people, targeted group with nested groups)")
        print(f"webex emulator: {server.url} (4 users already there)")
        print(f"work folder: {workdir}")
        config = workdir / "webex-provisioner.yaml"
        raw = {
            **demo_config(slapd, server.url, workdir),
            **DEMO_GUARD_AND_NOTIFY,
            **DEMO_GROUPS,
            **DEMO_LICENSES,
            **DEMO_DRIFT,
        }
        config.write_text(yaml.safe_dump(raw, sort_keys=False))
        env = {
            **os.environ,
            "LDAP_PASSWORD": slapd.root_pw,
            "WEBEX_TOKEN": token,
            "NO_COLOR": "1",
        }
        env.pop("COLUMNS", None)  # the real terminal's width: the output fits it

        failures += walkthrough(config, env, slapd, server)
        banner("Webex afterwards")
        users = server.users()
        active = sum(1 for u in users if u.get("active", True))
        print(f"{len(users)} users in the emulator, {active} active, {len(users) - active} inactive")
        print(f"audit trail: {workdir / 'audit.log'}")
    finally:
        server.stop()
        slapd.close()
    banner("Demo finished" + (" with failures" if failures else ""))
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
