"""Keeping subscribers in step with the billing system's CSV (format: accounts.importing).

The import upserts by account number. A changed row updates the subscriber and makes
its mail accounts and IP assignments match the file exactly (matched by login, and by
network and start); an unchanged row writes nothing, so a second run of the same file
is free of writes. Subscribers missing from the file are left alone: billing ends an
account by sending it with status ``terminated``.

Rules a row is checked against beyond its own syntax (see accounts.importing):

- an account number appears once in the file;
- a login belongs to one subscriber: it is an error for a row to claim a login that
  another row of the file claims, or that another subscriber holds in the database,
  unless a row earlier in the file gives that login up (that is how a login moves);
- a status change, or a new subscriber that does not start ``active``, writes a
  STATUS_IMPORTED Action (actor: the system), since nothing about a subscriber
  changes without a timeline entry.

A bad row is reported with its line and reason and none of it is written; the other
rows import. Rows are handled in batches: the stored state of a whole batch is read in
a few queries, compared in memory, and the differences are written with bulk queries
in one transaction per batch.
"""

import logging
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice

from django.db import IntegrityError, transaction

from accounts.importing import (
    RowError,
    SubscriberRow,
    parse_row,
)
from accounts.models import (
    IPAssignment,
    MailAccount,
    Subscriber,
)
from accounts.services.import_writes import SUBSCRIBER_FIELDS, RowChange, changes_write

logger = logging.getLogger(__name__)

BATCH_SIZE = 2000


@dataclass(frozen=True)
class RowProblem:
    line: int
    reason: str


@dataclass
class ImportSummary:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    problems: list[RowProblem] = field(default_factory=list)

    @property
    def bad(self) -> int:
        return len(self.problems)


@dataclass
class _FileState:
    """What earlier rows of the file said, for the checks that span rows."""

    line_of_account: dict[str, int] = field(default_factory=dict)
    login_claims: dict[str, int] = field(default_factory=dict)
    released_logins: set[str] = field(default_factory=set)


@dataclass
class _Stored:
    """The database's view of one batch, read up front in a few queries, as plain
    tuples (building model instances for 2,000 unchanged rows is wasted work)."""

    subscribers: dict[str, tuple[int, str, str, str]]
    mail_accounts: dict[int, dict[str, tuple[int, str, bool]]]
    ip_assignments: dict[int, dict[tuple[str, datetime], tuple[int, datetime | None]]]
    login_owners: dict[str, int]


def subscriber_import(
    *,
    rows: Iterable[tuple[int, Mapping[str, str]]],
    now: datetime,
    dry_run: bool = False,
    batch_size: int = BATCH_SIZE,
) -> ImportSummary:
    """Upsert subscribers from ``(line, row)`` pairs (see accounts.importing.read_rows).

    Side effects: creates and updates Subscriber, MailAccount, IPAssignment and
    STATUS_IMPORTED Action rows; deletes the mail accounts and IP assignments the file
    no longer lists. One transaction per batch. Safe to repeat: a second run of the
    same rows finds nothing to change and writes nothing. ``dry_run`` checks every
    row against the database and counts, but writes nothing.
    """
    summary = ImportSummary()
    state = _FileState()
    for batch in _batched(rows, batch_size):
        parsed = _parse_batch(batch=batch, state=state, summary=summary)
        stored = _load_stored(parsed)
        changes = _plan_batch(rows=parsed, stored=stored, state=state, summary=summary)
        changes = [change for change in changes if _count(change, summary)]
        if changes and not dry_run:
            _apply_batch(changes=changes, now=now, summary=summary)
    logger.info(
        "subscriber import%s: %s created, %s updated, %s unchanged, %s bad",
        " (dry run)" if dry_run else "",
        summary.created,
        summary.updated,
        summary.unchanged,
        summary.bad,
    )
    return summary


def _batched(
    rows: Iterable[tuple[int, Mapping[str, str]]], size: int
) -> Iterator[list[tuple[int, Mapping[str, str]]]]:
    iterator = iter(rows)
    while batch := list(islice(iterator, size)):
        yield batch


def _parse_batch(
    *,
    batch: list[tuple[int, Mapping[str, str]]],
    state: _FileState,
    summary: ImportSummary,
) -> list[SubscriberRow]:
    """Parse each row and apply the checks that need only the file itself."""
    parsed = []
    for line, raw in batch:
        try:
            row = parse_row(line=line, row=raw)
            _check_against_file(row=row, state=state)
        except RowError as exc:
            summary.problems.append(RowProblem(line=line, reason=str(exc)))
            continue
        parsed.append(row)
    return parsed


def _check_against_file(*, row: SubscriberRow, state: _FileState) -> None:
    earlier = state.line_of_account.get(row.account_number)
    if earlier is not None:
        raise RowError(f"account number {row.account_number} is also on line {earlier}")
    for account in row.mail_accounts:
        earlier = state.login_claims.get(account.login)
        if earlier is not None:
            raise RowError(f"login {account.login!r} is also on line {earlier}")
    state.line_of_account[row.account_number] = row.line
    for account in row.mail_accounts:
        state.login_claims[account.login] = row.line


