"""``manage.py import_maillog FILE...``: submissions from existing Postfix logs
(plain or .gz), so mail sent before the policy service is known too."""

import gzip
from pathlib import Path

from django.core.management.base import BaseCommand
from django.utils import timezone

from outbound.maillog import parse_maillog
from outbound.services.linking import submissions_link
from outbound.services.maillog import maillog_import


class Command(BaseCommand):
    help = (
        "Import submissions from Postfix mail logs (smtpd sasl_username, qmgr nrcpt)."
    )

    def add_arguments(self, parser):
        parser.add_argument("files", nargs="+")
        parser.add_argument(
            "--year",
            type=int,
            default=None,
            help="year of classic syslog time stamps (default: this year)",
        )

    def handle(self, *args, files, year, **options):
        year = year or timezone.now().year
        total = 0
        for name in files:
            path = Path(name)
            opener = gzip.open if path.suffix == ".gz" else open
            with opener(path, "rt", encoding="utf-8", errors="replace") as lines:
                count = maillog_import(submissions=parse_maillog(lines, year=year))
            self.stdout.write(f"{name}: {count} submissions")
            total += count
        linked = submissions_link(now=timezone.now())
        self.stdout.write(f"imported {total} submissions, {linked} linked to mailings")
