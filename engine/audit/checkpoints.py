"""Checkpoints: the chain's head, kept outside the database and signed, so an insider cannot rewrite history unseen.

Whoever can write the database can drop its triggers, rewrite rows and re-seal the hash
chain the way slabill does; the chain then holds, but it is no longer the chain it was.
So every run ends by writing a *checkpoint* into a folder outside the database: the
chain's length and head (the hash of its last record) and the last number of each number
series, signed with an Ed25519 key that the database does not hold.  ``audit verify
--checkpoint FILE...`` proves that the store still extends each checkpoint: the record
at position ``chain_length`` still has the hash ``chain_head``, the chain is at least that
long, and no number series is behind where it was.  A checkpoint whose signature does not
check with the public key is a finding, as is one without a signature.

The folder holds the private key (``slabill-checkpoint.key``, created on first use, readable
by its owner alone), the public key an auditor verifies with (``slabill-checkpoint.pub``)
and the checkpoints (``checkpoint-<chain length>-<what wrote it>.json``).  It is beside a
SQLite store by default, ``<name>-checkpoints/`` next to its file; for other stores it is
``SLABILL_CHECKPOINTS``, else ``./slabill-checkpoints``.  An auditor keeps copies of the
public key and of the checkpoints where the database's administrators cannot write.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Mapping

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ..core.canonical import canonical, sha256_text
from ..core.errors import InputError
from ..store import Store, sqlite_file
from .records import GENESIS

FOLDER_VARIABLE = "SLABILL_CHECKPOINTS"
DEFAULT_FOLDER = Path("slabill-checkpoints")
KEY_FILE = "slabill-checkpoint.key"
PUBLIC_KEY_FILE = "slabill-checkpoint.pub"
FORMAT = 1


def checkpoint_folder(url: str, given: Path | None = None) -> Path:
    """Where checkpoints are written: ``given`` (an option), else ``SLABILL_CHECKPOINTS``, else
    ``default_folder``."""
    if given is not None:
        return given
    if os.environ.get(FOLDER_VARIABLE):
        return Path(os.environ[FOLDER_VARIABLE])
    return default_folder(url)


def default_folder(url: str) -> Path:
    """Beside a SQLite file, named after it; else ``./slabill-checkpoints``.

    >>> default_folder("sqlite:///out/slabill-demo.db"), default_folder("postgresql+psycopg://h/billing")
    (PosixPath('out/slabill-demo-checkpoints'), PosixPath('slabill-checkpoints'))
    """
    path = sqlite_file(url)
    if path is not None:
        return path.with_name(f"{path.stem}-checkpoints")
    return DEFAULT_FOLDER


def key_id(public: Ed25519PublicKey) -> str:
    """The sha256 of the raw 32-byte public key: which key signed a checkpoint."""
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return sha256_text(raw.hex())


def signing_key(folder: Path) -> Ed25519PrivateKey:
    """The folder's private key, created on first use (mode 0600) with its public key beside it."""
    path = folder / KEY_FILE
    try:
        folder.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            key = Ed25519PrivateKey.generate()
            pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
            # Written whole under another name, then linked into place: two runs starting at
            # once cannot both create a key, nor read half of one.
            handle, temporary = tempfile.mkstemp(dir=folder, prefix=".key-")
            try:
                os.fchmod(handle, 0o600)
                os.write(handle, pem)
                os.close(handle)
                try:
                    os.link(temporary, path)
                except FileExistsError:
                    pass
            finally:
                os.unlink(temporary)
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        public = folder / PUBLIC_KEY_FILE
        pem = key.public_key().public_bytes(serialization.Encoding.PEM,
                                            serialization.PublicFormat.SubjectPublicKeyInfo)
        if not public.exists() or public.read_bytes() != pem:
            _write_whole(public, pem)
    except OSError as exc:
        raise InputError(f"cannot keep checkpoints in {folder}: {exc.strerror or exc}",
                         field="--checkpoints") from None
    except ValueError:
        raise InputError(f"{path} is not an Ed25519 private key in PEM", field="--checkpoints") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise InputError(f"{path} is not an Ed25519 private key", field="--checkpoints")
    return key


def _write_whole(path: Path, data: bytes) -> None:
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".checkpoint-")
    with os.fdopen(handle, "wb") as out:
        out.write(data)
    os.chmod(temporary, 0o644)
    os.replace(temporary, path)


def signed(body: dict[str, Any], key: Ed25519PrivateKey) -> dict[str, Any]:
    """The checkpoint with its key id and its signature over the canonical JSON of the rest."""
    body = {**body, "key": key_id(key.public_key())}
    return {**body, "signature": key.sign(canonical(body).encode("utf-8")).hex()}


def checkpoint_of(store: Store, key: Ed25519PrivateKey, written_at: datetime, **about: Any) -> dict[str, Any]:
    """A signed checkpoint of the store as it is now; ``about`` says what wrote it (run, period...)."""
    length, head, sequences = store.anchor()
    return signed({"type": "checkpoint", "format": FORMAT, "chain_length": length, "chain_head": head,
                   "sequences": [{"issuer": issuer, "kind": kind, "year": year, "last_number": last}
                                 for issuer, kind, year, last in sequences],
                   "written_at": written_at.isoformat(timespec="seconds"), **about}, key)


