"""In-memory fakes of the ports and their contract suites (filled in by the next commits)."""
