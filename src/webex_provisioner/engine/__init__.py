"""The imperative shell: reads, plans with the rules, applies through the ports, records."""
