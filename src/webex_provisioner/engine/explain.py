"""``users explain``: everything about one user's decision, gathered in one place.

The directory entry as read, whether it is in scope and why, disabled or not, the desired
Webex attributes, the match in Webex, the link and what was last applied, what drifted in Webex
(with ``drift:``, the dry run reads the linked Webex user and compares it), the action the next
cycle would take (from the same planner, as a dry run), the licences (with ``licenses:``) and the
recent audit history.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from webex_provisioner.engine.license_report import UserLicenses, user_licenses
from webex_provisioner.engine.wiring import Engine
from webex_provisioner.errors import ProvisionerError
from webex_provisioner.model import Action, AuditEntry, DirectoryUser, GroupLink, Link, Problem, WebexUser
from webex_provisioner.model.keys import normalize_dn
from webex_provisioner.rules.drift import describe
from webex_provisioner.rules.mapping import Desired, compile_mapping, desired_user


@dataclass
class Explanation:
    key: str
    user: DirectoryUser | None
    desired: Desired | None
    links: list[Link]
    webex: WebexUser | None
    actions: list[Action] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    held: list[Action] = field(default_factory=list)
    history: list[AuditEntry] = field(default_factory=list)
    groups: list[GroupLink] = field(default_factory=list)
    """The pushed groups webex-provisioner made this user a member of."""
    licenses: UserLicenses | None = None
    """With ``licenses:``: the licences wanted (and by which rule), held, recorded, planned."""
    drift: list[str] = field(default_factory=list)
    """What differs in Webex from what was applied, or why it could not be read (``drift:``)."""
    error: str | None = None


def explain(engine: Engine, key: str) -> Explanation:
    """Gather the explanation of ``key`` (e-mail, anchor or DN). Writes nothing."""
    links = engine.store.find_links(key)
    user = engine.directory.find_user(key)
    if user is None and links:
        user = engine.directory.find_user(links[0].anchor)
    if user is not None and not links:
        links = engine.store.find_links(user.anchor)
    desired = None
    if user is not None:
        mapping = compile_mapping(engine.config.mapping)
        manager_ids = {normalize_dn(link.dn): link.webex_id for link in engine.store.links() if link.dn}
        desired = desired_user(user, mapping, manager_ids=manager_ids)
    email = (desired.email if desired and desired.email else None) or (links[0].email if links else None)
    webex = engine.webex.find_by_email(email) if email else None
    result = Explanation(key, user, desired, links, webex)
    anchors = {link.anchor for link in links} | ({user.anchor} if user else set())
    result.held = [a for a in engine.store.held() if a.anchor in anchors]
    for anchor in sorted(anchors):
        result.history.extend(engine.store.audit(anchor=anchor, limit=20))
        result.groups.extend(engine.store.groups_of(anchor))
    if not anchors:
        result.error = f"no directory user and no link matches {key!r}"
        return result
    if engine.config.licenses is not None:
        webex_id = links[0].webex_id if links else webex.id if webex else None
        result.licenses = user_licenses(engine.config, engine.webex, engine.store, user, webex_id, anchors)
    try:
        report = engine.cycle().run(apply=False, user=key)
    except ProvisionerError as exc:
        result.error = exc.message
        return result
    if report.error:
        result.error = report.error
    plan = report.plan
    result.actions = [a for a in (*plan.actions, *plan.held) if a.anchor in anchors]
    mine = [p for p in plan.problems if p.anchor in anchors]
    result.problems = [p for p in mine if p.resource == "user"]
    if result.licenses is not None:
        result.licenses.actions = [a for a in (*plan.licenses, *plan.held_licenses) if a.anchor in anchors]
        result.licenses.problems = [p for p in mine if p.resource == "license"]
    if report.drift is not None:
        by_anchor = {link.anchor: link for link in links}
        result.drift = [*report.drift.warnings] + [
            describe(drift, by_anchor.get(anchor))
            for anchor, drift in sorted(report.drift.users.items())
            if anchor in anchors
        ]
    return result
