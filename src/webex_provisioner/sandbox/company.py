"""Example Corp: the sample directory of the tests, ``make demo`` and the docs.

``example_corp()`` describes it (people, groups, who is in scope and why); ``company_ldif()``
renders it for ``ThrowawaySlapd.load_ldif``. The targeted group is
``cn=webex-users,ou=groups,dc=example,dc=com``. What it contains, on purpose:

* 64 people under ``ou=people`` with realistic names (some non-ASCII, one with an apostrophe),
  mail, givenName, sn, displayName, title, departmentNumber, telephoneNumber, employeeNumber,
  mobile (every third person) and manager (everyone but the CEO);
* ``webex-users`` (groupOfNames) holds most people directly, plus the nested groups
  ``engineering`` (groupOfNames) and ``sales`` (groupOfUniqueNames) and one dangling member DN;
  ``engineering`` holds ``sre``, and ``sre`` holds ``engineering`` back: a harmless cycle;
  Priya Sharma is in ``webex-users`` directly *and* through ``engineering``;
* 5 people out of scope: two contractors in the non-targeted ``contractors`` group and three
  in no group at all;
* 3 disabled people (``pwdAccountLockedTime`` set; needs the ppolicy overlay), all in scope;
* one in-scope person without mail (``amensah``) and one with an upper-case mail
  (``mgarcia``: ``Maria.GARCIA@Example.com``).

``synthetic_ldif(n)`` streams N generated users (and a group of all of them) for benchmarks;
``synthetic_groups_ldif`` many groups of them, some nested.
"""

from __future__ import annotations

import unicodedata
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from webex_provisioner.sandbox.ldiftext import SUFFIX, base_ldif, entry

TARGETED_GROUP = f"cn=webex-users,ou=groups,{SUFFIX}"
LOCKED = "000001010000Z"  # ppolicy: locked until an administrator unlocks
_NAMESPACE = uuid.UUID("6f1c5b5e-5d0e-4a43-9c7e-3b2f1a0c9d11")

