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
    IPAssignmentRow,
    MailAccountRow,
    RowError,
    SubscriberRow,
    parse_row,
)
from accounts.models import (
    Action,
    IPAssignment,
    MailAccount,
    Subscriber,
    network_to_keys,
)

logger = logging.getLogger(__name__)

BATCH_SIZE = 2000
SUBSCRIBER_FIELDS = ("name", "contact_email", "status")


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
    """The database's view of one batch, read up front in a few queries."""

    subscribers: dict[str, Subscriber]
    mail_accounts: dict[int, dict[str, tuple[int, str, bool]]]
    ip_assignments: dict[int, dict[tuple[str, datetime], tuple[int, datetime | None]]]
    login_owners: dict[str, tuple[int, str]]


@dataclass
class _Change:
    """Everything one row writes; applied whole or not at all."""

    row: SubscriberRow
    subscriber: Subscriber
    is_new: bool = False
    is_updated: bool = False
    mail_delete: list[int] = field(default_factory=list)
    mail_update: list[MailAccount] = field(default_factory=list)
    mail_create: list[MailAccount] = field(default_factory=list)
    ip_delete: list[int] = field(default_factory=list)
    ip_update: list[IPAssignment] = field(default_factory=list)
    ip_create: list[IPAssignment] = field(default_factory=list)
    actions: list[Action] = field(default_factory=list)

    @property
    def has_writes(self) -> bool:
        return self.is_new or self.is_updated or self.touches_children

    @property
    def touches_children(self) -> bool:
        return any(
            (self.mail_delete, self.mail_update, self.mail_create)
            + (self.ip_delete, self.ip_update, self.ip_create)
        )


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
        subscriber.account_number: subscriber
        for subscriber in Subscriber.objects.filter(
            account_number__in=[row.account_number for row in rows]
        ).only("account_number", *SUBSCRIBER_FIELDS)
    }
    ids = [subscriber.pk for subscriber in subscribers.values()]
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
    logins = [account.login for row in rows for account in row.mail_accounts]
    login_owners = {
        login: (owner, account_number)
        for login, owner, account_number in MailAccount.objects.filter(
            login__in=logins
        ).values_list("login", "subscriber_id", "subscriber__account_number")
    }
    return _Stored(subscribers, mail_accounts, ip_assignments, login_owners)


def _plan_batch(
    *,
    rows: list[SubscriberRow],
    stored: _Stored,
    state: _FileState,
    summary: ImportSummary,
) -> list[_Change]:
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
        deleted = set(stored.mail_accounts.get(change.subscriber.pk, ())) - {
            account.login for account in row.mail_accounts
        }
        state.released_logins.update(deleted)
        changes.append(change)
    return changes


def _plan_row(*, row: SubscriberRow, stored: _Stored, state: _FileState) -> _Change:
    subscriber = stored.subscribers.get(row.account_number)
    _check_logins(row=row, subscriber=subscriber, stored=stored, state=state)
    if subscriber is None:
        subscriber = Subscriber(
            account_number=row.account_number,
            **{name: getattr(row, name) for name in SUBSCRIBER_FIELDS},
        )
        change = _Change(row=row, subscriber=subscriber, is_new=True)
        if row.status != Subscriber.Status.ACTIVE:
            change.actions.append(
                _status_action(subscriber, f"Imported from billing as {row.status}.")
            )
    else:
        change = _Change(row=row, subscriber=subscriber)
        _plan_fields(change=change)
    _plan_mail_accounts(change=change, stored=stored.mail_accounts.get(subscriber.pk))
    _plan_ip_assignments(change=change, stored=stored.ip_assignments.get(subscriber.pk))
    return change


def _check_logins(
    *,
    row: SubscriberRow,
    subscriber: Subscriber | None,
    stored: _Stored,
    state: _FileState,
) -> None:
    own_pk = subscriber.pk if subscriber is not None else None
    for account in row.mail_accounts:
        owner = stored.login_owners.get(account.login)
        if owner is None or owner[0] == own_pk:
            continue
        if account.login not in state.released_logins:
            raise RowError(
                f"login {account.login!r} belongs to another subscriber ({owner[1]})"
            )


def _plan_fields(*, change: _Change) -> None:
    subscriber, row = change.subscriber, change.row
    before = subscriber.status
    for name in SUBSCRIBER_FIELDS:
        if getattr(subscriber, name) != getattr(row, name):
            setattr(subscriber, name, getattr(row, name))
            change.is_updated = True
    if before != row.status:
        change.actions.append(
            _status_action(
                subscriber, f"Status changed by billing: {before} → {row.status}."
            )
        )


def _status_action(subscriber: Subscriber, reason: str) -> Action:
    # created_at is stamped when the batch is written.
    return Action(
        subscriber=subscriber,
        kind=Action.Kind.STATUS_IMPORTED,
        actor=None,
        reason=reason,
    )


