"""Audit: evaluation records (what an auditor needs to replay an evaluation), and checking them.

``records`` encodes an evaluation as canonical JSON; ``verify`` walks the chain of records
and documents; ``replay`` evaluates records again from themselves alone; ``export``
writes them out for checking without slabill.
"""
