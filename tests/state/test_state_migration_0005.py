"""Migration 0005 from a real database at revision 0004 (SQLite and PostgreSQL): the bookkeeping
moves from watermark rows into its own tables, the DN keys are recomputed, and the downgrade
gives the earlier version back what it wrote."""

from __future__ import annotations

import json
from contextlib import closing
from datetime import UTC, datetime

from alembic import command
from sqlalchemy import Engine, inspect, text
from structlog.testing import capture_logs

from tests.state.state_helpers import T0
from webex_provisioner.model import ActionKind, Problem, ProblemKind
from webex_provisioner.model.keys import normalize_dn
from webex_provisioner.state import head_revision, open_state_store
from webex_provisioner.state.migrations import alembic_config, current_revision

FEED = "directory.content_sync.cookie"
PROBLEMS = [
    {"kind": "conflict", "anchor": "a2", "dn": "uid=b,dc=x", "email": "b@x", "detail": "taken by w9"},
    {"kind": "invalid", "anchor": "a1", "dn": None, "email": None, "detail": "no e-mail"},
]
GOOD_WATERMARKS = {
    FEED: "rid=000,csn=20240501",
    "cycle.baseline": "digest-1:feed",
    "cycle.retry_anchors": json.dumps(["a3", "a1"]),
    "cycle.open_problems": json.dumps(PROBLEMS),
    "cycle.approved_held": json.dumps([["a1", "delete"], ["a2", "disable"]]),
    "webex.oauth.refresh_token": "rotated-refresh-token",
}
# DN, and its key as revision 0004 computed it (lower case, blanks around , = + removed)
DNS = {
    "plain": ("uid=Plain,ou=People,dc=Example,dc=com", "uid=plain,ou=people,dc=example,dc=com"),
    "spaced": ("uid=Spaced, ou=People, dc=example,dc=com", "uid=spaced,ou=people,dc=example,dc=com"),
    "multi": (
        "uid=jd+cn=Doe\\, John,ou=People,dc=example,dc=com",
        "uid=jd+cn=doe\\,john,ou=people,dc=example,dc=com",
    ),
    "hex": ("cn=Smith\\2C Bob,dc=example,dc=com", "cn=smith\\2c bob,dc=example,dc=com"),
}


def _migrate(engine: Engine, revision: str, *, down: bool = False) -> None:
    config = alembic_config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        (command.downgrade if down else command.upgrade)(config, revision)


def _database_at_0004(engine: Engine, watermarks: dict[str, str]) -> None:
    """A state as the previous version left it: links with its DN keys, bookkeeping in watermarks."""
    _migrate(engine, "0004")
    at = T0.replace(tzinfo=None) if engine.dialect.name == "sqlite" else T0
    with engine.begin() as conn:
        for anchor, (dn, old_key) in DNS.items():
            conn.execute(
                text(
                    "INSERT INTO links (anchor, webex_id, email, email_lower, dn, dn_lower, state, applied, "
                    "fingerprint, created_at, updated_at) VALUES (:anchor, :webex_id, :email, :email, :dn, "
                    ":key, 'active', '{}', 'fp', :t, :t)"
                ),
                {
                    "anchor": anchor,
                    "webex_id": f"w-{anchor}",
                    "email": f"{anchor}@x",
                    "dn": dn,
                    "key": old_key,
                    "t": at,
                },
            )
        for name, value in watermarks.items():
            conn.execute(
                text("INSERT INTO watermarks (name, value) VALUES (:n, :v)"), {"n": name, "v": value}
            )


def _watermarks(engine: Engine) -> dict[str, str]:
    with engine.connect() as conn:
        return dict(conn.execute(text("SELECT name, value FROM watermarks")).all())


def _dn_keys(engine: Engine) -> dict[str, str]:
    with engine.connect() as conn:
        return dict(conn.execute(text("SELECT anchor, dn_lower FROM links")).all())


def test_upgrade_carries_the_bookkeeping_into_its_tables(state_url: str, raw_engine: Engine) -> None:
    """Opening a 0004 database moves the five bookkeeping watermarks into their tables (a refresh
    token with replaces = "" and stored at the upgrade), deletes those rows and keeps the feed's."""
    _database_at_0004(raw_engine, GOOD_WATERMARKS)
    before = datetime.now(UTC)

    with closing(open_state_store(state_url)) as store:
        assert current_revision(raw_engine) == head_revision()
        assert store.baseline() == "digest-1:feed"
        assert store.retry_anchors() == ["a3", "a1"]
        assert store.open_problems() == [
            Problem(ProblemKind.CONFLICT, "a2", "uid=b,dc=x", "b@x", "taken by w9"),
            Problem(ProblemKind.INVALID, "a1", "", None, "no e-mail"),
        ]
        assert store.approvals() == {("a1", ActionKind.DELETE), ("a2", ActionKind.DISABLE)}
        token = store.refresh_token()
        assert token is not None and (token.value, token.replaces) == ("rotated-refresh-token", "")
        assert before <= token.stored_at <= datetime.now(UTC)
        assert store.get_watermark(FEED) == "rid=000,csn=20240501"
        assert store.count_links() == len(DNS)

    assert _watermarks(raw_engine) == {FEED: "rid=000,csn=20240501"}