def _plan_mail_accounts(
    *, change: _Change, stored: dict[str, tuple[int, str, bool]] | None
) -> None:
    stored = stored or {}
    wanted: dict[str, MailAccountRow] = {a.login: a for a in change.row.mail_accounts}
    for login, (pk, address, is_webmail) in stored.items():
        account = wanted.get(login)
        if account is None:
            change.mail_delete.append(pk)
        elif (address, is_webmail) != (account.address, account.is_webmail):
            change.mail_update.append(
                MailAccount(
                    pk=pk, address=account.address, is_webmail=account.is_webmail
                )
            )
    for login, account in wanted.items():
        if login not in stored:
            change.mail_create.append(
                MailAccount(
                    subscriber=change.subscriber,
                    login=login,
                    address=account.address,
                    is_webmail=account.is_webmail,
                )
            )


def _plan_ip_assignments(
    *, change: _Change, stored: dict[tuple[str, datetime], tuple] | None
) -> None:
    stored = stored or {}
    wanted: dict[tuple[str, datetime], IPAssignmentRow] = {
        (a.network, a.valid_from): a for a in change.row.ip_assignments
    }
    for key, (pk, valid_to) in stored.items():
        assignment = wanted.get(key)
        if assignment is None:
            change.ip_delete.append(pk)
        elif valid_to != assignment.valid_to:
            change.ip_update.append(IPAssignment(pk=pk, valid_to=assignment.valid_to))
    for key, assignment in wanted.items():
        if key not in stored:
            range_start, range_end = network_to_keys(assignment.network)
            change.ip_create.append(
                IPAssignment(
                    subscriber=change.subscriber,
                    network=assignment.network,
                    range_start=range_start,
                    range_end=range_end,
                    valid_from=assignment.valid_from,
                    valid_to=assignment.valid_to,
                )
            )


def _count(change: _Change, summary: ImportSummary) -> bool:
    """Count the row's outcome; True when it has something to write."""
    if change.is_new:
        summary.created += 1
    elif change.has_writes:
        summary.updated += 1
    else:
        summary.unchanged += 1
    return change.has_writes


def _apply_batch(
    *, changes: list[_Change], now: datetime, summary: ImportSummary
) -> None:
    """Write a batch in one transaction. If the database refuses it (a row changed by
    someone else since it was read), retry row by row so only the refused rows fail."""
    try:
        with transaction.atomic():
            _write(changes=changes, now=now)
        return
    except IntegrityError:
        logger.warning("subscriber import: batch refused, retrying row by row")
    for change in changes:
        try:
            with transaction.atomic():
                _write(changes=[change], now=now)
        except IntegrityError as exc:
            _uncount(change, summary)
            summary.problems.append(
                RowProblem(line=change.row.line, reason=f"database refused it: {exc}")
            )


def _uncount(change: _Change, summary: ImportSummary) -> None:
    if change.is_new:
        summary.created -= 1
    else:
        summary.updated -= 1


def _write(*, changes: list[_Change], now: datetime) -> None:
    """Deletions first, so a login given up in this batch can be taken in it."""
    MailAccount.objects.filter(
        pk__in=[pk for change in changes for pk in change.mail_delete]
    ).delete()
    IPAssignment.objects.filter(
        pk__in=[pk for change in changes for pk in change.ip_delete]
    ).delete()
    new = [change.subscriber for change in changes if change.is_new]
    for subscriber in new:
        # A retry must not reuse the pk of an insert that was rolled back.
        subscriber.pk = None
    Subscriber.objects.bulk_create(new)
    updated = [c.subscriber for c in changes if not c.is_new and c.has_writes]
    for subscriber in updated:
        subscriber.updated_at = now
    Subscriber.objects.bulk_update(updated, [*SUBSCRIBER_FIELDS, "updated_at"])
    MailAccount.objects.bulk_update(
        [item for change in changes for item in change.mail_update],
        ["address", "is_webmail"],
    )
    MailAccount.objects.bulk_create(_children(changes, "mail_create"))
    IPAssignment.objects.bulk_update(
        [item for change in changes for item in change.ip_update], ["valid_to"]
    )
    IPAssignment.objects.bulk_create(_children(changes, "ip_create"))
    actions = _children(changes, "actions")
    for action in actions:
        action.created_at = now
    Action.objects.bulk_create(actions)


def _children(changes: list[_Change], name: str) -> list:
    """New rows of one kind, pointed at their subscriber's current pk (a subscriber
    created in this batch has only just got one)."""
    items = []
    for change in changes:
        for item in getattr(change, name):
            item.pk = None
            item.subscriber = change.subscriber
            items.append(item)
    return items
