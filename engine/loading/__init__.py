"""Loading: rule-set, rate-table, contract and measurement files, read into validated core values.

Every error names the file, line and field; nothing half-read is ever evaluated or stored.
"""