# uid, givenName, sn, title, departmentNumber, manager uid
_PEOPLE: tuple[tuple[str, str, str, str, str, str | None], ...] = (
    ("ahart", "Amelia", "Hart", "Chief Executive Officer", "01", None),
    ("gmoore", "Grace", "Moore", "Executive Assistant", "01", "ahart"),
    ("rchen", "Rachel", "Chen", "VP Engineering", "42", "ahart"),
    ("jnakamura", "Jun", "Nakamura", "Senior Software Engineer", "42", "rchen"),
    ("psharma", "Priya", "Sharma", "Staff Engineer", "42", "rchen"),
    ("tmueller", "Thomas", "Müller", "Software Engineer", "42", "rchen"),
    ("lrossi", "Luca", "Rossi", "Software Engineer", "42", "rchen"),
    ("aokonkwo", "Adaeze", "Okonkwo", "Senior Software Engineer", "42", "rchen"),
    ("dkowalski", "Dariusz", "Kowalski", "Software Engineer", "42", "rchen"),
    ("enovak", "Eva", "Novak", "Engineering Manager", "42", "rchen"),
    ("shansen", "Sofie", "Hansen", "Software Engineer", "42", "enovak"),
    ("mdubois", "Mathieu", "Dubois", "QA Engineer", "42", "enovak"),
    ("kpatel", "Kiran", "Patel", "Software Engineer", "42", "enovak"),
    ("yzhang", "Yue", "Zhang", "Data Engineer", "42", "enovak"),
    ("oadeyemi", "Olumide", "Adeyemi", "Security Engineer", "42", "rchen"),
    ("hsilva", "Helena", "Silva", "Product Designer", "42", "rchen"),
    ("ofarouk", "Omar", "Farouk", "Software Engineer", "42", "enovak"),
    ("cwalsh", "Ciara", "Walsh", "Technical Writer", "42", "rchen"),
    ("nbjork", "Nils", "Björk", "SRE Lead", "43", "rchen"),
    ("awong", "Alice", "Wong", "Site Reliability Engineer", "43", "nbjork"),
    ("jfernandez", "Javier", "Fernández", "Site Reliability Engineer", "43", "nbjork"),
    ("ikarlsson", "Ingrid", "Karlsson", "Site Reliability Engineer", "43", "nbjork"),
    ("mobrien", "Michael", "O'Brien", "VP Sales", "10", "ahart"),
    ("sjohnson", "Sarah", "Johnson", "Account Executive", "10", "mobrien"),
    ("dlee", "David", "Lee", "Account Executive", "10", "mobrien"),
    ("cmartin", "Claire", "Martin", "Sales Engineer", "10", "mobrien"),
    ("rgupta", "Rohan", "Gupta", "Account Executive", "10", "mobrien"),
    ("ebrown", "Emily", "Brown", "Sales Development Representative", "10", "mobrien"),
    ("tnguyen", "Thanh", "Nguyen", "Account Manager", "10", "mobrien"),
    ("lschmidt", "Lena", "Schmidt", "Account Executive", "10", "mobrien"),
    ("pmoreau", "Pierre", "Moreau", "Sales Operations Analyst", "10", "mobrien"),
    ("mjensen", "Mette", "Jensen", "Account Executive", "10", "mobrien"),
    ("mgarcia", "Maria", "Garcia", "Director of Marketing", "20", "ahart"),
    ("jwilliams", "James", "Williams", "Content Strategist", "20", "mgarcia"),
    ("akim", "Ava", "Kim", "Product Marketing Manager", "20", "mgarcia"),
    ("ncosta", "Nuno", "Costa", "Marketing Analyst", "20", "mgarcia"),
    ("zmorris", "Zoe", "Morris", "Events Manager", "20", "mgarcia"),
    ("hyilmaz", "Hakan", "Y\u0131lmaz", "Graphic Designer", "20", "mgarcia"),
    ("bokafor", "Benjamin", "Okafor", "Chief Financial Officer", "30", "ahart"),
    ("lwalker", "Laura", "Walker", "Controller", "30", "bokafor"),
    ("vpetrov", "Viktor", "Petrov", "Accountant", "30", "lwalker"),
    ("gtanaka", "Gen", "Tanaka", "Financial Analyst", "30", "bokafor"),
    ("rmurphy", "Rose", "Murphy", "Payroll Specialist", "30", "lwalker"),
    ("kandersson", "Karin", "Andersson", "Head of Customer Support", "50", "ahart"),
    ("jdavis", "Jamal", "Davis", "Support Engineer", "50", "kandersson"),
    ("mrossi", "Marco", "Rossi", "Support Engineer", "50", "kandersson"),
    ("ylevi", "Yael", "Levi", "Support Team Lead", "50", "kandersson"),
    ("cobi", "Chidi", "Obi", "Support Engineer", "50", "ylevi"),
    ("fahmed", "Fatima", "Ahmed", "Support Engineer", "50", "ylevi"),
    ("sbrennan", "Sean", "Brennan", "Support Engineer", "50", "ylevi"),
    ("wchang", "Wei", "Chang", "Support Engineer", "50", "ylevi"),
    ("tbakker", "Tim", "Bakker", "Support Engineer", "50", "ylevi"),
    ("ptaylor", "Patricia", "Taylor", "Head of People", "60", "ahart"),
    ("ejones", "Ethan", "Jones", "Recruiter", "60", "ptaylor"),
    ("amensah", "Abena", "Mensah", "People Partner", "60", "ptaylor"),
    ("lfischer", "Lukas", "Fischer", "Recruiter", "60", "ptaylor"),
    ("dcohen", "Daniel", "Cohen", "General Counsel", "70", "ahart"),
    ("iwright", "Isabel", "Wright", "Corporate Counsel", "70", "dcohen"),
    ("rsato", "Ren", "Sato", "Paralegal", "70", "dcohen"),
    ("bwhite", "Brian", "White", "Contractor, Network Cabling", "99", "kandersson"),
    ("kryan", "Kelly", "Ryan", "Contractor, Facilities", "99", "kandersson"),
    ("tnewman", "Tomás", "Newman", "Software Engineer (starts next month)", "42", "rchen"),
    ("qfoster", "Quinn", "Foster", "Intern", "20", "mgarcia"),
    ("lpark", "Leah", "Park", "Accountant (on extended leave)", "30", "lwalker"),
)

