"""The shortcuts that make large cycles fast give the same answers as the long way: fingerprints
of what was applied, links read as raw rows, packed desired users, workers handing results back,
the streamed JSON report, and opening an up-to-date state without alembic."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import sys
import threading
from contextlib import redirect_stdout
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import create_engine, text

from webex_provisioner.cli.base import emit_json, streamed_cycle_json
from webex_provisioner.cli.json_forms import cycle_json
from webex_provisioner.engine.report import CycleReport
from webex_provisioner.engine.workers import run_concurrently
from webex_provisioner.model import (
    Action,
    ActionKind,
    AuditEntry,
    CycleKind,
    DirectoryUser,
    Link,
    Outcome,
    Plan,
    Reason,
)
from webex_provisioner.model.keys import fingerprint
from webex_provisioner.ports import Record
from webex_provisioner.rules.mapping import MappingRule, PackedAttributes, compile_mapping, pack
from webex_provisioner.rules.planner import PlanOptions, assess
from webex_provisioner.state import SqliteStateStore
from webex_provisioner.state.migrations import alembic_config

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
MAPPING = compile_mapping({"email": MappingRule(source="mail"), "title": MappingRule(source="title")})


def directory_user(title: str) -> DirectoryUser:
    return DirectoryUser(
        anchor="a-1",
        dn="uid=ada,ou=people,dc=example,dc=com",
        attributes={"mail": ("ada@example.com",), "title": (title,)},
    )


def linked(applied: dict[str, str], stored_fingerprint: str) -> Link:
    return Link(
        "a-1",
        "w-1",
        "ada@example.com",
        "uid=ada,ou=people,dc=example,dc=com",
        applied=applied,
        fingerprint=stored_fingerprint,
    )


def updates(link: Link, title: str) -> list[tuple[str, str | None, str | None]]:
    result = assess([directory_user(title)], {link.anchor: link}, MAPPING, PlanOptions(), now=NOW)
    return [(c.attribute, c.old, c.new) for a in result.actions for c in a.changes]


def test_fingerprints_ignore_order_and_tell_values_apart() -> None:
    """Equal attributes in any order give one fingerprint; any changed value another."""
    a = {"email": "ada@example.com", "title": "CTO"}
    assert fingerprint(a) == fingerprint(dict(reversed(a.items()))) == fingerprint(pack(a, {}))
    assert fingerprint(a) != fingerprint({**a, "title": "CEO"})
    assert fingerprint(a) != fingerprint({"email": "ada@example.com"})


def test_values_holding_the_separators_still_tell_users_apart() -> None:
    """Values that hold the separators of the fast form cannot make two different users look
    alike: such users are digested as canonical JSON."""
    shifted = [
        {"department": "a\x1eb", "title": "c"},
        {"department": "a", "title": "b\x1ec"},
        {"department": "a\x1dtitle", "title": "c"},
        {"department": "a", "title": "c"},
    ]
    assert len({fingerprint(attributes) for attributes in shifted}) == len(shifted)
    assert fingerprint(shifted[0]) == fingerprint(dict(reversed(shifted[0].items())))


def test_an_unchanged_user_is_told_by_fingerprint_and_a_changed_one_still_updates() -> None:
    """A link whose fingerprint matches the desired user plans nothing; a stale or missing
    fingerprint falls back to comparing attributes, which finds exactly the change."""
    desired = {"email": "ada@example.com", "title": "CTO", "externalId": "a-1"}
    assert updates(linked(desired, fingerprint(desired)), "CTO") == []
    assert updates(linked(desired, ""), "CTO") == []
    assert updates(linked(desired, fingerprint(desired)), "CEO") == [("title", "CTO", "CEO")]
    assert updates(linked(desired, "stale"), "CEO") == [("title", "CTO", "CEO")]


def test_the_store_keeps_the_fingerprint_of_what_was_applied(tmp_path: Path) -> None:
    """Whatever fingerprint a saved link carries, the store keeps the one of its applied
    attributes; links() reads them back equal, the applied attributes decoded on use."""
    applied = {"email": "ada@example.com", "department": "Ünïcode ✓"}
    with SqliteStateStore(tmp_path / "state.db") as store:
        entry = AuditEntry("c1", NOW, "a-1", "ada@example.com", "create", "entered_scope", Outcome.APPLIED)
        store.record([Record(entry, save_link=linked(applied, "whatever"))])
        (read,) = list(store.links())
    assert read.fingerprint == fingerprint(applied)
    assert read.applied == applied and dict(read.applied) == applied
    assert read.created_at == read.updated_at == NOW


def fingerprints_after_upgrade(path: Path, applied: dict[str, str], stored: str, revision: str) -> list[str]:
    """Build a state at an older ``revision`` holding one link with the fingerprint ``stored``, as
    that version left it, then open the store (which migrates it): the fingerprints read back."""
    raw = create_engine(f"sqlite:///{path}")
    config = alembic_config()
    with raw.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, revision)
        conn.execute(
            text(
                "INSERT INTO links (anchor, webex_id, email, email_lower, dn, dn_lower, state, applied, "
                "fingerprint, created_at, updated_at) VALUES ('a-1', 'w-1', 'ada@example.com', "
                "'ada@example.com', 'uid=ada,dc=example', 'uid=ada,dc=example', 'active', :applied, "
                ":stored, :at, :at)"
            ),
            {"applied": json.dumps(applied), "stored": stored, "at": NOW.replace(tzinfo=None)},
        )
    raw.dispose()
    with SqliteStateStore(path) as store:
        return [link.fingerprint for link in store.links()]


def test_links_saved_before_fingerprints_get_them_on_upgrade(tmp_path: Path) -> None:
    """Migration 0003 fills in the fingerprint of links stored without one."""
    applied = {"email": "ada@example.com", "title": "CTO"}
    assert fingerprints_after_upgrade(tmp_path / "state.db", applied, "", "0002") == [fingerprint(applied)]


def test_fingerprints_of_the_earlier_form_are_recomputed_on_upgrade(tmp_path: Path) -> None:
    """Migration 0004 replaces fingerprints of the earlier form (the digest of canonical JSON),
    which would never match again, by the current form."""
    applied = {"email": "ada@example.com", "title": "CTO"}
    canonical = json.dumps(applied, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    earlier = hashlib.blake2b(canonical.encode(), digest_size=16).hexdigest()
    assert earlier != fingerprint(applied)
    assert fingerprints_after_upgrade(tmp_path / "state.db", applied, earlier, "0003") == [
        fingerprint(applied)
    ]


def test_an_up_to_date_state_opens_without_alembic(tmp_path: Path) -> None:
    """Opening a state already at the newest schema does not load alembic (memory and start-up)."""
    url = f"sqlite:///{tmp_path / 'state.db'}"
    SqliteStateStore.from_url(url).close()
    probe = (
        "import sys; from webex_provisioner.state import open_state_store; "
        f"open_state_store({url!r}).close(); print('alembic' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_packed_attributes_behave_like_a_dict() -> None:
    """A packed desired user reads, iterates, compares and converts like the dict it came from,
    and users with the same attribute names share one names tuple."""
    names: dict[tuple[str, ...], tuple[str, ...]] = {}
    a = pack({"email": "a@example.com", "title": "CTO"}, names)
    b = pack({"email": "b@example.com", "title": "CEO"}, names)
    assert isinstance(a, PackedAttributes)
    assert a == {"email": "a@example.com", "title": "CTO"} and dict(b) == {
        "email": "b@example.com",
        "title": "CEO",
    }
    assert a["title"] == "CTO" and a.get("nope") is None and "email" in a and "nope" not in a
    with pytest.raises(KeyError):
        a["nope"]
    assert list(a) == ["email", "title"] and len(a) == 2
    assert len(names) == 1


def test_workers_hand_every_result_back_and_a_failure_after_the_others() -> None:
    """Every unit's result reaches the calling thread; a unit that raises stops the workers from
    taking more, the results of units already done are still handed back, then it is raised."""
    handled: list[int] = []
    caller = threading.get_ident()
    threads: set[int] = set()

    def on_result(value: int) -> None:
        threads.add(threading.get_ident())
        handled.append(value)

    run_concurrently(
        range(50),
        lambda n: n * 2,
        concurrency=4,
        on_result=on_result,
        on_tick=lambda: None,
        tick_seconds=0.05,
    )
    assert sorted(handled) == [n * 2 for n in range(50)] and threads == {caller}

    def work(n: int) -> int:
        if n == 3:
            raise RuntimeError("unit 3 failed")
        return n

    handled.clear()
    with pytest.raises(RuntimeError, match="unit 3 failed"):
        run_concurrently(
            range(1000),
            work,
            concurrency=1,
            on_result=handled.append,
            on_tick=lambda: None,
            tick_seconds=0.05,
        )
    assert handled == [0, 1, 2]


def test_the_streamed_report_is_the_same_json() -> None:
    """sync --json writes the same document whether the actions are converted up front or while
    they are written."""
    actions = tuple(
        Action(
            ActionKind.CREATE,
            Reason.ENTERED_SCOPE,
            f"a-{i}",
            f"u{i}@example.com",
            desired=pack({"email": f"u{i}@example.com", "title": "T"}, {}),
        )
        for i in range(3)
    )
    for plan in (Plan(actions=actions, users_read=3), Plan(users_read=0)):
        report = CycleReport("c1", CycleKind.FULL, NOW, False, plan=plan)
        direct, streamed = io.StringIO(), io.StringIO()
        with redirect_stdout(direct):
            emit_json(cycle_json(report))
        with redirect_stdout(streamed):
            emit_json(streamed_cycle_json(report))
        assert streamed.getvalue() == direct.getvalue()
        assert len(json.loads(streamed.getvalue())["plan"]["actions"]) == len(plan.actions)
