"""Errors that slabill reports to its users.

Broken input is the only thing that raises: a business fact (a breach, a cap hit,
a missing measurement) is returned as a value.  Every input error knows where it
came from (file, line, field) so that the command line can say it in one sentence
and exit with code 2, before anything is printed or written.
"""

from __future__ import annotations


class SlabillError(Exception):
    """Base class of every error slabill reports to a user."""


class InputError(SlabillError):
    """Input that slabill refuses: a rule set, contract or measurement that is wrong."""

    def __init__(self, message: str, *, file: str | None = None, line: int | None = None,
                 field: str | None = None, hint: str | None = None) -> None:
        self.message = message.rstrip(".")
        self.file = file
        self.line = line
        self.field = field
        self.hint = hint
        super().__init__(str(self))

    def __str__(self) -> str:
        """One sentence: where, then what, then the fix when one is known.

        >>> str(InputError("the end is before the start", file="incidents.csv", line=4, field="end"))
        'incidents.csv, line 4, field end: the end is before the start.'
        >>> str(InputError("unknown key 'targt'", file="r.yaml", line=9, field="objectives[0].targt",
        ...                hint="did you mean target?"))
        "r.yaml, line 9, field objectives[0].targt: unknown key 'targt' (did you mean target?)."
        """
        where = [part for part in (
            self.file,
            f"line {self.line}" if self.line is not None else None,
            f"field {self.field}" if self.field else None,
        ) if part]
        text = self.message
        if self.hint:
            text += f" ({self.hint})"
        return (", ".join(where) + ": " + text + ".") if where else text + "."


class RateMissingError(InputError):
    """A reference rate the evaluation needs is not in the rate table; slabill never guesses."""


class KeyedValueError(ValueError):
    """A validation problem that belongs to a key below the model that found it.

    Model validators raise it so that the error points at the exact key (and line),
    not at the whole block.
    """

    def __init__(self, keys: tuple[str | int, ...], message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.keys = keys
        self.hint = hint
