"""``SqlStateStore``: the whole ``StateStore`` port on SQLAlchemy Core, for SQLite and PostgreSQL.

The adapters (``SqliteStateStore``, ``PostgresStateStore``) only build the engine; everything the
port promises is written once in portable SQL (``INSERT ... ON CONFLICT`` exists in both), one
module per concern:

* ``base``: the engine, transactions that translate errors, migrating when a store opens;
* ``links``: the links of users (``LinkStore``);
* ``groups``: the links of groups with their managed members, and held group actions;
* ``licenses``: the grants of linked users, the licence catalogue, the refusals not to ask again
  and held licence actions (``LicenseStore``);
* ``records``: ``record``, writing audit entries with the user and group links and the grants
  they change;
* ``cycle_log``: the cycles and the audit trail (``CycleLog``);
* ``lease``: the cycle lock and the announced instances (``Lease``);
* ``bookkeeping``: watermarks, the baseline, retries, open problems, held actions, approvals and
  the rotated refresh token (``Bookkeeping``);
* ``notifications``: the conditions operators were told about and the notices not delivered yet
  (``NotificationBookkeeping``);
* ``drift``: the fingerprints of what the drift checks verified (``DriftBookkeeping``);
* ``rows``: whole tables out and in, for ``state export`` / ``state import``.
"""

from __future__ import annotations

from webex_provisioner.state.bookkeeping import SqlBookkeeping
from webex_provisioner.state.cycle_log import SqlCycleLog
from webex_provisioner.state.drift import SqlDriftBookkeeping
from webex_provisioner.state.groups import SqlGroups
from webex_provisioner.state.lease import CYCLE_LOCK, SqlLease
from webex_provisioner.state.licenses import SqlLicenses
from webex_provisioner.state.links import SqlLinks
from webex_provisioner.state.notifications import SqlNotifications
from webex_provisioner.state.records import SqlRecords
from webex_provisioner.state.rows import TRANSFER_TABLES, SqlRows

__all__ = ["CYCLE_LOCK", "TRANSFER_TABLES", "SqlStateStore"]


class SqlStateStore(
    SqlLinks,
    SqlGroups,
    SqlLicenses,
    SqlRecords,
    SqlCycleLog,
    SqlLease,
    SqlBookkeeping,
    SqlNotifications,
    SqlDriftBookkeeping,
    SqlRows,
):
    """Links of users and groups, licence grants, cycles, the audit trail, the lease, the
    bookkeeping, the notifications' bookkeeping and what the drift checks verified, in SQL.

    Opening a store migrates its schema. Datetimes come back timezone-aware in UTC; a naive one is
    refused (``StateError``), writing nothing.
    """
