"""Reading ``contracts.yaml`` (INTERFACE.md section 2): the issuer and the contracts.

``load_book`` validates each contract as soon as it is read, so a large book is never
held twice, once raw and once validated, and the first bad contract raises an
``InputError`` naming the file, line and key.  A process of ``slabill evaluate`` may read
only its ``Share`` of the book: it keeps every n-th contract and remembers only the ids of
the others.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from pydantic import ValidationError, model_validator

from ..core.errors import InputError
from ..core.errors import KeyedValueError
from ..core.model import Contract, Customer, Issuer, Service, WebhookEndpoint
from ..core.schema import Frozen
from ..core.tax import siren_of
from .collector import paused_gc
from .yamlsource import NotSkippable, YamlDocument, read_yaml, stream_yaml, translate


class ContractsFile(Frozen):
    """The file's shape; contract ids are checked for repeats as the file is read."""

    issuer: Issuer
    contracts: tuple[Contract, ...]

    @model_validator(mode="after")
    def _channels_the_issuer_can_serve(self) -> "ContractsFile":
        """What a customer's e-invoice channel needs of the issuer (and the customer) to be valid."""
        for index, contract in enumerate(self.contracts):
            problem = channel_problem(self.issuer, contract.customer)
            if problem is not None:
                raise KeyedValueError(("contracts", index, "customer", "e_invoice"), problem)
        return self


def channel_problem(issuer: Issuer, customer: Customer) -> str | None:
    """Why the issuer cannot serve the customer's e-invoice channel, or None when it can."""
    channel = customer.e_invoice
    if channel == "peppol" and issuer.endpoint is None and issuer.siret is None:
        return ("a Peppol customer needs the issuer's electronic address: give the "
                "issuer an endpoint (or a siret, for a French issuer)")
    if channel == "fr_ctc" and (issuer.country != "FR" or siren_of(issuer) is None):
        return ("fr_ctc is the French e-invoicing flow: the issuer must be in France "
                "with a SIREN (registration {scheme: \"0002\"} or a French VAT number)")
    if channel == "fr_ctc" and siren_of(customer) is None:
        return ("fr_ctc needs the customer's SIREN: give registration "
                "{scheme: \"0002\", id: ...} or its French VAT number")
    return None


@dataclass(frozen=True)
class Share:
    """The part of a book one process keeps: every ``count``-th contract of the file, from ``index``.

    ``slabill evaluate`` has each of its worker processes read the whole file but keep
    only its share, so that the book is in memory once, not once per process.
    """

    index: int
    count: int

    def keeps(self, position: int) -> bool:
        return position % self.count == self.index


@dataclass(frozen=True)
class Book:
    """The issuer and the contracts, with where each came from for messages."""

    issuer: Issuer
    contracts: tuple[Contract, ...]
    file: str
    document: YamlDocument = field(repr=False, compare=False)
    positions: dict[str, int] = field(default_factory=dict, repr=False, compare=False)
    """each contract id's index in the file's list, for error lines"""
    elsewhere: frozenset[str] = frozenset()
    """ids of the contracts another process's share keeps: their rows are skipped here, not refused"""

    def contract(self, contract_id: str) -> Contract | None:
        return self._by_id.get(contract_id)

    @property
    def _by_id(self) -> dict[str, Contract]:
        cache = self.__dict__.get("_index")
        if cache is None:
            cache = {c.id: c for c in self.contracts}
            object.__setattr__(self, "_index", cache)
        return cache

    def error_at(self, contract_id: str, key: str, message: str) -> InputError:
        return self.document.error_at(("contracts", self.positions[contract_id], key), message)


def _vocabulary() -> set[str]:
    words: set[str] = set()
    for model in (ContractsFile, Issuer, Customer, Service, Contract, WebhookEndpoint):
        words.update(model.model_fields)
    return words


_KEPT_ELSEWHERE = object()  # stands in the list for a contract another share keeps


