"""``manage.py bench_support``: latency of the support rep's pages on a populated DB.

Measures the subscriber search (by account number, login, address, IP address and
the start of a name) and the subscriber page with its strike history, through
Django's test Client logged in as a support rep: the full stack (middleware,
views, queries, templates) without the network. Prints p50, p95 and max per page,
and the queries one request of each makes.

``--populate N`` first fills the database up to N subscribers with
make_subscriber_csv and import_subscribers, and gives ``--history`` of them a strike
history (mailings, strikes, status changes, notices). It writes to the database
it is pointed at: use a scratch one, e.g.::

    DJANGO_DEBUG=1 DATABASE_URL=postgres://postgres@127.0.0.1:5432/abusedesk_h5 \\
        manage.py bench_support --populate 200000 --requests 500
"""

import random
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode

from django.apps import apps
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import Action, IPAssignment, MailAccount, Subscriber

BENCH_USER = "bench-support"
SAMPLE_SIZE = 2000


class Command(BaseCommand):
    help = "Measure p95 latency of subscriber search and the history page."

    def add_arguments(self, parser):
        parser.add_argument("--requests", type=int, default=300, help="per page")
        parser.add_argument("--populate", type=int, default=0, metavar="N")
        parser.add_argument("--history", type=int, default=2000, metavar="N")
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--warmup", type=int, default=20)

    def handle(self, *args, **options):
        if options["populate"]:
            self._populate(options["populate"], options["history"])
        total = Subscriber.objects.count()
        if not total:
            raise CommandError("No subscribers: run with --populate N first.")
        rng = random.Random(options["seed"])  # noqa: S311 - sampling, not secrets
        client = Client(HTTP_HOST="localhost")
        client.force_login(_bench_user())
        pages = _pages(rng)
        self.stdout.write(
            f"{total} subscribers, {options['requests']} requests per page "
            f"({connection.vendor})"
        )
        self.stdout.write(
            f"{'page':<22} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}  queries"
        )
        for name, make_url in pages.items():
            timings, queries = _measure(
                client, make_url, options["requests"], options["warmup"]
            )
            self.stdout.write(
                f"{name:<22} {_ms(statistics.median(timings)):>8} "
                f"{_ms(_p95(timings)):>8} {_ms(max(timings)):>8}  {queries}"
            )

    def _populate(self, count: int, history: int) -> None:
        missing = count - Subscriber.objects.count()
        if missing > 0:
            with tempfile.TemporaryDirectory() as folder:
                path = Path(folder) / "subscribers.csv"
                prefix = f"N{Subscriber.objects.count()}"
                call_command(
                    "make_subscriber_csv", str(path), count=missing, prefix=prefix
                )
                call_command("import_subscribers", str(path))
        made = _history_populate(count=history)
        self.stdout.write(f"gave {made} subscribers a strike history")


def _bench_user() -> User:
    user, _ = User.objects.get_or_create(username=BENCH_USER)
    group, _ = Group.objects.get_or_create(name="support")
    user.groups.add(group)
    return user


def _pages(rng: random.Random) -> dict[str, Callable[[], str]]:
    """Each page as a function returning the next URL, drawn from real rows."""
    ids = list(
        Subscriber.objects.order_by("?").values_list("pk", flat=True)[:SAMPLE_SIZE]
    )
    numbers = list(
        Subscriber.objects.filter(pk__in=ids).values_list("account_number", "name")
    )
    accounts = list(
        MailAccount.objects.filter(subscriber_id__in=ids).values_list(
            "login", "address"
        )
    )
    networks = list(
        IPAssignment.objects.filter(subscriber_id__in=ids).values_list(
            "network", flat=True
        )
    )
    with_history = (
        list(
            Action.objects.values_list("subscriber_id", flat=True).distinct()[
                :SAMPLE_SIZE
            ]
        )
        or ids
    )
    search = reverse("accounts:subscriber_search")

    def query(text: str) -> str:
        return f"{search}?{urlencode({'q': text})}"

    return {
        "search account no.": lambda: query(rng.choice(numbers)[0]),
        "search login": lambda: query(rng.choice(accounts)[0]),
        "search address": lambda: query(rng.choice(accounts)[1]),
        "search IP": lambda: query(_host_in(rng.choice(networks))),
        "search name prefix": lambda: query(rng.choice(numbers)[1][:6].strip()),
        "subscriber + history": lambda: reverse(
            "accounts:subscriber_detail", args=[rng.choice(with_history)]
        ),
        "history print": lambda: reverse(
            "accounts:subscriber_history_print", args=[rng.choice(with_history)]
        ),
        "history CSV": lambda: reverse(
            "accounts:subscriber_history_csv", args=[rng.choice(with_history)]
        ),
    }


