"""A throwaway slapd and the sample company, for tests, ``make demo`` and benchmarks.

Not used by the engine itself; it lives in the package so demos and benchmarks can import it.
"""

from webex_provisioner.sandbox.company import (
    TARGETED_GROUP,
    Company,
    Group,
    Person,
    company_ldif,
    example_corp,
    synthetic_groups_ldif,
    synthetic_ldif,
    write_ldif,
)
from webex_provisioner.sandbox.ldiftext import SERVICE_DN, SERVICE_PASSWORD, SUFFIX, base_ldif
from webex_provisioner.sandbox.slapd import SandboxError, ThrowawaySlapd

__all__ = [
    "SERVICE_DN",
    "SERVICE_PASSWORD",
    "SUFFIX",
    "TARGETED_GROUP",
    "Company",
    "Group",
    "Person",
    "SandboxError",
    "ThrowawaySlapd",
    "base_ldif",
    "company_ldif",
    "example_corp",
    "synthetic_groups_ldif",
    "synthetic_ldif",
    "write_ldif",
]
