"""The pure core: every decision, as functions of their inputs (no I/O, no clock, no globals)."""
