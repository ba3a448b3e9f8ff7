"""Contract suites of the ports: pytest classes checking, through a port only, the rules its
docstrings state. A test module subclasses one (``class TestMine(WebexClientContract)``) and
provides the fixture the contract names (a client on a fresh organization, a directory, a
store, ...); every fake and every adapter runs the same suite.

* ``contracts.directory``: ``DirectorySourceContract``, ``ChangeFeedContract``,
  ``GroupSourceContract``;
* ``contracts.webex``: ``WebexClientContract``, ``BulkCreatorContract``, ``WebexGroupsContract``;
* ``contracts.licenses``: ``WebexLicensesContract``;
* ``contracts.state``: ``StateStoreContract``.
"""
