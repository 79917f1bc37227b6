"""Drop the foreign-key indexes of complaints and bounces that another index
already serves (its first column): each one was written for every complaint or
failed recipient recorded, and read by nothing the other could not answer.

Only the indexes are dropped. Django's own AlterField would also drop and re-add
the foreign-key constraints, which re-checks every row of a large history.
"""

import django.db.models.deletion
from django.db import migrations, models

# The index Django made for each column: (table, column, its name).
COVERED = [
    ("complaints_bounce", "inbound_id", "complaints_bounce_inbound_id_1b646cd8"),
    ("complaints_bounce", "mailing_id", "complaints_bounce_mailing_id_bd4d5169"),
    ("complaints_complaint", "inbound_id", "complaints_complaint_inbound_id_536724c6"),
    ("complaints_complaint", "mailing_id", "complaints_complaint_mailing_id_a38d371d"),
]


def _fk(**options):
    return models.ForeignKey(
        db_index=False, on_delete=django.db.models.deletion.PROTECT, **options
    )


class Migration(migrations.Migration):
    dependencies = [
        ("complaints", "0012_merge_20261202_0554"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    f'DROP INDEX IF EXISTS "{name}"',
                    reverse_sql=f'CREATE INDEX "{name}" ON "{table}" ("{column}")',
                )
                for table, column, name in COVERED
            ],
            state_operations=[
                migrations.AlterField(
                    model_name="bounce",
                    name="inbound",
                    field=_fk(related_name="bounces", to="complaints.inboundmessage"),
                ),
                migrations.AlterField(
                    model_name="bounce",
                    name="mailing",
                    field=_fk(
                        blank=True,
                        null=True,
                        related_name="bounces",
                        to="complaints.mailing",
                    ),
                ),
                migrations.AlterField(
                    model_name="complaint",
                    name="inbound",
                    field=_fk(
                        blank=True,
                        null=True,
                        related_name="complaints",
                        to="complaints.inboundmessage",
                    ),
                ),
                migrations.AlterField(
                    model_name="complaint",
                    name="mailing",
                    field=_fk(
                        blank=True,
                        null=True,
                        related_name="complaints",
                        to="complaints.mailing",
                    ),
                ),
            ],
        ),
    ]
