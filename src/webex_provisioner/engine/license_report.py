"""What the commands say about licences (docs/licenses.md): the capacity table of ``licenses``,
the rules ``check`` verifies against the organization's licences, and one user's licences for
``users explain``. Reads only; the CLI renders.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from webex_provisioner.config import Config
from webex_provisioner.engine.license_cycle import rules_digest
from webex_provisioner.errors import ProvisionerError, WebexError
from webex_provisioner.model import DirectoryUser, Grant, License, LicenseAction, Problem
from webex_provisioner.ports import StateStore, WebexLicenses
from webex_provisioner.rules.licenses import RuleSet, resolve_rules

NOT_SUPPORTED = (
    "the Webex client in use cannot read licences (it needs the licences API: "
    "webex.url must be Webex or the emulator)"
)


def licenses_client(webex: object) -> WebexLicenses:
    """``webex`` as a licences client, or a clear error."""
    if not isinstance(webex, WebexLicenses):
        raise ProvisionerError(NOT_SUPPORTED)
    return webex


def resolved_rules(config: Config, catalog: Sequence[License]) -> RuleSet | None:
    """The ``licenses:`` rules against ``catalog`` (``None`` without ``licenses:``)."""
    if config.licenses is None:
        return None
    return resolve_rules(config.licenses.specs(), catalog, rules_digest(config))


# -- the capacity table -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LicenseLine:
    """One licence of the organization: its units, what the state records of it, the rules that
    assign it."""

    license: License
    assigned: int = 0
    held_before: int = 0
    rules: tuple[int, ...] = ()


@dataclass
class LicenseOverview:
    lines: list[LicenseLine]
    problems: tuple[str, ...] = ()
    configured: bool = False


def license_overview(config: Config, webex: WebexLicenses, store: StateStore) -> LicenseOverview:
    """Every licence of the organization (read now), with the grants the state records and the
    rules naming it; the rules' problems."""
    catalog = sorted(webex.list_licenses(), key=lambda licence: licence.name.casefold())
    ours: Counter[str] = Counter()
    before: Counter[str] = Counter()
    for grant in store.grants():
        (ours if grant.ours else before)[grant.license_id] += 1
    rules = resolved_rules(config, catalog)
    naming: dict[str, list[int]] = {}
    for rule in rules.rules if rules is not None else ():
        for license_id in rule.license_ids:
            naming.setdefault(license_id, []).append(rule.spec.number)
    lines = [
        LicenseLine(licence, ours[licence.id], before[licence.id], tuple(naming.get(licence.id, ())))
        for licence in catalog
    ]
    return LicenseOverview(lines, rules.problems if rules is not None else (), rules is not None)


# -- check ------------------------------------------------------------------------------------------


def check_licenses(config: Config, webex: object, labels: Mapping[str, int], users: int) -> dict[str, object]:
    """What ``check`` says of ``licenses:``: the rules against the organization's licences, and
    how many in-scope, enabled users each rule selects (``labels`` counted from the read)."""
    assert config.licenses is not None
    try:
        catalog = licenses_client(webex).list_licenses()
    except ProvisionerError as exc:
        return {"error": exc.message}
    rules = resolved_rules(config, catalog)
    assert rules is not None
    selected = [
        {
            "rule": rule.spec.number,
            "when": rule.spec.description,
            "users": users if rule.spec.label is None else labels.get(rule.spec.label, 0),
            "assign": [rules.names.get(i, i) for i in rule.license_ids],
        }
        for rule in rules.rules
    ]
    result: dict[str, object] = {"licenses": len(catalog), "rules": selected}
    if rules.problems:
        result["problems"] = list(rules.problems)
    return result


# -- one user ---------------------------------------------------------------------------------------


@dataclass
class UserLicenses:
    """One user's licences for ``users explain``: wanted (with the rule), held in Webex now,
    recorded by the state (ours or not), refused, and what the next cycle would do."""

    wanted: list[tuple[str, str]] = field(default_factory=list)
    held: list[str] | None = None
    recorded: list[tuple[str, bool]] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)
    actions: list[LicenseAction] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    error: str | None = None


def user_licenses(
    config: Config,
    webex: object,
    store: StateStore,
    user: DirectoryUser | None,
    webex_id: str | None,
    anchors: set[str],
) -> UserLicenses:
    """What ``users explain`` says of one user's licences (without the next cycle's actions,
    which the caller adds from its dry run)."""
    view = UserLicenses()
    try:
        client = licenses_client(webex)
        catalog = client.list_licenses()
        if webex_id is not None:
            names = {licence.id: licence.name for licence in catalog}
            view.held = sorted(names.get(i, i) for i in client.user_licenses(webex_id))
    except WebexError as exc:
        view.error = exc.message
        catalog = store.license_catalog()
    except ProvisionerError as exc:
        view.error = exc.message
        return view
    names = {licence.id: licence.name for licence in catalog}
    rules = resolved_rules(config, catalog)
    if rules is not None and user is not None and user.in_scope and not user.disabled:
        view.wanted = [(names.get(i, i), why) for i, why in rules.wanted(user.labels).items()]
    grants: list[Grant] = [g for anchor in sorted(anchors) for g in store.grants_of(anchor)]
    view.recorded = [(names.get(g.license_id, g.license_id), g.ours) for g in grants]
    view.refused = [
        (names.get(r.license_id, r.license_id), r.detail)
        for r in store.license_refusals()
        if r.anchor in anchors
    ]
    return view