def _host_in(network: str) -> str:
    return network.split("/")[0]


def _measure(client: Client, make_url, requests: int, warmup: int):
    for _ in range(warmup):
        client.get(make_url(), secure=True)
    timings = []
    executed = []
    # Counted through a wrapper: DEBUG's query log is reset at each request.
    with connection.execute_wrapper(
        lambda run, *args: executed.append(1) or run(*args)
    ):
        response = client.get(make_url(), secure=True)
    _check(response)
    for _ in range(requests):
        url = make_url()
        start = time.perf_counter()
        response = client.get(url, secure=True)
        timings.append(time.perf_counter() - start)
        _check(response)
    return timings, len(executed)


def _check(response) -> None:
    if response.status_code not in (200, 302):
        raise CommandError(f"{response.request['PATH_INFO']}: {response.status_code}")


def _p95(timings: list[float]) -> float:
    return statistics.quantiles(timings, n=20, method="inclusive")[18]


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


@transaction.atomic
def _history_populate(*, count: int) -> int:
    """Three mailings with strikes (one revoked), a suspension with its notice,
    warnings and notes for ``count`` subscribers that have no mailings yet."""
    # Looked up by name: accounts never imports from complaints (STYLE.md).
    Mailing = apps.get_model("complaints", "Mailing")
    Strike = apps.get_model("complaints", "Strike")
    subscribers = list(
        Subscriber.objects.filter(mailings__isnull=True).order_by("?")[:count]
    )
    now = timezone.now()
    mailings = [
        Mailing(
            subscriber=subscriber,
            sender=f"news{n}@isp.example",
            subject=f"Offer number {n} for {subscriber.account_number}",
            normalized_subject=f"offer number {n}",
            first_seen=now - timedelta(days=90 - 30 * n),
            last_seen=now - timedelta(days=90 - 30 * n),
            source=Mailing.Source.COMPLAINTS,
            state=Mailing.State.STRUCK,
            complaint_count=3,
        )
        for subscriber in subscribers
        for n in range(3)
    ]
    Mailing.objects.bulk_create(mailings)
    strikes = [
        Strike(
            mailing=mailing,
            subscriber=mailing.subscriber,
            reason=Strike.Reason.COMPLAINTS,
            issued_at=mailing.last_seen,
            revoked_at=now if index % 3 == 0 else None,
            revoke_reason="Opt-in list confirmed." if index % 3 == 0 else "",
        )
        for index, mailing in enumerate(mailings)
    ]
    Strike.objects.bulk_create(strikes)
    actions = []
    for subscriber in subscribers:
        for n, kind in enumerate(
            [Action.Kind.STRIKE, Action.Kind.WARNING, Action.Kind.NOTE] * 3
            + [Action.Kind.SUSPENSION]
        ):
            actions.append(
                Action(
                    subscriber=subscriber,
                    kind=kind,
                    reason=f"Bench entry {n}.",
                    created_at=now - timedelta(days=90 - 9 * n),
                    notice_template=_notice_for(kind),
                    notified_at=now if _notice_for(kind) else None,
                )
            )
    Action.objects.bulk_create(actions)
    return len(subscribers)


def _notice_for(kind: str) -> str:
    return {Action.Kind.WARNING: "warning", Action.Kind.SUSPENSION: "suspension"}.get(
        kind, ""
    )