def load_book(path: str | Path, share: Share | None = None) -> Book:
    """Read and validate ``contracts.yaml`` (only the contracts of ``share``, when given).

    Each contract is validated as soon as it is read, so its raw data is freed at once:
    a book of 100,000 contracts would otherwise hold both forms in memory.  A contract
    of another share is not validated here (its own process does that), but its id is
    still checked against repeats and remembered, so that its rows can be told from
    rows of an unknown contract.
    """
    positions: dict[str, int] = {}  # every contract id read so far, at its index in the list
    elsewhere: set[str] = set()

    def contract_read(where, value):
        if len(where) == 2 and where[0] == "contracts" and isinstance(value, dict):
            position = where[1]
            keep = share is None or share.keeps(position)
            if keep:
                try:
                    value = Contract.model_validate(value)
                except ValidationError as exc:
                    raise _ContractProblem(where, exc) from None
                contract_id = value.id
            else:
                contract_id = value.get("id")
                if not isinstance(contract_id, str):
                    return _KEPT_ELSEWHERE  # its own share refuses it
            if contract_id in positions:
                raise _ContractProblem(where + ("id",), f"the contract id {contract_id!r} is used twice")
            positions[contract_id] = position
            if not keep:
                elsewhere.add(contract_id)
                return _KEPT_ELSEWHERE
        return value

    def elsewhere_item(where) -> bool:  # another share's contract: only its id is read
        return len(where) == 2 and where[0] == "contracts" and not share.keeps(where[1])

    try:
        try:
            doc = read_yaml(path, contract_read, elsewhere_item if share is not None else None)
        except NotSkippable:  # anchors or aliases inside a contract: read every contract whole
            positions.clear()
            elsewhere.clear()
            doc = read_yaml(path, contract_read)
    except _ContractProblem as problem:
        raise problem.said_in(path) from None
    if not isinstance(doc.data, dict):
        raise InputError("the contracts file is a mapping with issuer and contracts", file=doc.file, line=1)
    if elsewhere and isinstance(doc.data.get("contracts"), list):
        doc.data["contracts"] = [c for c in doc.data["contracts"] if c is not _KEPT_ELSEWHERE]
    try:
        with paused_gc():
            parsed = ContractsFile.model_validate(doc.data)
    except ValidationError as exc:
        raise translate(doc, exc, _vocabulary()) from None
    doc.data = None  # the validated book is what is kept; the text stays for error lines
    return Book(parsed.issuer, parsed.contracts, doc.file, doc, positions, frozenset(elsewhere))


class _ContractProblem(Exception):
    """A contract failed validation (or repeats an id) while the file was being read."""

    def __init__(self, where, error: ValidationError | str) -> None:
        self.where = where
        self.error = error

    def said_in(self, path: Path) -> InputError:
        """The one-sentence error at its line, the file read again whole to find where (rare: bad input)."""
        doc = read_yaml(path)
        if isinstance(self.error, str):
            return doc.error_at(self.where, self.error)
        return translate(doc, self.error, _vocabulary(), self.where)


# --- the book streamed: each contract handed on as it is read -------------------------------------

@dataclass(frozen=True)
class ServiceId:
    id: str


@dataclass(frozen=True)
class ContractShape:
    """What measurement rows of a contract are checked against: its currency, rule set and
    service ids.  Contracts alike share one shape, so a streamed book keeps little more
    than its contract ids."""

    currency: str
    ruleset: str
    services: tuple[ServiceId, ...]

    def service(self, service_id: str) -> ServiceId | None:
        for service in self.services:
            if service.id == service_id:
                return service
        return None


@dataclass
class ContractIndex:
    """The contracts of a streamed book, by id: what ``load`` keeps of them once each was
    validated and written (about 250 bytes a contract, its id most of it: some 250 MB for
    1,000,000 contracts, however many measurement rows the book has).

    It answers the measurement readers' questions as a ``Book`` does.
    """

    file: str
    document: YamlDocument
    shapes: dict[str, ContractShape]
    elsewhere: frozenset[str] = frozenset()

    def contract(self, contract_id: str) -> ContractShape | None:
        return self.shapes.get(contract_id)

    get = contract

    def __len__(self) -> int:
        return len(self.shapes)


