"""Inserting a batch's rows of one model in one statement.

Recording inserts a complaint or a few bounces per message. Through
``bulk_create`` each value passes Django's per-field preparation and model
instantiation, and psycopg quotes every one into the statement's text; that was
about a third of recording's CPU. ``rows_insert`` takes plain dicts instead and,
on PostgreSQL, sends one array per column to ``INSERT … SELECT … FROM
unnest(…)`` with the values bound by the server (binary,
``server_bound_fetchall``), so the statement's text is the same for every batch.
"""

import functools
import json
import re

import psycopg
from django.db import connection, connections, models

# "varchar(16)" -> "varchar": an assignment to the column still refuses a value
# too long, where an explicit cast to varchar(16) would cut it silently.
_TYPE_MODIFIER = re.compile(r"\(.*\)")


def rows_insert(model: type[models.Model], rows: list[dict]) -> list[int]:
    """INSERT ``rows`` (each a dict of attribute name -> value; a field left out
    takes its default) and return their primary keys, in order.

    The values are taken as the model's fields hold them (no ``to_python``
    cleaning, as ``bulk_create`` does not either); a row the database refuses
    raises Django's ``IntegrityError`` or ``DataError`` as ``bulk_create`` would.
    """
    if not rows:
        return []
    if connection.vendor != "postgresql":
        objs = model.objects.bulk_create([model(**row) for row in rows])
        return [obj.pk for obj in objs]
    statement, fields = _statement_for(model, connection.alias)
    arrays = [_column(field, rows) for field in fields]
    return [pk for (pk,) in server_bound_fetchall(connection, statement, arrays)]


def server_bound_fetchall(
    db, statement: str, params: list, *, prepare: bool = False
) -> list[tuple]:
    """Run ``statement`` on ``db`` (a PostgreSQL connection wrapper), in its
    current transaction, with the parameters bound by the server; return its
    rows. The one way the desk sends its unnest inserts (``rows_insert``, the
    inbound store's).

    Django's cursor binds on the client: psycopg writes every value into the
    statement's text as an escaped literal (a raw message's bytes, a column of
    a hundred rows), which the server must then parse back. A plain psycopg
    cursor sends the values apart from the text, bytes in binary. Django's
    own exceptions are kept (``IntegrityError``, ``DataError``, a lost
    connection's ``OperationalError``), so callers, the channels' "try later"
    and the batch's fallback see no change; the one thing lost is Django's
    query log (DEBUG) for these statements.

    ``prepare`` has the server parse and plan the text once and keep it
    (Django's connections never prepare: prepare_threshold is None), for a
    statement run many times with the same text; psycopg keeps the most used
    ones (prepared_max).
    """
    db.ensure_connection()
    with db.wrap_database_errors, psycopg.Cursor(db.connection) as cursor:
        cursor.execute(statement, params, prepare=prepare or None)
        return cursor.fetchall()


def _column(field: models.Field, rows: list[dict]) -> list:
    name = field.attname
    if any(name not in row for row in rows):
        default = field.get_default()
        values = [row.get(name, default) for row in rows]
    else:
        values = [row[name] for row in rows]
    if isinstance(field, models.JSONField):
        dumps = functools.partial(json.dumps, cls=field.encoder)
        return [None if v is None else dumps(v) for v in values]
    if isinstance(field, models.GenericIPAddressField):
        # The same normalisation Django applies (IPv6 compressed, "" -> NULL).
        return [field.get_prep_value(v) for v in values]
    return values


@functools.cache
def _statement_for(model: type[models.Model], alias: str) -> tuple[str, tuple]:
    """The INSERT's text and the fields in its order, built once per process."""
    db = connections[alias]
    quote = db.ops.quote_name
    fields = tuple(f for f in model._meta.concrete_fields if not f.primary_key)
    columns = ", ".join(quote(f.column) for f in fields)
    arrays = ", ".join(f"%s::{_TYPE_MODIFIER.sub('', f.db_type(db))}[]" for f in fields)
    pk = quote(model._meta.pk.column)
    statement = (
        f"INSERT INTO {quote(model._meta.db_table)} ({columns})"  # noqa: S608  (the model's own names)
        f" SELECT * FROM unnest({arrays}) RETURNING {pk}"
    )
    return statement, fields