DEPARTMENTS = {
    "01": "Executive",
    "10": "Sales",
    "20": "Marketing",
    "30": "Finance",
    "42": "Engineering",
    "43": "Site Reliability",
    "50": "Customer Support",
    "60": "People",
    "70": "Legal",
    "99": "Contractors",
}
DISABLED = frozenset({"lrossi", "ebrown", "rmurphy"})
WITHOUT_MAIL = "amensah"
UPPER_CASE_MAIL = ("mgarcia", "Maria.GARCIA@Example.com")
DANGLING_MEMBER = f"uid=former.employee,ou=people,{SUFFIX}"
_DIRECT_DEPARTMENTS = frozenset({"01", "20", "30", "50", "60", "70"})
_NOT_IN_GROUPS = frozenset({"tnewman", "qfoster", "lpark"})
_ASCII_FOLD = str.maketrans({"\u0131": "i", "ø": "o", "ß": "ss", "'": ""})


def _mail_local(given: str, sn: str) -> str:
    text = f"{given}.{sn}".lower().translate(_ASCII_FOLD)
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")


@dataclass(frozen=True, slots=True)
class Person:
    """One directory user of Example Corp."""

    uid: str
    given_name: str
    sn: str
    title: str
    department: str
    employee_number: str
    telephone: str
    mobile: str | None
    mail: str | None
    manager: str | None  # a uid
    disabled: bool
    suffix: str = SUFFIX

    @property
    def dn(self) -> str:
        return f"uid={self.uid},ou=people,{self.suffix}"

    @property
    def display_name(self) -> str:
        return f"{self.given_name} {self.sn}"

    @property
    def entry_uuid(self) -> str:
        """The entryUUID the LDIF gives this person: deterministic, so tests know the anchor."""
        return str(uuid.uuid5(_NAMESPACE, self.dn))

    def attributes(self) -> list[tuple[str, str]]:
        attrs = [
            ("objectClass", "inetOrgPerson"),
            ("uid", self.uid),
            ("cn", self.display_name),
            ("givenName", self.given_name),
            ("sn", self.sn),
            ("displayName", self.display_name),
            ("title", self.title),
            ("departmentNumber", self.department),
            ("ou", DEPARTMENTS[self.department]),
            ("employeeNumber", self.employee_number),
            ("telephoneNumber", self.telephone),
        ]
        if self.mobile:
            attrs.append(("mobile", self.mobile))
        if self.mail:
            attrs.append(("mail", self.mail))
        if self.manager:
            attrs.append(("manager", f"uid={self.manager},ou=people,{self.suffix}"))
        if self.disabled:
            attrs.append(("pwdAccountLockedTime", LOCKED))
        return attrs


@dataclass(frozen=True, slots=True)
class Group:
    """A static group: ``groupOfNames`` (``member``) or ``groupOfUniqueNames`` (``uniqueMember``)."""

    cn: str
    description: str
    members: tuple[str, ...]  # DNs
    object_class: str = "groupOfNames"
    suffix: str = SUFFIX

    @property
    def dn(self) -> str:
        return f"cn={self.cn},ou=groups,{self.suffix}"

    @property
    def member_attribute(self) -> str:
        return "uniqueMember" if self.object_class == "groupOfUniqueNames" else "member"

    def attributes(self) -> list[tuple[str, str]]:
        attrs = [("objectClass", self.object_class), ("cn", self.cn), ("description", self.description)]
        return attrs + [(self.member_attribute, dn) for dn in self.members]


