"""In-memory fakes of the ports (``ports.py``) for tests, and the contract suites that the fakes
and the real adapters pass (``testing.contracts``).

The fakes hold their data in memory, behave like the real systems where the ports state a rule,
and let a test script faults precisely (the next N calls of one operation fail, an answer is
lost after the change was applied) without any server. They import only ``model``, ``ports``
and ``errors``.
"""
