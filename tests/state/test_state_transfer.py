"""state export / import: every row survives a move between SQLite and PostgreSQL, and an export
of an earlier version imports as its database would migrate."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from tests.state.state_helpers import T0, entry, link
from webex_provisioner.errors import StateError
from webex_provisioner.model import (
    Action,
    ActionKind,
    Change,
    CycleKind,
    CycleRecord,
    LinkState,
    Problem,
    ProblemKind,
    Reason,
)
from webex_provisioner.model.keys import fingerprint
from webex_provisioner.ports import Record, StateStore, StoredRefreshToken
from webex_provisioner.state import SqliteStateStore, open_state_store
from webex_provisioner.state.transfer import export_state, import_state
from webex_provisioner.testing.contracts.group_holds import HELD
from webex_provisioner.testing.contracts.license_holds import CATALOG, REFUSALS
from webex_provisioner.testing.contracts.license_holds import HELD as HELD_LICENSES
from webex_provisioner.testing.contracts.samples import grant, group_link, save_grants, save_group


def fill(store: SqliteStateStore, n: int = 250) -> None:
    store.record(
        Record(entry(f"anchor-{i}", at=T0 + timedelta(seconds=i)), save_link=link(i)) for i in range(n)
    )
    store.record(
        [
            Record(
                entry("anchor-0", action="disable"),
                save_link=link(
                    0, state=LinkState.DISABLED, deprovisioned_at=T0, deprovision_reason=Reason.LEFT_SCOPE
                ),
            )
        ]
    )
    store.start_cycle(CycleRecord("c1", CycleKind.FULL, T0))
    store.finish_cycle(
        CycleRecord("c1", CycleKind.FULL, T0, T0 + timedelta(seconds=3), "succeeded", {"create": n})
    )
    store.set_watermark("directory.content_sync.cookie", "rid=000,csn=1")
    store.set_baseline("digest:feed")
    store.set_retry_anchors(["anchor-3", "anchor-2"])
    store.set_open_problems(
        [
            Problem(ProblemKind.CONFLICT, "anchor-9", "uid=x", None, "taken"),
            Problem(ProblemKind.CONFLICT, "group-9", "cn=g9", "Team", "name taken", resource="group"),
        ]
    )
    store.record([save_group(group_link(g, *range(g, g + 30), last_error=f"error {g}")) for g in range(6)])
    store.hold_groups(HELD, "c1")
    fill_licenses(store, n)
    store.set_approvals([("anchor-1", ActionKind.DISABLE)])
    store.save_refresh_token(StoredRefreshToken("rotated", "digest-of-configured", T0))
    store.hold(
        [
            Action(
                ActionKind.DISABLE,
                Reason.LEFT_SCOPE,
                "anchor-1",
                "user1@example.com",
                webex_id="webex-1",
                changes=(Change("title", "a", None),),
            )
        ],
        "c1",
    )


def fill_licenses(store: StateStore, n: int) -> None:
    """Two grants of each of ``n`` users (one ours, one not), the catalogue, refusals and held
    licence actions."""
    store.record(
        save_grants(
            grant(i, "lic-1", since=T0 + timedelta(seconds=i)), grant(i, "lic-2", ours=False, since=None)
        )
        for i in range(n)
    )
    store.set_license_catalog(CATALOG)
    store.set_license_refusals(REFUSALS)
    store.hold_licenses(HELD_LICENSES, "c1")


def licence_snapshot(store: StateStore) -> tuple[object, ...]:
    return (list(store.grants()), store.license_catalog(), store.license_refusals(), store.held_licenses())


def snapshot(store: StateStore) -> tuple[object, ...]:
    return (
        sorted(store.links(), key=lambda x: x.anchor),
        store.cycles(100),
        store.audit(limit=10_000),
        store.get_watermark("directory.content_sync.cookie"),
        store.held(),
        store.baseline(),
        store.retry_anchors(),
        store.open_problems(),
        store.approvals(),
        store.refresh_token(),
        list(store.group_links()),
        store.held_groups(),
        *licence_snapshot(store),
    )


@pytest.mark.postgresql
def test_export_from_sqlite_import_into_postgresql_preserves_everything(
    tmp_path: Path, postgres_url: str
) -> None:
    """Every link of a user or a group (with its members), licence grant, cycle, audit entry,
    watermark, held action of a user, a group or licences and piece of bookkeeping (the licence
    catalogue and refusals included) arrives unchanged in PostgreSQL."""
    source = SqliteStateStore(tmp_path / "state.db")
    fill(source)
    counts = export_state(source, tmp_path / "state.jsonl")
    assert counts["links"] == 250 and counts["audit"] == 257 + 250
    assert (counts["baseline"], counts["retry_anchors"], counts["open_problems"]) == (1, 2, 2)
    assert (counts["group_links"], counts["group_members"], counts["held_group_actions"]) == (6, 180, 3)
    assert (counts["approvals"], counts["refresh_tokens"], counts["watermarks"]) == (1, 1, 1)
    assert (counts["license_grants"], counts["license_catalog"]) == (500, len(CATALOG))
    assert (counts["license_refusals"], counts["held_license_actions"]) == (len(REFUSALS), len(HELD_LICENSES))
    assert (tmp_path / "state.jsonl").stat().st_mode & 0o077 == 0
    target = open_state_store(postgres_url)
    try:
        imported = import_state(target, tmp_path / "state.jsonl")
        assert imported == counts
        assert snapshot(target)[0] == snapshot(source)[0]
        assert snapshot(target)[1:] == snapshot(source)[1:]
    finally:
        target.close()
        source.close()


def test_licences_survive_an_export_and_an_import(tmp_path: Path) -> None:
    """The grants (ours or not, with or without a time), the catalogue, the refusals and the held
    licence actions of one store arrive unchanged in another; --replace drops the grants the
    target had."""
    source = SqliteStateStore(tmp_path / "a.db")
    fill_licenses(source, 20)
    counts = export_state(source, tmp_path / "x.jsonl")
    target = SqliteStateStore(tmp_path / "b.db")
    target.record([save_grants(grant("other", "lic-9"))])

    imported = import_state(target, tmp_path / "x.jsonl", replace=True)

    assert imported == counts and counts["license_grants"] == 40
    assert licence_snapshot(target) == licence_snapshot(source)
    assert target.grants_of("anchor-other") == []
    source.close()
    target.close()


def test_import_refuses_a_store_with_links_unless_replace(tmp_path: Path) -> None:
    """Importing into a store that has links is refused; --replace empties it first."""
    source = SqliteStateStore(tmp_path / "a.db")
    fill(source, 5)
    export_state(source, tmp_path / "x.jsonl")
    target = SqliteStateStore(tmp_path / "b.db")
    target.record([Record(entry("other"), save_link=link("other"))])
    with pytest.raises(StateError, match="already has 1 link"):
        import_state(target, tmp_path / "x.jsonl")
    import_state(target, tmp_path / "x.jsonl", replace=True)
    assert {x.anchor for x in target.links()} == {f"anchor-{i}" for i in range(5)}
    source.close()
    target.close()


def test_import_refuses_a_store_with_group_links_unless_replace(tmp_path: Path) -> None:
    """A store that has group links (and no user link) is not empty: importing into it is refused;
    --replace empties it, group links and members included."""
    source = SqliteStateStore(tmp_path / "a.db")
    fill(source, 5)
    export_state(source, tmp_path / "x.jsonl")
    target = SqliteStateStore(tmp_path / "b.db")
    target.record([save_group(group_link("other", 1, 2))])
    with pytest.raises(StateError, match=r"already has 0 link\(s\) and 1 group link"):
        import_state(target, tmp_path / "x.jsonl")

    import_state(target, tmp_path / "x.jsonl", replace=True)

    assert target.get_group_link("group-other") is None
    assert [g.anchor for g in target.groups_of("anchor-1")] == ["group-0", "group-1"]
    source.close()
    target.close()


def test_import_rejects_a_file_that_is_not_an_export(tmp_path: Path) -> None:
    """A file without the export header is refused with a clear message, and nothing is written."""
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"hello": 1}\n')
    store = SqliteStateStore(tmp_path / "c.db")
    with pytest.raises(StateError, match="not a webex-provisioner state export"):
        import_state(store, bad)
    assert list(store.links()) == []
    store.close()


def _export_of_revision_0004(path: Path) -> None:
    """An export as revision 0004 wrote it: the bookkeeping in five watermark rows, the links'
    DN keys of that revision, and the autoincrement ids of the audit and held actions."""
    rows = [
        {"format": "webex-provisioner-state", "version": 1, "schema_revision": "0004"},
        {
            "table": "links",
            "row": {
                "anchor": "a1",
                "webex_id": "w1",
                "email": "Doe@Example.com",
                "email_lower": "doe@example.com",
                "dn": "uid=jd+cn=Doe\\, John,ou=People,dc=example,dc=com",
                "dn_lower": "uid=jd+cn=doe\\,john,ou=people,dc=example,dc=com",
                "state": "active",
                "applied": {"email": "doe@example.com"},
                "fingerprint": "of-an-earlier-form",
                "deprovisioned_at": None,
                "deprovision_reason": None,
                "created_at": "2024-05-01T12:00:00+00:00",
                "updated_at": "2024-05-01T12:00:00+00:00",
                "last_error": None,
            },
        },
        {
            "table": "audit",
            "row": {
                "id": 7,
                "cycle_id": "c1",
                "time": "2024-05-01T12:00:00+00:00",
                "anchor": "a1",
                "email": "Doe@Example.com",
                "webex_id": "w1",
                "action": "create",
                "reason": "entered_scope",
                "outcome": "applied",
                "detail": "",
            },
        },
        {"table": "watermarks", "row": {"name": "directory.content_sync.cookie", "value": "rid=000,csn=1"}},
        {"table": "watermarks", "row": {"name": "cycle.baseline", "value": "digest:feed"}},
        {"table": "watermarks", "row": {"name": "cycle.retry_anchors", "value": '["a2", "a1"]'}},
        {
            "table": "watermarks",
            "row": {
                "name": "cycle.open_problems",
                "value": json.dumps(
                    [{"kind": "invalid", "anchor": "a3", "dn": "uid=c", "email": None, "detail": "no e-mail"}]
                ),
            },
        },
        {
            "table": "watermarks",
            "row": {"name": "cycle.approved_held", "value": '[["a1", "delete"], ["a9"]]'},
        },
        {"table": "watermarks", "row": {"name": "webex.oauth.refresh_token", "value": "rotated"}},
    ]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")


def test_an_export_of_revision_0004_imports_its_bookkeeping_into_the_new_tables(tmp_path: Path) -> None:
    """An export made before the bookkeeping had tables imports as migration 0005 converts a
    database: the five watermark rows become baseline, retries, open problems, approvals (a
    malformed item skipped) and the refresh token (replaces = ""); the links get this version's
    DN keys and fingerprints."""
    _export_of_revision_0004(tmp_path / "old.jsonl")
    store = SqliteStateStore(tmp_path / "new.db")
    before = datetime.now(UTC)

    counts = import_state(store, tmp_path / "old.jsonl")

    assert {table: n for table, n in counts.items() if n} == {
        "links": 1,
        "audit": 1,
        "watermarks": 1,
        "baseline": 1,
        "retry_anchors": 2,
        "open_problems": 1,
        "approvals": 1,
        "refresh_tokens": 1,
    }
    assert store.get_watermark("directory.content_sync.cookie") == "rid=000,csn=1"
    assert store.get_watermark("cycle.baseline") is None
    assert (store.baseline(), store.retry_anchors()) == ("digest:feed", ["a2", "a1"])
    assert store.open_problems() == [Problem(ProblemKind.INVALID, "a3", "uid=c", None, "no e-mail")]
    assert store.approvals() == {("a1", ActionKind.DELETE)}
    token = store.refresh_token()
    assert token is not None and (token.value, token.replaces) == ("rotated", "")
    assert before <= token.stored_at <= datetime.now(UTC)
    found = store.find_links("CN=Doe\\, John+UID=JD,ou=People,dc=example,dc=com")
    assert [(x.anchor, x.fingerprint) for x in found] == [("a1", fingerprint({"email": "doe@example.com"}))]
    assert [e.anchor for e in store.audit()] == ["a1"]
    store.close()


def test_an_export_of_this_version_keeps_watermarks_as_they_are(tmp_path: Path) -> None:
    """Rows of an export of this revision are imported as they are: a watermark is a watermark,
    whatever its name."""
    source = SqliteStateStore(tmp_path / "a.db")
    source.set_watermark("cycle.baseline", "kept as a watermark")
    export_state(source, tmp_path / "x.jsonl")
    target = SqliteStateStore(tmp_path / "b.db")

    import_state(target, tmp_path / "x.jsonl")

    assert (target.get_watermark("cycle.baseline"), target.baseline()) == ("kept as a watermark", None)
    source.close()
    target.close()


PROBLEM_0005 = {"kind": "conflict", "anchor": "a2", "dn": "uid=b", "email": None, "detail": "x"}


def _export_of_revision_0005(path: Path) -> None:
    """An export as revision 0005 wrote it: no group tables, open problems without a resource."""
    rows = [
        {"format": "webex-provisioner-state", "version": 1, "schema_revision": "0005"},
        {"table": "open_problems", "row": {**PROBLEM_0005, "position": 0, "email": "b@x", "detail": ""}},
        {"table": "open_problems", "row": {**PROBLEM_0005, "position": 1, "anchor": "a1", "kind": "invalid"}},
        {"table": "approvals", "row": {"anchor": "a1", "kind": "delete"}},
    ]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")


def test_an_export_of_revision_0005_imports_its_problems_as_problems_of_users(tmp_path: Path) -> None:
    """An export made before the group tables imports: its open problems, which name no resource,
    are about users, and there are no group links."""
    _export_of_revision_0005(tmp_path / "old.jsonl")
    store = SqliteStateStore(tmp_path / "new.db")

    counts = import_state(store, tmp_path / "old.jsonl")

    assert {table: n for table, n in counts.items() if n} == {"open_problems": 2, "approvals": 1}
    assert store.open_problems() == [
        Problem(ProblemKind.CONFLICT, "a2", "uid=b", "b@x", "", resource="user"),
        Problem(ProblemKind.INVALID, "a1", "uid=b", None, "x", resource="user"),
    ]
    assert (list(store.group_links()), store.held_groups()) == ([], [])
    store.close()


def test_imported_group_links_get_the_lookup_keys_of_this_version(tmp_path: Path) -> None:
    """The name and DN keys of an imported group link are computed again, whatever the export held."""
    source = SqliteStateStore(tmp_path / "a.db")
    source.record([save_group(group_link(1, 1, name=" Sales Team ", dn="CN=Sales, OU=Groups,DC=example"))])
    export_state(source, tmp_path / "x.jsonl")
    lines = (tmp_path / "x.jsonl").read_text(encoding="utf-8").splitlines()
    edited = [line.replace('"name_lower": "sales team"', '"name_lower": "stale"') for line in lines]
    assert edited != lines
    (tmp_path / "x.jsonl").write_text("\n".join(edited) + "\n", encoding="utf-8")
    target = SqliteStateStore(tmp_path / "b.db")

    import_state(target, tmp_path / "x.jsonl")

    with target._transaction("look at the keys") as conn:
        keys = conn.execute(text("SELECT name_lower, dn_lower FROM group_links")).all()
    assert [tuple(row) for row in keys] == [("sales team", "cn=sales,ou=groups,dc=example")]
    assert target.get_group_link("group-1") == source.get_group_link("group-1")
    source.close()
    target.close()


def _exported_store(tmp_path: Path) -> SqliteStateStore:
    store = SqliteStateStore.from_url(f"sqlite:///{tmp_path / 'source.db'}")
    fill(store, 3)
    return store


def test_an_export_replaces_a_world_readable_file_with_a_private_one(tmp_path: Path) -> None:
    """A world-readable file already at the path does not keep its permissions: the export
    (which holds the refresh token) is a new file, mode 0600, and nothing else is left behind."""
    target = tmp_path / "backup.jsonl"
    target.write_text("an older export\n")
    target.chmod(0o644)
    store = _exported_store(tmp_path)
    export_state(store, target)
    store.close()
    assert target.stat().st_mode & 0o777 == 0o600
    assert "rotated" in target.read_text() and "an older export" not in target.read_text()
    assert [p.name for p in tmp_path.iterdir() if "backup" in p.name] == ["backup.jsonl"]


def test_an_export_never_writes_through_a_symbolic_link(tmp_path: Path) -> None:
    """A symbolic link at the path (to a file others may read) is replaced by the private
    export; the file it pointed to is untouched."""
    victim = tmp_path / "shared.txt"
    victim.write_text("someone else's file\n")
    victim.chmod(0o644)
    target = tmp_path / "backup.jsonl"
    target.symlink_to(victim)
    store = _exported_store(tmp_path)
    export_state(store, target)
    store.close()
    assert victim.read_text() == "someone else's file\n"
    assert not target.is_symlink() and target.stat().st_mode & 0o777 == 0o600
    assert "rotated" in target.read_text()


def test_a_failed_export_leaves_the_path_as_it_was(tmp_path: Path) -> None:
    """An export that fails half-way (the store fails while rows are written) leaves the file at
    the path untouched and no partial file behind; an unwritable folder is a StateError."""
    target = tmp_path / "backup.jsonl"
    target.write_text("the last good export\n")
    store = _exported_store(tmp_path)

    def failing() -> object:
        yield "links", {"anchor": "a"}
        raise StateError("the database went away")

    store.export_rows = failing  # type: ignore[method-assign]
    with pytest.raises(StateError, match="went away"):
        export_state(store, target)
    assert target.read_text() == "the last good export\n"
    assert [p.name for p in tmp_path.iterdir() if "backup" in p.name] == ["backup.jsonl"]
    with pytest.raises(StateError, match="cannot write the export"):
        export_state(store, tmp_path / "no-such-folder" / "backup.jsonl")
    store.close()
