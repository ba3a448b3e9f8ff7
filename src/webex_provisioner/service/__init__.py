"""The long-running service: the daemon, its lease, health and metrics."""