@dataclass(frozen=True)
class Company:
    """Example Corp, described: what the LDIF holds and what a correct reader must conclude."""

    people: tuple[Person, ...]
    groups: tuple[Group, ...]
    suffix: str = SUFFIX
    targeted_group: str = TARGETED_GROUP
    _by_uid: dict[str, Person] = field(default_factory=dict, repr=False, compare=False)

    def person(self, uid: str) -> Person:
        if not self._by_uid:
            self._by_uid.update((p.uid, p) for p in self.people)
        return self._by_uid[uid]

    def group(self, cn: str) -> Group:
        return next(g for g in self.groups if g.cn == cn)

    @cached_property
    def in_scope(self) -> frozenset[str]:
        """uids of the people in ``webex-users`` directly or through nested groups."""
        return frozenset(p.uid for p in self.people if p.uid not in self.out_of_scope)

    @cached_property
    def out_of_scope(self) -> frozenset[str]:
        return frozenset({"bwhite", "kryan"} | _NOT_IN_GROUPS)

    @cached_property
    def disabled(self) -> frozenset[str]:
        return DISABLED

    def ldif(self, *, include_base: bool = True, uuids: bool = True) -> str:
        """The LDIF of the whole company.

        ``uuids`` writes each person's deterministic ``entryUUID`` (fine for ``slapadd``; slapd
        refuses it over LDAP, so pass ``uuids=False`` for ``ThrowawaySlapd.add``).
        """
        parts = [base_ldif(self.suffix)] if include_base else []
        for person in self.people:
            extra = [("entryUUID", person.entry_uuid)] if uuids else []
            parts.append(entry(person.dn, person.attributes() + extra))
        parts += [entry(group.dn, group.attributes()) for group in self.groups]
        return "".join(parts)


def example_corp(suffix: str = SUFFIX) -> Company:
    """The structured description of Example Corp (see the module docstring)."""
    people = []
    for i, (uid, given, sn, title, department, manager) in enumerate(_PEOPLE):
        mail: str | None = f"{_mail_local(given, sn)}@example.com"
        if uid == WITHOUT_MAIL:
            mail = None
        elif uid == UPPER_CASE_MAIL[0]:
            mail = UPPER_CASE_MAIL[1]
        people.append(
            Person(
                uid=uid,
                given_name=given,
                sn=sn,
                title=title,
                department=department,
                employee_number=f"E{1001 + i}",
                telephone=f"+1 415 555 {1001 + i:04d}",
                mobile=f"+1 415 555 {2001 + i:04d}" if i % 3 == 0 else None,
                mail=mail,
                manager=manager,
                disabled=uid in DISABLED,
                suffix=suffix,
            )
        )

    def dns(*departments: str) -> tuple[str, ...]:
        return tuple(p.dn for p in people if p.department in departments and p.uid not in _NOT_IN_GROUPS)

    groups_dn = f"ou=groups,{suffix}"
    direct = tuple(
        p.dn for p in people if p.department in _DIRECT_DEPARTMENTS and p.uid not in _NOT_IN_GROUPS
    )
    priya = f"uid=psharma,ou=people,{suffix}"
    groups = (
        Group(
            "webex-users",
            "Everyone who gets a Webex account",
            (
                *direct,
                priya,
                f"cn=engineering,{groups_dn}",
                f"cn=sales,{groups_dn}",
                DANGLING_MEMBER.replace(SUFFIX, suffix),
            ),
            suffix=suffix,
        ),
        Group(
            "engineering", "Engineering (includes SRE)", (*dns("42"), f"cn=sre,{groups_dn}"), suffix=suffix
        ),
        Group(
            "sre",
            "Site reliability; lists engineering back",
            (*dns("43"), f"cn=engineering,{groups_dn}"),
            suffix=suffix,
        ),
        Group("sales", "Sales", dns("10"), object_class="groupOfUniqueNames", suffix=suffix),
        Group("contractors", "External contractors (not targeted)", dns("99"), suffix=suffix),
    )
    return Company(people=tuple(people), groups=groups, suffix=suffix)


def company_ldif(*, include_base: bool = True, uuids: bool = True) -> str:
    """The LDIF of Example Corp (``example_corp().ldif(...)``)."""
    return example_corp().ldif(include_base=include_base, uuids=uuids)


