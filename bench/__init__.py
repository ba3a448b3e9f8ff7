"""The benchmark of webex-provisioner: ``make bench`` (or ``python -m bench``).

It loads N generated users into a real slapd (``slapadd -q``, one targeted group), starts the
bundled Webex emulator in its own process, and measures in one run, each cycle in its own
``webex-provisioner sync --json`` process: the first cycle (single requests, then SCIM Bulk),
a full cycle with nothing changed, an incremental cycle with nothing changed and one with 1 %
of the users changed; next to the raw floors of the same machine (creates POSTed by a bare loop
to the same emulator at the same concurrency, and ``ldapsearch`` of the same entries). It prints
a table and writes a JSON file under ``bench/results/``. See docs/performance.md.
"""
