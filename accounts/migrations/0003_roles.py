"""Creates the two staff groups with their model permissions.

Abuse staff may view, add and change everything the desk holds; support reps may
view subscribers and their history and add timeline notes, nothing more. Views
enforce the roles by group (abusedesk/roles.py); these permissions are what the
Django admin honours.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

ABUSE_MODELS = {
    "accounts": ["subscriber", "mailaccount", "ipassignment", "action"],
    "complaints": [
        "inboundmessage", "mailing", "mailingkey", "complaint", "bounce", "strike",
    ],
}
ABUSE_VERBS = ["view", "add", "change"]
SUPPORT_PERMISSIONS = [
    ("accounts", "view_subscriber"),
    ("accounts", "view_mailaccount"),
    ("accounts", "view_ipassignment"),
    ("accounts", "view_action"),
    ("accounts", "add_action"),
    ("complaints", "view_mailing"),
    ("complaints", "view_strike"),
]


def create_groups(apps, schema_editor):
    # Permissions are normally created after all migrations; make sure they exist.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, verbosity=0, apps=apps)
        app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")

    abuse, _ = Group.objects.get_or_create(name="abuse")
    codenames = [
        (app, f"{verb}_{model}")
        for app, models in ABUSE_MODELS.items()
        for model in models
        for verb in ABUSE_VERBS
    ]
    abuse.permissions.set(_permissions(Permission, codenames))

    support, _ = Group.objects.get_or_create(name="support")
    support.permissions.set(_permissions(Permission, SUPPORT_PERMISSIONS))


def _permissions(Permission, pairs):
    wanted = set(pairs)
    return [
        perm
        for perm in Permission.objects.select_related("content_type")
        if (perm.content_type.app_label, perm.codename) in wanted
    ]


def remove_groups(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=["abuse", "support"]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_initial"),
        ("complaints", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_groups, remove_groups)]
