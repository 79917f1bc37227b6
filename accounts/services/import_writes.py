"""The writes of a subscriber import (see accounts.services.imports): one batch of
planned row changes applied with bulk statements.

On PostgreSQL new rows go in with COPY and updates with one ``UPDATE ... FROM
unnest(...)`` per table; elsewhere Django's bulk_create and bulk_update do the same
work more slowly. Callers own the transaction.
"""

from dataclasses import dataclass, field
from datetime import datetime

from django.db import connection
from django.db.models import Model

from accounts.importing import IPAssignmentRow, MailAccountRow, SubscriberRow
from accounts.models import (
    Action,
    IPAssignment,
    MailAccount,
    Subscriber,
    network_to_block,
    network_to_keys,
)
from accounts.status_cache import status_cache_accounts_sync_on_commit

# The subscriber columns the billing file owns.
SUBSCRIBER_FIELDS = ("name", "contact_email", "status")


@dataclass
class RowChange:
    """Everything one row writes; applied whole or not at all."""

    row: SubscriberRow
    subscriber_pk: int | None = None
    is_updated: bool = False
    action_reason: str = ""
    mail_delete: list[int] = field(default_factory=list)
    mail_update: list[tuple[int, MailAccountRow]] = field(default_factory=list)
    mail_create: list[MailAccountRow] = field(default_factory=list)
    ip_delete: list[int] = field(default_factory=list)
    ip_update: list[tuple[int, datetime | None]] = field(default_factory=list)
    ip_create: list[IPAssignmentRow] = field(default_factory=list)

    @property
    def is_new(self) -> bool:
        return self.subscriber_pk is None

    @property
    def has_writes(self) -> bool:
        return self.is_new or self.is_updated or self.touches_children

    @property
    def touches_children(self) -> bool:
        return any(
            (self.mail_delete, self.mail_update, self.mail_create)
            + (self.ip_delete, self.ip_update, self.ip_create)
        )


def changes_write(*, changes: list["RowChange"], now: datetime) -> None:
    """Write the batch's changes. Deletions go first, so a login given up in this
    batch can be taken in it. ``changes`` is not modified, so a retry is clean."""
    MailAccount.objects.filter(
        pk__in=[pk for change in changes for pk in change.mail_delete]
    ).delete()
    IPAssignment.objects.filter(
        pk__in=[pk for change in changes for pk in change.ip_delete]
    ).delete()
    pk_of = _write_subscribers(changes=changes, now=now)
    _update(
        MailAccount,
        ("address", "is_webmail"),
        [
            (pk, account.address, account.is_webmail)
            for change in changes
            for pk, account in change.mail_update
        ],
    )
    _insert_mail_accounts(changes=changes, pk_of=pk_of, now=now)
    _update(
        IPAssignment,
        ("valid_to",),
        [(pk, valid_to) for change in changes for pk, valid_to in change.ip_update],
    )
    _insert_ip_assignments(changes=changes, pk_of=pk_of)
    Action.objects.bulk_create(
        Action(
            subscriber_id=pk_of[change.row.line],
            kind=Action.Kind.STATUS_IMPORTED,
            actor=None,
            reason=change.action_reason,
            created_at=now,
        )
        for change in changes
        if change.action_reason
    )
    # Billing changes statuses and logins too; the policy service must see them.
    status_cache_accounts_sync_on_commit(subscriber_ids=pk_of.values())


def _write_subscribers(*, changes: list[RowChange], now: datetime) -> dict[int, int]:
    """Create and update the subscribers; return their pks by line number."""
    new = [change.row for change in changes if change.is_new]
    _insert(
        Subscriber,
        ("account_number", *SUBSCRIBER_FIELDS, "created_at", "updated_at"),
        [(row.account_number, *_fields(row).values(), now, now) for row in new],
    )
    _update(
        Subscriber,
        (*SUBSCRIBER_FIELDS, "updated_at"),
        [
            (change.subscriber_pk, *_fields(change.row).values(), now)
            for change in changes
            if not change.is_new and change.has_writes
        ],
    )
    pk_of = {change.row.line: change.subscriber_pk for change in changes}
    if new:
        # One indexed query brings back the new pks (COPY cannot return them).
        created = dict(
            Subscriber.objects.filter(
                account_number__in=[row.account_number for row in new]
            ).values_list("account_number", "pk")
        )
        pk_of.update((row.line, created[row.account_number]) for row in new)
    return pk_of


def _fields(row: SubscriberRow) -> dict[str, str]:
    return {name: getattr(row, name) for name in SUBSCRIBER_FIELDS}


def _insert_mail_accounts(
    *, changes: list[RowChange], pk_of: dict, now: datetime
) -> None:
    _insert(
        MailAccount,
        ("subscriber_id", "login", "address", "is_webmail", "created_at"),
        [
            (pk_of[change.row.line], a.login, a.address, a.is_webmail, now)
            for change in changes
            for a in change.mail_create
        ],
    )


def _insert_ip_assignments(*, changes: list[RowChange], pk_of: dict) -> None:
    # network_to_keys is the model's own derivation: save() is skipped here.
    _insert(
        IPAssignment,
        ("subscriber_id", "network", "range_start", "range_end", "block")
        + ("valid_from", "valid_to"),
        [
            (pk_of[change.row.line], a.network, *network_to_keys(a.network))
            + (network_to_block(a.network), a.valid_from, a.valid_to)
            for change in changes
            for a in change.ip_create
        ],
    )


def _insert(model: type[Model], fields: tuple[str, ...], rows: list[tuple]) -> None:
    """Insert many rows that need no pk back: COPY on PostgreSQL (several times
    faster than INSERT at this volume, which matters for a full billing load),
    bulk_create elsewhere."""
    if not rows:
        return
    if connection.vendor != "postgresql":
        model.objects.bulk_create(
            model(**dict(zip(fields, row, strict=True))) for row in rows
        )
        return
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    columns = ", ".join(quote(model._meta.get_field(name).column) for name in fields)
    # Identifiers come from the model's metadata and are quoted; values go as data.
    sql = f"COPY {table} ({columns}) FROM STDIN"  # noqa: S608
    with connection.cursor() as cursor, connection.wrap_database_errors:
        with cursor.cursor.copy(sql) as copy:
            for row in rows:
                copy.write_row(row)


def _update(model: type[Model], fields: tuple[str, ...], rows: list[tuple]) -> None:
    """Update many rows, each given as ``(pk, *values)``: one UPDATE ... FROM unnest()
    on PostgreSQL (bulk_update's CASE per row and field costs seconds per batch
    when much has changed), bulk_update elsewhere."""
    if not rows:
        return
    if connection.vendor != "postgresql":
        model.objects.bulk_update(
            [
                model(pk=pk, **dict(zip(fields, values, strict=True)))
                for pk, *values in rows
            ],
            fields,
        )
        return
    quote = connection.ops.quote_name
    meta = model._meta
    columns = [meta.pk, *(meta.get_field(name) for name in fields)]
    names = [quote(column.column) for column in columns]
    arrays = ", ".join(f"%s::{column.db_type(connection)}[]" for column in columns)
    assignments = ", ".join(f"{name} = v.{name}" for name in names[1:])
    # Identifiers and types come from the model's metadata; values go as parameters.
    sql = (
        f"UPDATE {quote(meta.db_table)} AS t SET {assignments} "  # noqa: S608
        f"FROM unnest({arrays}) AS v({', '.join(names)}) WHERE t.{names[0]} = v.{names[0]}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [list(values) for values in zip(*rows, strict=True)])
