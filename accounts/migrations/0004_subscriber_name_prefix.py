"""An index for case-insensitive name prefix search (``name__istartswith``) on
PostgreSQL. Django compares ``UPPER(name::text) LIKE UPPER('prefix%')``; with a
non-C collation a LIKE prefix only uses an index built with text_pattern_ops.
SQLite, the embedded default, skips it.
"""

from django.db import migrations


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "CREATE INDEX IF NOT EXISTS subscriber_name_upper_idx "
            "ON accounts_subscriber (UPPER(name::text) text_pattern_ops)"
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS subscriber_name_upper_idx")


class Migration(migrations.Migration):
    dependencies = [("accounts", "0003_roles")]

    operations = [migrations.RunPython(create, drop)]
