"""slabill's evaluation engine: rule sets, measurement, matching, pricing and the command line.

The core (everything but ``cli`` and the store) is pure: it reads no clock, no
environment and no database; those are passed in.
"""

__version__ = "0.2.0"