def _load_stored(rows: list[SubscriberRow]) -> _Stored:
    subscribers = {
        number: (pk, *fields)
        for pk, number, *fields in Subscriber.objects.filter(
            account_number__in=[row.account_number for row in rows]
        ).values_list("pk", "account_number", *SUBSCRIBER_FIELDS)
    }
    ids = [stored[0] for stored in subscribers.values()]
    mail_accounts: dict[int, dict[str, tuple[int, str, bool]]] = {}
    for pk, owner, login, address, is_webmail in MailAccount.objects.filter(
        subscriber_id__in=ids
    ).values_list("pk", "subscriber_id", "login", "address", "is_webmail"):
        mail_accounts.setdefault(owner, {})[login] = (pk, address, is_webmail)
    ip_assignments: dict[int, dict] = {}
    for pk, owner, network, start, end in IPAssignment.objects.filter(
        subscriber_id__in=ids
    ).values_list("pk", "subscriber_id", "network", "valid_from", "valid_to"):
        ip_assignments.setdefault(owner, {})[network, start] = (pk, end)
    return _Stored(
        subscribers, mail_accounts, ip_assignments, _login_owners(rows, mail_accounts)
    )


def _login_owners(rows: list[SubscriberRow], mail_accounts: dict) -> dict[str, int]:
    """Who holds each login the batch names. Owners of the logins this batch's
    subscribers hold are known already; only the others need a query (in a rerun
    there are none)."""
    owners = {
        login: owner for owner, accounts in mail_accounts.items() for login in accounts
    }
    unknown = [
        account.login
        for row in rows
        for account in row.mail_accounts
        if account.login not in owners
    ]
    owners.update(
        MailAccount.objects.filter(login__in=unknown).values_list(
            "login", "subscriber_id"
        )
    )
    return owners


def _plan_batch(
    *,
    rows: list[SubscriberRow],
    stored: _Stored,
    state: _FileState,
    summary: ImportSummary,
) -> list[RowChange]:
    """Compare each row with the stored state; a row failing a check is reported and
    left out whole. Rows are planned in file order so a login given up by one row can
    be taken by a later one."""
    changes = []
    for row in rows:
        try:
            change = _plan_row(row=row, stored=stored, state=state)
        except RowError as exc:
            summary.problems.append(RowProblem(line=row.line, reason=str(exc)))
            continue
        held = stored.mail_accounts.get(change.subscriber_pk, {})
        state.released_logins.update(
            set(held) - {account.login for account in row.mail_accounts}
        )
        changes.append(change)
    return changes


def _plan_row(*, row: SubscriberRow, stored: _Stored, state: _FileState) -> RowChange:
    existing = stored.subscribers.get(row.account_number)
    pk = existing[0] if existing else None
    _check_logins(row=row, subscriber_pk=pk, stored=stored, state=state)
    change = RowChange(row=row, subscriber_pk=pk)
    if existing is None:
        if row.status != Subscriber.Status.ACTIVE:
            change.action_reason = f"Imported from billing as {row.status}."
    else:
        _, name, contact_email, status = existing
        change.is_updated = (name, contact_email, status) != (
            row.name,
            row.contact_email,
            row.status,
        )
        if status != row.status:
            change.action_reason = (
                f"Status changed by billing: {status} → {row.status}."
            )
    _plan_mail_accounts(change=change, stored=stored.mail_accounts.get(pk, {}))
    _plan_ip_assignments(change=change, stored=stored.ip_assignments.get(pk, {}))
    return change


def _check_logins(
    *,
    row: SubscriberRow,
    subscriber_pk: int | None,
    stored: _Stored,
    state: _FileState,
) -> None:
    for account in row.mail_accounts:
        owner = stored.login_owners.get(account.login)
        if owner is None or owner == subscriber_pk:
            continue
        if account.login not in state.released_logins:
            holder = Subscriber.objects.values_list("account_number", flat=True).get(
                pk=owner
            )
            raise RowError(
                f"login {account.login!r} belongs to another subscriber ({holder})"
            )


def _plan_mail_accounts(
    *, change: RowChange, stored: dict[str, tuple[int, str, bool]]
) -> None:
    wanted = {account.login: account for account in change.row.mail_accounts}
    for login, (pk, address, is_webmail) in stored.items():
        account = wanted.get(login)
        if account is None:
            change.mail_delete.append(pk)
        elif (address, is_webmail) != (account.address, account.is_webmail):
            change.mail_update.append((pk, account))
    change.mail_create = [a for login, a in wanted.items() if login not in stored]


def _plan_ip_assignments(
    *, change: RowChange, stored: dict[tuple[str, datetime], tuple]
) -> None:
    wanted = {(a.network, a.valid_from): a for a in change.row.ip_assignments}
    for key, (pk, valid_to) in stored.items():
        assignment = wanted.get(key)
        if assignment is None:
            change.ip_delete.append(pk)
        elif valid_to != assignment.valid_to:
            change.ip_update.append((pk, assignment.valid_to))
    change.ip_create = [a for key, a in wanted.items() if key not in stored]


def _count(change: RowChange, summary: ImportSummary) -> bool:
    """Count the row's outcome; True when it has something to write."""
    if change.is_new:
        summary.created += 1
    elif change.has_writes:
        summary.updated += 1
    else:
        summary.unchanged += 1
    return change.has_writes


def _apply_batch(
    *, changes: list[RowChange], now: datetime, summary: ImportSummary
) -> None:
    """Write a batch in one transaction. If the database refuses it (a row changed by
    someone else since it was read), retry row by row so only the refused rows fail."""
    try:
        with transaction.atomic():
            changes_write(changes=changes, now=now)
        return
    except IntegrityError:
        logger.warning("subscriber import: batch refused, retrying row by row")
    for change in changes:
        try:
            with transaction.atomic():
                changes_write(changes=[change], now=now)
        except IntegrityError as exc:
            _uncount(change, summary)
            summary.problems.append(
                RowProblem(line=change.row.line, reason=f"database refused it: {exc}")
            )


def _uncount(change: RowChange, summary: ImportSummary) -> None:
    if change.is_new:
        summary.created -= 1
    else:
        summary.updated -= 1
