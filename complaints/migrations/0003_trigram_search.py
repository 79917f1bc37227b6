"""Trigram indexes for the "contains" searches staff type (queue text filter,
mailing search), on PostgreSQL only: the embedded SQLite default has no pg_trgm
and its databases are small enough to scan.

Django's ``icontains`` on PostgreSQL compares ``UPPER(column::text)``, so the
indexes are on that expression.
"""

from django.db import migrations

INDEXES = [
    ("complaint_subject_trgm", "complaints_complaint", "subject"),
    ("complaint_header_from_trgm", "complaints_complaint", "header_from"),
    ("complaint_mail_from_trgm", "complaints_complaint", "mail_from"),
    ("mailing_subject_trgm", "complaints_mailing", "subject"),
]


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, table, column in INDEXES:
        schema_editor.execute(
            f'CREATE INDEX IF NOT EXISTS {name} ON {table} '
            f'USING gin ((UPPER("{column}"::text)) gin_trgm_ops)'
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, _table, _column in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("complaints", "0002_queue_indexes")]

    operations = [migrations.RunPython(create, drop)]
