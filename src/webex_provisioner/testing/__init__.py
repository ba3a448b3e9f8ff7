"""What ``webex_provisioner.testing`` ships: an in-memory fake of each port and the port's
contract suite, for the project's own tests and for anyone writing an adapter or extending the
engine.

* Fakes hold their data in memory, keep every rule their port states, and let a test script
  faults precisely (the next N calls of one operation fail, an answer is lost after the change
  was applied) without any server: ``InMemoryDirectory`` and ``InMemoryChangeFeed``
  (``testing.directory``), ``InMemoryWebex`` (``testing.webex``), ``InMemoryStateStore``
  (``testing.state``); ``testing.faults`` scripts the faults.
* Contract suites (``testing.contracts``, which need pytest) check, through a port only, every
  rule its docstrings state; the fakes and every adapter of the project pass them.

This package imports only ``model``, ``ports`` and ``errors`` from the project.
"""
