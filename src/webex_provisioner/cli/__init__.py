"""The command line: a thin layer over the library (docs/cli.md).

One group (``base``) and the commands in modules by concern; importing them registers them.
Exit codes: 0 done; 1 failed; 2 usage or configuration error; 3 done but some users failed;
4 done but actions held by a guard.
"""

from webex_provisioner.cli import admin, cycles, groups, licenses, setup, status, users
from webex_provisioner.cli.base import cli

__all__ = ["admin", "cli", "cycles", "groups", "licenses", "main", "setup", "status", "users"]


def main() -> None:
    cli(prog_name="webex-provisioner")
