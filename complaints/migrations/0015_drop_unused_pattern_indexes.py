"""Drop the two ``varchar_pattern_ops`` indexes PostgreSQL's backend adds
beside the unique index of a ``CharField(unique=True)``: the one on an inbound
message's SHA-256 and the one on a complaint's reference.

They serve only ``LIKE 'prefix%'`` (``startswith``), which nothing asks of
these columns: the desk looks both up by equality (the unique index) and the
admin searches them with ``icontains``, which no B-tree serves. Yet every
stored message, every change of its state (its row is rewritten with a new
version, so each of its indexes takes an entry) and every complaint recorded
wrote to them.

Dropped CONCURRENTLY, outside a transaction, so a large history keeps taking
mail meanwhile. SQLite never had them.
"""

from django.db import migrations

# (table, column, the name Django's PostgreSQL backend gave the index)
PATTERN_INDEXES = [
    (
        "complaints_inboundmessage",
        "sha256",
        "complaints_inboundmessage_sha256_964e1ffc_like",
    ),
    (
        "complaints_complaint",
        "reference",
        "complaints_complaint_reference_d6095155_like",
    ),
]


def _drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for _table, _column, name in PATTERN_INDEXES:
        schema_editor.execute(f'DROP INDEX CONCURRENTLY IF EXISTS "{name}"')


def _create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table, column, name in PATTERN_INDEXES:
        schema_editor.execute(
            f'CREATE INDEX CONCURRENTLY IF NOT EXISTS "{name}" '
            f'ON "{table}" ("{column}" varchar_pattern_ops)'
        )


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("complaints", "0014_inbound_claims"),
    ]

    operations = [migrations.RunPython(_drop, _create, elidable=False)]
