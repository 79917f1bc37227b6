"""The billing system's subscriber CSV: its format, and one row into a checked dataclass.

Pure: no database and no settings. ``accounts.services.imports`` compares the rows
with what is stored and writes the difference.

One row per subscriber; the header names all six columns, in any order::

    account_number,name,contact_email,status,mail_accounts,ip_assignments
    A1001,Example Shop Ltd,billing@shop.example,active,bob:bob@isp.example:webmail;bob.shop:shop@isp.example,192.0.2.7@2026-01-01T00:00Z..2026-06-01T00:00Z;198.51.100.0/28@2025-03-01..

- ``mail_accounts``: ``;``-separated ``login:address``, with ``:webmail`` appended for
  a webmail account. A bare address stands for itself as login and address.
- ``ip_assignments``: ``;``-separated ``network@from..to``. ``network`` is an address
  or a CIDR network without host bits; ``from`` and ``to`` are ISO 8601 dates or
  date-times (a time without an offset is UTC); an empty ``to`` means still assigned.
- Logins and addresses are lowercased, as the desk stores them.
"""

import csv
import ipaddress
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TextIO

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from accounts.models import Subscriber

COLUMNS = (
    "account_number",
    "name",
    "contact_email",
    "status",
    "mail_accounts",
    "ip_assignments",
)
LIST_SEPARATOR = ";"
WEBMAIL_FLAG = "webmail"
STATUSES = frozenset(Subscriber.Status.values)
# Field sizes of the models, checked here so a long value is a row error, not a crash.
MAX_ACCOUNT_NUMBER = 32
MAX_NAME = 200
MAX_LOGIN = 254
MAX_NETWORK = 64
ACCOUNT_NUMBER_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]*$")
LOGIN_RE = re.compile(r"^[a-z0-9][a-z0-9._+@-]*$")


class RowError(ValueError):
    """A row that cannot be imported; the message says why, for the operator."""


class HeaderError(ValueError):
    """The file's header is not the expected one; nothing in it can be read."""


@dataclass(frozen=True, slots=True)
class MailAccountRow:
    login: str
    address: str
    is_webmail: bool


@dataclass(frozen=True, slots=True)
class IPAssignmentRow:
    network: str
    valid_from: datetime
    valid_to: datetime | None


@dataclass(frozen=True, slots=True)
class SubscriberRow:
    line: int
    account_number: str
    name: str
    contact_email: str
    status: str
    mail_accounts: tuple[MailAccountRow, ...]
    ip_assignments: tuple[IPAssignmentRow, ...]


def read_rows(stream: TextIO) -> Iterator[tuple[int, dict[str, str]]]:
    """Yield ``(line number, row)`` for each data row, after checking the header.

    The line number is the file line the row ends on (the header is line 1); it is
    the row's own line unless a quoted field spans lines. A row with too few fields
    has None for the missing ones, and one with too many a None key.
    """
    reader = csv.DictReader(stream)
    reader.fieldnames = check_header(reader.fieldnames or [])
    for row in reader:
        yield reader.line_num, row


def check_header(header: Sequence[str]) -> list[str]:
    """The column names with stray spaces removed; HeaderError unless they are
    exactly COLUMNS, in any order."""
    names = [name.strip() for name in header]
    missing = [name for name in COLUMNS if name not in names]
    unknown = [name for name in names if name not in COLUMNS]
    if missing or unknown or len(names) != len(set(names)):
        raise HeaderError(
            f"the header must name the columns {','.join(COLUMNS)} once each "
            f"(missing: {', '.join(missing) or 'none'}; "
            f"unknown: {', '.join(unknown) or 'none'})"
        )
    return names


def parse_row(*, line: int, row: Mapping[str, str | None]) -> SubscriberRow:
    """Check one CSV row and return it normalised; raise RowError with the reason."""
    if None in row or None in row.values():
        raise RowError(f"expected {len(COLUMNS)} fields")
    return SubscriberRow(
        line=line,
        account_number=parse_account_number(row["account_number"]),
        name=parse_name(row["name"]),
        contact_email=parse_contact_email(row["contact_email"]),
        status=parse_status(row["status"]),
        mail_accounts=parse_mail_accounts(row["mail_accounts"]),
        ip_assignments=parse_ip_assignments(row["ip_assignments"]),
    )


def parse_account_number(text: str) -> str:
    value = text.strip()
    if not value:
        raise RowError("account number is empty")
    if len(value) > MAX_ACCOUNT_NUMBER or not ACCOUNT_NUMBER_RE.match(value):
        raise RowError(f"bad account number {value!r}")
    return value


def parse_name(text: str) -> str:
    value = " ".join(text.split())
    if not value:
        raise RowError("name is empty")
    if len(value) > MAX_NAME:
        raise RowError(f"name is longer than {MAX_NAME} characters")
    return value