def test_upgrade_recomputes_the_dn_keys_with_the_one_normalizer(state_url: str, raw_engine: Engine) -> None:
    """Every link's dn_lower becomes normalize_dn(dn), so find_links finds escaped and
    multi-valued DNs that the earlier keys missed."""
    _database_at_0004(raw_engine, {})

    with closing(open_state_store(state_url)) as store:
        assert _dn_keys(raw_engine) == {anchor: normalize_dn(dn) for anchor, (dn, _) in DNS.items()}
        assert [x.anchor for x in store.find_links("cn=Doe\\, John+uid=jd,ou=People,dc=example,dc=com")] == [
            "multi"
        ]
        assert [x.anchor for x in store.find_links("CN=Smith\\, Bob,DC=example,DC=com")] == ["hex"]
        assert [x.anchor for x in store.find_links("uid=spaced,ou=people,dc=example,dc=com")] == ["spaced"]


def test_malformed_bookkeeping_is_skipped_and_nothing_else_is_lost(
    state_url: str, raw_engine: Engine
) -> None:
    """Values that are not what 0004 wrote (bad JSON, a dict for a list, malformed or unknown
    items) are skipped, item by item, and the upgrade goes on with everything else."""
    _database_at_0004(
        raw_engine,
        {
            **GOOD_WATERMARKS,
            "cycle.retry_anchors": '{"a1": true}',
            "cycle.open_problems": '[{"kind": "conflict", "anchor"',
            "cycle.approved_held": json.dumps(
                [["a1", "delete"], ["a2"], 5, ["a3", "teleport"], ["a1", "delete"]]
            ),
        },
    )

    with capture_logs() as logs, closing(open_state_store(state_url)) as store:
        assert (store.retry_anchors(), store.open_problems()) == ([], [])
        assert store.approvals() == {("a1", ActionKind.DELETE)}
        assert store.baseline() == "digest-1:feed"
        token = store.refresh_token()
        assert token is not None and token.value == "rotated-refresh-token"
        assert store.count_links() == len(DNS)

    assert _watermarks(raw_engine) == {FEED: "rid=000,csn=20240501"}
    skipped = [(e["watermark"], e["reason"]) for e in logs if e["event"] == "state.bookkeeping_skipped"]
    assert sorted(name for name, _ in skipped) == [
        "cycle.approved_held",
        "cycle.approved_held",
        "cycle.approved_held",
        "cycle.open_problems",
        "cycle.retry_anchors",
    ]
    assert "rotated-refresh-token" not in repr(logs)


def test_downgrade_gives_the_earlier_version_its_watermarks_and_dn_keys(
    state_url: str, raw_engine: Engine
) -> None:
    """Downgrading to 0004 writes the bookkeeping back as the watermark rows, in the JSON forms
    0004 reads, drops the tables and restores the earlier DN keys; upgrading again carries all
    of it once more."""
    _database_at_0004(raw_engine, GOOD_WATERMARKS)
    open_state_store(state_url).close()

    _migrate(raw_engine, "0004", down=True)

    restored = _watermarks(raw_engine)
    assert {k: v for k, v in restored.items() if not k.startswith("cycle.")} == {
        FEED: "rid=000,csn=20240501",
        "webex.oauth.refresh_token": "rotated-refresh-token",
    }
    assert restored["cycle.baseline"] == "digest-1:feed"
    assert json.loads(restored["cycle.retry_anchors"]) == ["a3", "a1"]
    assert json.loads(restored["cycle.open_problems"]) == [{**PROBLEMS[0]}, {**PROBLEMS[1], "dn": ""}]
    assert sorted(json.loads(restored["cycle.approved_held"])) == [["a1", "delete"], ["a2", "disable"]]
    assert _dn_keys(raw_engine) == {anchor: old_key for anchor, (_, old_key) in DNS.items()}
    tables = set(inspect(raw_engine).get_table_names())
    assert not tables & {"baseline", "retry_anchors", "open_problems", "approvals", "refresh_tokens"}
    assert current_revision(raw_engine) == "0004"

    with closing(open_state_store(state_url)) as store:
        assert store.retry_anchors() == ["a3", "a1"]
        assert store.approvals() == {("a1", ActionKind.DELETE), ("a2", ActionKind.DISABLE)}


def test_empty_bookkeeping_leaves_empty_tables(state_url: str, raw_engine: Engine) -> None:
    """Empty lists and an empty refresh token carry nothing (an empty token is no token)."""
    empty = ("cycle.retry_anchors", "cycle.open_problems", "cycle.approved_held")
    _database_at_0004(raw_engine, {**dict.fromkeys(empty, "[]"), "webex.oauth.refresh_token": ""})

    with closing(open_state_store(state_url)) as store:
        assert (store.retry_anchors(), store.open_problems(), store.approvals()) == ([], [], set())
        assert store.refresh_token() is None

    assert _watermarks(raw_engine) == {}
