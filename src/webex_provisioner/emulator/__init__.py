"""A local, Webex-compatible server for tests, demos and trying the connector: SCIM 2.0
users, groups and Bulk, and the licence, People and Messages APIs.

``EmulatorServer`` runs it in a background thread on a free loopback port; ``serve`` runs it in
the foreground for ``webex-provisioner emulator``. See docs/emulator.md.
"""

from webex_provisioner.emulator.app import create_app
from webex_provisioner.emulator.core import Emulator, EmulatorConfig
from webex_provisioner.emulator.errors import ScimError
from webex_provisioner.emulator.faults import Faults
from webex_provisioner.emulator.persistence import DataFileError
from webex_provisioner.emulator.server import EmulatorServer, serve
from webex_provisioner.emulator.store import InMemoryUserStore, UserStore

__all__ = [
    "DataFileError",
    "Emulator",
    "EmulatorConfig",
    "EmulatorServer",
    "Faults",
    "InMemoryUserStore",
    "ScimError",
    "UserStore",
    "create_app",
    "serve",
]
