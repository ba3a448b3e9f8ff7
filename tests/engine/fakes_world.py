"""A cycle wired to the in-memory fakes of every port: the directory, Webex and the state."""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from webex_provisioner.config import Config, parse_config
from webex_provisioner.engine.cycle import Cycle
from webex_provisioner.engine.report import CycleReport
from webex_provisioner.model import Action, ActionKind, DirectoryUser, Reason
from webex_provisioner.testing.directory import InMemoryChangeFeed, InMemoryDirectory, directory_user
from webex_provisioner.testing.state import InMemoryStateStore
from webex_provisioner.testing.webex import InMemoryWebex

ORG_ID = "0ae87ade-8c8a-4952-af08-318798958d0c"
BASE = {
    "directory": {"url": "ldap://127.0.0.1:389", "base_dn": "dc=example,dc=com", "read_process": False},
    "webex": {"org_id": ORG_ID, "url": "http://127.0.0.1:1", "token": "t", "concurrency": 4},
    "logging": {"audit_log": None},
    "state": "sqlite://",
}


def person(anchor: str, **overrides: Any) -> DirectoryUser:
    """A directory user of the fake directory: ``<anchor>@example.com``, given and family name."""
    values: dict[str, Any] = {
        "givenName": anchor.title(),
        "sn": "Example",
        "displayName": f"{anchor.title()} Example",
    }
    email = overrides.pop("email", f"{anchor}@example.com")
    values.update(overrides)
    return directory_user(anchor, email, **values)


def create_action(i: int, domain: str = "bulk.example.com") -> Action:
    """The ``i``-th create of a batch: ``user0001@bulk.example.com``, anchor ``anchor-0001``."""
    email = f"user{i:04d}@{domain}"
    desired = {"email": email, "firstName": "Bulk", "lastName": f"User {i}", "externalId": f"anchor-{i:04d}"}
    return Action(
        ActionKind.CREATE,
        Reason.ENTERED_SCOPE,
        f"anchor-{i:04d}",
        email,
        dn=f"uid=u{i},dc=x",
        desired=desired,
    )


def merge(base: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    result = copy.deepcopy(dict(base))
    for key, value in overrides.items():
        if isinstance(value, Mapping) and isinstance(result.get(key), dict):
            result[key] = merge(result[key], value)
        else:
            result[key] = copy.deepcopy(value)
    return result


class Clock:
    """A clock the test moves."""

    def __init__(self) -> None:
        self.now = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


class FakeWorld:
    """The three ports in memory, a configuration, and cycles run the way the CLI runs them."""

    def __init__(self, *users: DirectoryUser, **config: Any) -> None:
        self.directory = InMemoryDirectory(users)
        self.webex = InMemoryWebex()
        self.store = InMemoryStateStore()
        self.feed = InMemoryChangeFeed(self.directory)
        self.clock = Clock()
        self.raw = merge(BASE, config)

    def configure(self, **overrides: Any) -> None:
        self.raw = merge(self.raw, overrides)

    @property
    def config(self) -> Config:
        return parse_config(self.raw, {})

    def cycle(self) -> Cycle:
        return Cycle(
            self.config, directory=self.directory, webex=self.webex, store=self.store, clock=self.clock
        )

    def sync(self, *, feed: bool = False, **kwargs: Any) -> CycleReport:
        return self.cycle().run(apply=True, feed=self.feed if feed else None, **kwargs)

    def plan(self, **kwargs: Any) -> CycleReport:
        return self.cycle().run(apply=False, **kwargs)

    def actions(self, report: CycleReport) -> list[tuple[str, str, str]]:
        """(action, reason, e-mail) of every action the report planned."""
        return [(a.kind.value, a.reason.value, a.email) for a in report.plan.all_actions]

    def emails(self) -> set[str]:
        return {u.email for u in self.webex.users()}

    def links(self) -> dict[str, Any]:
        return {link.anchor: link for link in self.store.links()}


def stop_after(count: int) -> Callable[[], bool]:
    """A ``should_stop`` that says yes after being asked ``count`` times."""
    asked = 0

    def should_stop() -> bool:
        nonlocal asked
        asked += 1
        return asked > count

    return should_stop