def write_checkpoint(store: Store, folder: Path, written_at: datetime, **about: Any) -> Path:
    """Sign the store's head and write it into ``folder``; returns the file written."""
    checkpoint = checkpoint_of(store, signing_key(folder), written_at, **about)
    label = f"run-{about['run']}" if about.get("run") is not None else "store"
    path = folder / f"checkpoint-{checkpoint['chain_length']:010d}-{label}.json"
    try:
        _write_whole(path, (json.dumps(checkpoint, indent=1, sort_keys=True) + "\n").encode("utf-8"))
    except OSError as exc:
        raise InputError(f"cannot write the checkpoint {path}: {exc.strerror or exc}", field="--checkpoints") from None
    return path


# --- checking a store against checkpoints ----------------------------------------------------------------

@dataclass(frozen=True)
class Checkpoint:
    """A checkpoint read from a file, with what its signature says."""

    path: Path
    data: dict[str, Any]
    signature_problem: str | None
    """None when the signature checks with the public key; else why it does not"""

    @property
    def name(self) -> str:
        return self.path.name


def read_checkpoint(path: Path, public_key: Path | None = None) -> Checkpoint:
    """A checkpoint file, or an export whose header carries one; its signature checked with
    ``public_key`` (default: ``slabill-checkpoint.pub`` beside it).

    A file that is not a checkpoint is bad input; one whose signature is missing or does
    not check is read, and the problem kept: it is a finding, not a mistake of the caller.
    """
    try:
        with path.open(encoding="utf-8") as handle:
            text = handle.read()
    except OSError as exc:
        raise InputError(f"cannot read the checkpoint: {exc.strerror or exc}", file=str(path)) from None
    try:
        data = json.loads(text)
    except ValueError:
        try:  # an export: its first line is the header, which carries a checkpoint
            data = json.loads(text.split("\n", 1)[0]).get("checkpoint")
        except (ValueError, AttributeError):
            data = None
    if not isinstance(data, dict) or data.get("type") != "checkpoint":
        raise InputError("this is not a slabill checkpoint (nor an export carrying one)", file=str(path))
    for field, kind in (("chain_length", int), ("chain_head", str), ("sequences", list)):
        if not isinstance(data.get(field), kind):
            raise InputError(f"the checkpoint has no {field}", file=str(path), field=field)
    for index, sequence in enumerate(data["sequences"]):
        if not isinstance(sequence, dict) or not all(isinstance(sequence.get(k), t) for k, t in (
                ("issuer", int), ("kind", str), ("year", int), ("last_number", int))):
            raise InputError("a number series needs issuer, kind, year and last_number",
                             file=str(path), field=f"sequences[{index}]")
    key_path = public_key or path.parent / PUBLIC_KEY_FILE
    return Checkpoint(path, data, _signature_problem(data, key_path))


def _signature_problem(data: dict[str, Any], key_path: Path) -> str | None:
    signature = data.get("signature")
    if not isinstance(signature, str) or not signature:
        return "it is not signed"
    try:
        public = serialization.load_pem_public_key(key_path.read_bytes())
    except OSError as exc:
        raise InputError(f"cannot read the public key to check the checkpoint with: {exc.strerror or exc}",
                         file=str(key_path), field="--public-key") from None
    except ValueError:
        raise InputError("this is not a public key in PEM", file=str(key_path), field="--public-key") from None
    if not isinstance(public, Ed25519PublicKey):
        raise InputError("this is not an Ed25519 public key", file=str(key_path), field="--public-key")
    body = {key: value for key, value in data.items() if key != "signature"}
    if body.get("key") != key_id(public):
        return f"it is not signed by the key of {key_path}"
    try:
        public.verify(bytes.fromhex(signature), canonical(body).encode("utf-8"))
    except (InvalidSignature, ValueError):
        return "its signature does not match its content: it was forged or altered"
    return None


def chain_position(checkpoint: Checkpoint) -> int | None:
    """The position in the chain (counted from 1) whose hash the checkpoint vouches for, if it says one."""
    length = checkpoint.data.get("chain_length") if isinstance(checkpoint.data, dict) else None
    return length if isinstance(length, int) and not isinstance(length, bool) and length > 0 else None


def extension_problem(checkpoint: Checkpoint, held: int, entries: Mapping[int, str],
                      sequences: list[tuple[int, str, int, int]]) -> str | None:
    """Why the store does not extend the checkpoint, or None.

    ``held`` is how many entries the store's chain holds (its records, and the loads of
    measurements sealed between them); ``entries`` the hash of the entry at each position
    (counted from 1) that a checkpoint names (``chain_position``), at least; ``sequences``
    the store's number series as (issuer, kind, year, last number).
    """
    data = checkpoint.data
    said = f"checkpoint {checkpoint.name}"
    if checkpoint.signature_problem:
        return f"{said}: {checkpoint.signature_problem}"
    length, head = data["chain_length"], data["chain_head"]
    if held < length:
        return (f"{said} saw {length:,} entries of the chain (records, and loads of measurements), ending at "
                f"{head[:12]}, but the store holds {held:,}: "
                "records were removed")
    found = entries[length] if length else GENESIS
    if found != head:
        return (f"{said} saw entry {length:,} of the chain with hash {head[:12]}, but the store's entry {length:,} has hash "
                f"{found[:12]}: the chain was rewritten")
    last = {(issuer, kind, year): number for issuer, kind, year, number in sequences}
    for series in data["sequences"]:
        now = last.get((series["issuer"], series["kind"], series["year"]), 0)
        if now < series["last_number"]:
            return (f"{said} saw the {series['kind']} numbers of {series['year']} (issuer {series['issuer']}) at "
                    f"{series['last_number']}, but the store's sequence is at {now}: it was moved back")
    return None
