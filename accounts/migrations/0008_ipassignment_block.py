"""IPAssignment.block: the network as ``cidr`` on PostgreSQL, with a GiST index
over it and the validity window, so "who held this address at that time" is one
index search for every address, however long the address's lease history."""

from django.db import migrations

import accounts.models

BATCH = 5000

GIST_INDEX = (
    "CREATE INDEX IF NOT EXISTS ipassignment_block_gist ON accounts_ipassignment "
    "USING gist (block inet_ops, tstzrange(valid_from, valid_to, '[)'))"
)


def fill_blocks(apps, schema_editor):
    IPAssignment = apps.get_model("accounts", "IPAssignment")
    rows = IPAssignment.objects.filter(block__isnull=True).order_by("pk")
    while batch := list(rows.only("pk", "network")[:BATCH]):
        for row in batch:
            row.block = accounts.models.network_to_block(row.network)
        IPAssignment.objects.bulk_update(batch, ["block"])


def create_gist_index(apps, schema_editor):
    # PostgreSQL only: SQLite keeps the key columns' btree (the selector picks).
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(GIST_INDEX)


def drop_gist_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS ipassignment_block_gist")


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0007_merge_20261202_0201"),
    ]

    operations = [
        migrations.AddField(
            model_name="ipassignment",
            name="block",
            field=accounts.models.NetworkBlockField(
                editable=False, max_length=43, null=True
            ),
        ),
        migrations.RunPython(fill_blocks, migrations.RunPython.noop),
        migrations.RunPython(create_gist_index, drop_gist_index),
    ]
