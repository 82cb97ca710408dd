"""Where a file stops being UTF-8, for an error a user can act on.

Measurement and rule files must be UTF-8.  A file saved in another encoding (Latin-1 or
Windows-1252 from a spreadsheet, UTF-16 from some editors) is refused at the line of its
first byte that is not UTF-8, so the user can find the word that gave it away.
"""

from __future__ import annotations

from ..core.errors import InputError


def not_utf8(file: str, raw: bytes, error: UnicodeDecodeError, field: str | None = None) -> InputError:
    """The error for ``raw`` (the file's bytes), which failed to decode with ``error``.

    >>> raw = "name\\nCafé\\n".encode("latin-1")
    >>> str(not_utf8("a.csv", raw, _failure(raw)))
    'a.csv, line 2: the file is not UTF-8 (byte 0xe9 after "Caf"); save it as UTF-8.'
    """
    start = error.start
    line_start = raw.rfind(b"\n", 0, start) + 1
    before = raw[line_start:start].decode("utf-8", errors="replace").lstrip()[-20:]
    return InputError(f'the file is not UTF-8 (byte 0x{raw[start]:02x} after "{before}"); save it as UTF-8',
                      file=file, line=raw.count(b"\n", 0, start) + 1, field=field)


def first_failure(raw: bytes) -> UnicodeDecodeError | None:
    """The first decoding error of ``raw`` as UTF-8 (a byte-order mark allowed), or None."""
    try:
        raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        return error
    return None


def _failure(raw: bytes) -> UnicodeDecodeError:
    failure = first_failure(raw)
    assert failure is not None
    return failure
