"""``manage.py make_subscriber_csv --count N OUT.csv``: a synthetic billing export.

For trying and timing import_subscribers. The people are generated (Faker with a
fixed seed), addresses use reserved example domains, and IP assignments come from
the shared address space 100.64.0.0/10 and the documentation prefix 2001:db8::/32,
so the file names no real customer or network.
"""

import csv
import ipaddress
import random
from datetime import UTC, datetime, timedelta

from django.core.management.base import BaseCommand
from faker import Faker

from accounts.importing import (
    COLUMNS,
    IPAssignmentRow,
    MailAccountRow,
    SubscriberRow,
    format_row,
)

SHARED_SPACE = int(ipaddress.IPv4Address("100.64.0.0"))
DOC_PREFIX_V6 = ipaddress.IPv6Network("2001:db8::/32")
STATUS_WEIGHTS = {"active": 94, "restricted": 2, "suspended": 3, "terminated": 1}
EPOCH = datetime(2024, 1, 1, tzinfo=UTC)


class Command(BaseCommand):
    help = "Write a synthetic subscriber CSV in the import_subscribers format."

    def add_arguments(self, parser):
        parser.add_argument("out", help="file to write")
        parser.add_argument("--count", type=int, default=1000)
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument(
            "--prefix", default="B", help="account number prefix (default B)"
        )

    def handle(self, *args, **options):
        generator = SubscriberGenerator(seed=options["seed"], prefix=options["prefix"])
        with open(options["out"], "w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=COLUMNS)
            writer.writeheader()
            for number in range(options["count"]):
                writer.writerow(format_row(generator.row(number)))
        self.stdout.write(f"wrote {options['count']} subscribers to {options['out']}")


class SubscriberGenerator:
    """Deterministic rows: the same seed and number always give the same row."""

    def __init__(self, *, seed: int, prefix: str):
        faker = Faker()
        faker.seed_instance(seed)
        # Pools keep Faker out of the per-row path; combinations stay varied.
        self.first_names = [faker.first_name() for _ in range(400)]
        self.last_names = [faker.last_name() for _ in range(400)]
        self.random = random.Random(seed)  # noqa: S311 - test data, not secrets
        self.prefix = prefix

    def row(self, number: int) -> SubscriberRow:
        first = self.random.choice(self.first_names)
        last = self.random.choice(self.last_names)
        account_number = f"{self.prefix}{number:08d}"
        handle = f"{first[0]}{last}".lower().replace("'", "").replace(" ", "")
        return SubscriberRow(
            line=number + 2,
            account_number=account_number,
            name=f"{first} {last}",
            contact_email=f"{handle}.{number}@customer.example",
            status=self.random.choices(
                list(STATUS_WEIGHTS), weights=list(STATUS_WEIGHTS.values())
            )[0],
            mail_accounts=self._mail_accounts(handle=f"{handle}{number}"),
            ip_assignments=self._ip_assignments(number=number),
        )

    def _mail_accounts(self, *, handle: str) -> tuple[MailAccountRow, ...]:
        logins = [handle, f"{handle}.shop", f"{handle}.info"]
        count = self.random.choice((1, 2, 2, 2, 3))
        return tuple(
            MailAccountRow(
                login=login,
                address=f"{login}@mail.isp.example",
                is_webmail=self.random.random() < 0.3,
            )
            for login in logins[:count]
        )

    def _ip_assignments(self, *, number: int) -> tuple[IPAssignmentRow, ...]:
        start = EPOCH + timedelta(hours=self.random.randrange(0, 24 * 365))
        current = IPAssignmentRow(
            network=str(ipaddress.IPv4Address(SHARED_SPACE + number)),
            valid_from=start,
            valid_to=None,
        )
        if self.random.random() < 0.5:
            return (current,)
        subnet = DOC_PREFIX_V6.network_address + (number << 72)
        earlier = IPAssignmentRow(
            network=f"{subnet}/56",
            valid_from=start - timedelta(days=self.random.randrange(30, 400)),
            valid_to=start,
        )
        return (current, earlier)