_GIVEN = (
    "Olivia",
    "Liam",
    "Emma",
    "Noah",
    "Amara",
    "Mateo",
    "Sofia",
    "Arjun",
    "Mei",
    "Lucas",
    "Chloe",
    "Kwame",
)
_FAMILY = (
    "Smith",
    "Garcia",
    "Chen",
    "Okafor",
    "Novak",
    "Patel",
    "Silva",
    "Kim",
    "Larsen",
    "Haddad",
    "Moreau",
)


def synthetic_ldif(
    n: int,
    *,
    group: bool = True,
    group_cn: str = "webex-users",
    include_base: bool = True,
    disabled_every: int = 0,
    suffix: str = SUFFIX,
    chunk: int = 2000,
) -> Iterator[str]:
    """Stream the LDIF of ``n`` generated users (``uid=user000000,ou=people,...``) in chunks.

    With ``group``, a ``groupOfNames`` ``cn=<group_cn>,ou=groups,...`` lists all of them. Every
    ``disabled_every``-th user (0: none) is locked with ``pwdAccountLockedTime``. Each user has a
    deterministic entryUUID ``00000000-0000-4000-8000-<12-digit index>``. Pass the iterator to
    ``ThrowawaySlapd.load_ldif`` or write it with ``write_ldif``.
    """
    if include_base:
        yield base_ldif(suffix)
    people = f"ou=people,{suffix}"
    buffer: list[str] = []
    for i in range(n):
        uid = f"user{i:06d}"
        given, family = _GIVEN[i % len(_GIVEN)], _FAMILY[(i // len(_GIVEN)) % len(_FAMILY)]
        locked = f"pwdAccountLockedTime: {LOCKED}\n" if disabled_every and i % disabled_every == 0 else ""
        buffer.append(
            f"dn: uid={uid},{people}\nobjectClass: inetOrgPerson\nuid: {uid}\n"
            f"cn: {given} {family} {i}\ngivenName: {given}\nsn: {family}\ndisplayName: {given} {family}\n"
            f"mail: {uid}@example.com\ntitle: Engineer\ndepartmentNumber: D{i % 50}\n"
            f"employeeNumber: {i}\ntelephoneNumber: +1 555 {i:07d}\n"
            f"entryUUID: 00000000-0000-4000-8000-{i:012d}\n{locked}\n"
        )
        if len(buffer) >= chunk:
            yield "".join(buffer)
            buffer.clear()
    if buffer:
        yield "".join(buffer)
    if group and n:
        yield f"dn: cn={group_cn},ou=groups,{suffix}\nobjectClass: groupOfNames\ncn: {group_cn}\n"
        for start in range(0, n, chunk * 10):
            yield "".join(
                f"member: uid=user{i:06d},{people}\n" for i in range(start, min(n, start + chunk * 10))
            )
        yield "\n"


def synthetic_groups_ldif(
    n: int, members: int, users: int, *, nest_every: int = 10, suffix: str = SUFFIX
) -> Iterator[str]:
    """Stream the LDIF of ``n`` groups ``cn=team0000,ou=groups,...`` (groupOfNames) for the users
    of ``synthetic_ldif(users)``: group ``g`` lists ``members`` users from user ``g * members``
    on (wrapping around), and every ``nest_every``-th group (0: none) also lists the next group
    as a nested group. Load it with ``synthetic_ldif(users, group=False)``."""
    people, groups = f"ou=people,{suffix}", f"ou=groups,{suffix}"
    for g in range(n):
        lines = [f"dn: cn=team{g:04d},{groups}\nobjectClass: groupOfNames\ncn: team{g:04d}\n"]
        lines += [f"member: uid=user{(g * members + i) % users:06d},{people}\n" for i in range(members)]
        if nest_every and g % nest_every == 0 and g + 1 < n:
            lines.append(f"member: cn=team{g + 1:04d},{groups}\n")
        yield "".join(lines) + "\n"


def write_ldif(path: str | Path, chunks: Iterable[str]) -> Path:
    """Write streamed LDIF (e.g. ``synthetic_ldif(100_000)``: about 30 MB, under a second) to ``path``."""
    target = Path(path)
    with target.open("w", encoding="utf-8") as out:
        for chunk in chunks:
            out.write(chunk)
    return target
