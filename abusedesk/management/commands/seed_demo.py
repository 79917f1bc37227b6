"""``manage.py seed_demo``: the demo of ``make run`` (see abusedesk/demo.py), and
new random passwords for the demo users abuse, support and admin, printed.

Running it again keeps the data and only resets the passwords. With no REDIS_URL
it starts the embedded Redis for the time it runs (the launcher starts its own
afterwards), so that what the demo queues, as the desk's services do, is kept.
"""

import time

from django.core.management.base import BaseCommand
from django.urls import reverse
from django.utils import timezone

from abusedesk import demo, launcher


class Command(BaseCommand):
    help = (
        "Load demo data (once; a second run keeps it) and set new random passwords "
        "for the demo users abuse, support and admin, printing them."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--base-url",
            default="http://127.0.0.1:8000",
            help="where the desk is served, for the printed login link",
        )

    def handle(self, *args, base_url: str, **options):
        users = demo.demo_users()
        started = time.monotonic()
        redis = launcher.start_embedded_redis_unless_configured(quiet=True)
        try:
            counts = demo.demo_load(now=timezone.now(), users=users)
        finally:
            launcher.stop([redis] if redis is not None else [])
        if counts is None:
            self.stdout.write("The desk already has data; no demo data loaded.")
        else:
            self.stdout.write(
                f"Loaded the demo in {time.monotonic() - started:.1f} s: "
                + ", ".join(f"{count} {name}" for name, count in counts.items())
            )
        passwords = demo.demo_passwords_reset(users)
        self._print_users(passwords, base_url=base_url.rstrip("/"))

    def _print_users(self, passwords: dict[str, str], *, base_url: str) -> None:
        self.stdout.write("")
        self.stdout.write(self.style.SUCCESS("Demo users (new passwords every run):"))
        for username, _group, _superuser, role in demo.DEMO_USERS:
            self.stdout.write(f"  {username:<8} {passwords[username]}   ({role})")
        self.stdout.write(f"Log in at {base_url}{reverse('login')}")
        self.stdout.write(
            f"Django admin (admin and abuse): {base_url}{reverse('admin:index')}"
        )