def stream_book(path: str | Path, issuer_read: Callable[[Issuer], None],
                contract_read: Callable[[int, Contract], None]) -> ContractIndex:
    """Read and validate ``contracts.yaml`` one contract at a time, handing each on.

    ``issuer_read`` gets the issuer before any contract, and ``contract_read`` each valid
    contract with its index in the file's list, as soon as it is read; nothing else of a
    contract is kept but its ``ContractShape``.  The errors, and which one is said when a
    file has several, are those of ``load_book``: a bad contract as it is read, then the
    issuer and the file's shape, then the e-invoice channels the issuer cannot serve.

    The issuer is looked for first, by a quick pass that reads past the contracts (a file
    nearly always starts with it, and the pass stops there).  Only when that pass cannot
    read past them (anchors or aliases inside a contract) do the contracts wait in memory
    for the issuer; when it is missing or invalid, they are checked and dropped.
    """
    shapes: dict[str, ContractShape] = {}
    shared: dict[ContractShape, ContractShape] = {}
    channels: list[tuple[int, Customer]] = []  # customers whose e-invoice channel the issuer must serve
    placeholder: list[Contract] = []  # the first valid contract stands in the list for every other
    waiting: list[tuple[int, Contract]] = []
    issuer = _issuer_first(path)
    if isinstance(issuer, Issuer):
        issuer_read(issuer)

    def read(where, value):
        if len(where) == 2 and where[0] == "contracts" and isinstance(value, dict):
            try:
                contract = Contract.model_validate(value)
            except ValidationError as exc:
                raise _ContractProblem(where, exc) from None
            if contract.id in shapes:
                raise _ContractProblem(where + ("id",), f"the contract id {contract.id!r} is used twice")
            shape = ContractShape(contract.currency, contract.ruleset,
                                  tuple(ServiceId(s.id) for s in contract.services))
            shapes[contract.id] = shared.setdefault(shape, shape)
            if contract.customer.e_invoice in ("peppol", "fr_ctc"):
                channels.append((where[1], contract.customer))
            if isinstance(issuer, Issuer):
                contract_read(where[1], contract)
            elif issuer is None:  # not known yet: written once it is
                waiting.append((where[1], contract))
            if not placeholder:
                placeholder.append(contract)
            return placeholder[0]
        return value

    try:
        doc = stream_yaml(path, read)
    except _ContractProblem as problem:
        raise problem.said_in(path) from None
    if not isinstance(doc.data, dict):
        raise InputError("the contracts file is a mapping with issuer and contracts", file=doc.file, line=1)
    try:
        with paused_gc():
            parsed = ContractsFile.model_validate(doc.data)
    except ValidationError as exc:
        raise translate(doc, exc, _vocabulary()) from None
    doc.data = None
    for index, customer in channels:
        problem = channel_problem(parsed.issuer, customer)
        if problem is not None:
            raise doc.error_at(("contracts", index, "customer", "e_invoice"), problem)
    if not isinstance(issuer, Issuer):
        issuer_read(parsed.issuer)
        for position, contract in waiting:
            contract_read(position, contract)
    return ContractIndex(doc.file, doc, shapes)


class _IssuerFound(Exception):
    def __init__(self, value) -> None:
        self.value = value


_NO_VALID_ISSUER = object()  # the file's issuer is missing or invalid: the load will fail


def _issuer_first(path: str | Path) -> "Issuer | object | None":
    """The file's issuer, valid, read before its contracts (they are read past); ``_NO_VALID_ISSUER``
    when it is missing or invalid; None when the file could not be read past its contracts."""
    def found(where, value):
        if where == ("issuer",):
            raise _IssuerFound(value)
        return None if len(where) == 2 and where[0] == "contracts" else value

    try:
        stream_yaml(path, found, lambda where: len(where) == 2 and where[0] == "contracts")
    except _IssuerFound as issuer:
        try:
            return Issuer.model_validate(issuer.value)
        except ValidationError:
            return _NO_VALID_ISSUER  # said after the contracts, as load_book says it
    except NotSkippable:
        return None
    except InputError:
        return _NO_VALID_ISSUER  # the file is malformed: said when it is read
    return _NO_VALID_ISSUER
