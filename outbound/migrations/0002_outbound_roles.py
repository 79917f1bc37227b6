"""Abuse staff may view submissions and view and change login alerts in the
admin; support reps get nothing here (held batches are abuse staff's work)."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

CODENAMES = ["view_submission", "view_loginalert", "change_loginalert"]


def grant(apps, schema_editor):
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, verbosity=0, apps=apps)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    abuse, _ = Group.objects.get_or_create(name="abuse")
    abuse.permissions.add(
        *Permission.objects.filter(
            content_type__app_label="outbound", codename__in=CODENAMES
        )
    )


class Migration(migrations.Migration):
    dependencies = [
        ("outbound", "0001_outbound_initial"),
        ("accounts", "0003_roles"),
    ]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