def parse_contact_email(text: str) -> str:
    value = text.strip()
    if value:
        _check_email(value, what="contact email")
    return value


def parse_status(text: str) -> str:
    value = text.strip().lower()
    if value not in STATUSES:
        raise RowError(
            f"unknown status {text.strip()!r} (one of {', '.join(sorted(STATUSES))})"
        )
    return value


def parse_mail_accounts(text: str) -> tuple[MailAccountRow, ...]:
    accounts = tuple(_parse_mail_account(item) for item in _split_list(text))
    logins = [account.login for account in accounts]
    if len(logins) != len(set(logins)):
        raise RowError("a login is listed twice")
    return accounts


def _parse_mail_account(item: str) -> MailAccountRow:
    parts = [part.strip().lower() for part in item.split(":")]
    is_webmail = len(parts) == 3 and parts[2] == WEBMAIL_FLAG
    if is_webmail:
        parts = parts[:2]
    if len(parts) == 1 and "@" in parts[0]:
        parts = [parts[0], parts[0]]
    if len(parts) != 2:
        raise RowError(f"bad mail account {item!r} (login:address[:webmail])")
    login, address = parts
    if len(login) > MAX_LOGIN or not LOGIN_RE.match(login):
        raise RowError(f"bad login {login!r}")
    _check_email(address, what=f"address of login {login!r}")
    return MailAccountRow(login=login, address=address, is_webmail=is_webmail)


def parse_ip_assignments(text: str) -> tuple[IPAssignmentRow, ...]:
    assignments = tuple(_parse_ip_assignment(item) for item in _split_list(text))
    keys = [(item.network, item.valid_from) for item in assignments]
    if len(keys) != len(set(keys)):
        raise RowError("an IP assignment is listed twice")
    return assignments


def _parse_ip_assignment(item: str) -> IPAssignmentRow:
    network_text, at, window = item.partition("@")
    start_text, dots, end_text = window.partition("..")
    if not at or not dots:
        raise RowError(f"bad IP assignment {item!r} (network@from..to)")
    network = parse_network(network_text)
    valid_from = parse_moment(start_text, what="start")
    valid_to = parse_moment(end_text, what="end") if end_text.strip() else None
    if valid_to is not None and valid_to <= valid_from:
        raise RowError(f"IP assignment {item!r} ends before it starts")
    return IPAssignmentRow(network=network, valid_from=valid_from, valid_to=valid_to)


def parse_network(text: str) -> str:
    """An address or network in its canonical spelling; a single address keeps no
    prefix length, so ``192.0.2.7/32`` and ``192.0.2.7`` are the same assignment."""
    value = text.strip()
    if "/" not in value and "." in value:
        # Fast path for the common case, a single IPv4 address.
        try:
            return str(ipaddress.IPv4Address(value))
        except ValueError as exc:
            raise RowError(f"bad IP address or network {value!r}") from exc
    try:
        network = ipaddress.ip_network(value, strict=True)
    except ValueError as exc:
        raise RowError(f"bad IP address or network {value!r}") from exc
    if network.num_addresses == 1:
        return str(network.network_address)
    canonical = str(network)
    if len(canonical) > MAX_NETWORK:
        raise RowError(f"bad IP address or network {value!r}")
    return canonical


def parse_moment(text: str, *, what: str) -> datetime:
    """An ISO 8601 date (midnight UTC) or date-time; without an offset it is UTC."""
    value = text.strip()
    if not value:
        raise RowError(f"IP assignment {what} is empty")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise RowError(f"bad IP assignment {what} {value!r}") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment


def _split_list(text: str) -> list[str]:
    return [item.strip() for item in text.split(LIST_SEPARATOR) if item.strip()]


def _check_email(value: str, *, what: str) -> None:
    try:
        validate_email(value)
    except ValidationError as exc:
        raise RowError(f"bad {what} {value!r}") from exc
    if len(value) > 254:
        raise RowError(f"{what} is longer than 254 characters")


def format_row(row: SubscriberRow) -> dict[str, str]:
    """The CSV fields for a row: the inverse of parse_row (used by the generator)."""
    return {
        "account_number": row.account_number,
        "name": row.name,
        "contact_email": row.contact_email,
        "status": row.status,
        "mail_accounts": LIST_SEPARATOR.join(
            f"{a.login}:{a.address}" + (f":{WEBMAIL_FLAG}" if a.is_webmail else "")
            for a in row.mail_accounts
        ),
        "ip_assignments": LIST_SEPARATOR.join(
            f"{a.network}@{_format_moment(a.valid_from)}..{_format_moment(a.valid_to)}"
            for a in row.ip_assignments
        ),
    }


def _format_moment(moment: datetime | None) -> str:
    if moment is None:
        return ""
    moment = moment.astimezone(UTC)
    if moment.second or moment.microsecond:
        return moment.isoformat().replace("+00:00", "Z")
    return moment.strftime("%Y-%m-%dT%H:%MZ")
