"""``manage.py bench_support``: latency of the support rep's lookups on a
populated database, over HTTP.

gunicorn serves the desk as in production; one support rep looks subscribers
up by account number, login, mail address, contact address, IP address (a
static one, an IPv6 address inside a /56, an address of the dynamic pool at a
date in its lease history) and the start of a name, each request followed
through its redirect to the rendered subscriber page, and opens the subscriber
page, the printable history and the CSV. Prints p50, p95 and max per kind; the
last line is ``key=value`` pairs with the worst p95.

``--populate N`` first fills the database up to N subscribers with
make_subscriber_csv and import_subscribers, and gives ``--history`` of them a strike
history (mailings, strikes, status changes, notices). It writes to the database
it is pointed at: use a scratch one, e.g.::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/abusedesk_h5 \\
        manage.py bench_support --populate 200000 --requests 500

``populate_scale`` makes such a database too (with its dynamic pool).
"""

import random
import statistics
import tempfile
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode

from django.apps import apps
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from abusedesk import benchhttp
from accounts.models import Action, IPAssignment, MailAccount, Subscriber

BENCH_USER = "bench-support"
SAMPLE_SIZE = 2000


class Command(BaseCommand):
    help = "p50/p95 of support lookups (following redirects) and the history pages."

    def add_arguments(self, parser):
        parser.add_argument("--requests", type=int, default=200, help="per kind")
        parser.add_argument("--populate", type=int, default=0, metavar="N")
        parser.add_argument("--history", type=int, default=2000, metavar="N")
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--warmup", type=int, default=10)
        parser.add_argument("--port", type=int, default=8766)
        parser.add_argument("--workers", type=int, default=4)
        parser.add_argument("--vacuum", action="store_true")

    def handle(self, *args, **options):
        if options["populate"]:
            self._populate(options["populate"], options["history"])
        total = Subscriber.objects.count()
        if not total:
            raise CommandError("No subscribers: run with --populate N first.")
        vacuumed = benchhttp.vacuum_state(vacuum=options["vacuum"])
        rng = random.Random(options["seed"])  # noqa: S311 - sampling, not secrets
        cookie = benchhttp.session_cookie(username=BENCH_USER, group="support")
        pages = _pages(rng)
        self.stdout.write(
            f"{total} subscribers, {options['requests']} requests per kind, "
            "each followed to the rendered page"
        )
        self.stdout.write(f"{'lookup':<24} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
        p95s = {}
        with benchhttp.DeskServer(
            port=options["port"], workers=options["workers"]
        ) as server:
            for name, make_url in pages.items():
                timings = _measure(
                    server, cookie, make_url, options["requests"], options["warmup"]
                )
                p95s[name] = benchhttp.percentile(timings, 95)
                self.stdout.write(
                    f"{name:<24} {statistics.median(timings):>8.1f} "
                    f"{p95s[name]:>8.1f} {max(timings):>8.1f}"
                )
        worst = max(p95s, key=p95s.get)
        lookups = {name: v for name, v in p95s.items() if name.startswith("search")}
        self.stdout.write(f"worst: {worst}; load average {benchhttp.load_average()}")
        self.stdout.write(
            f"support_p95_max_ms={p95s[worst]:.0f} "
            f"lookup_p95_max_ms={max(lookups.values()):.0f} "
            f"ip_lookup_p95_ms={max(v for n, v in p95s.items() if 'IP' in n):.0f} "
            f"subscribers={total} vacuumed={vacuumed} "
            f"load={benchhttp.load_average()}"
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


def _pages(rng: random.Random) -> dict[str, Callable[[], str]]:
    """Each kind as a function returning the next URL, drawn from real rows."""
    top = Subscriber.objects.order_by("-pk").values_list("pk", flat=True).first()
    ids = list(
        Subscriber.objects.filter(
            pk__in=[rng.randint(1, top) for _ in range(SAMPLE_SIZE)]
        ).values_list("pk", flat=True)
    )
    numbers = list(
        Subscriber.objects.filter(pk__in=ids).values_list(
            "account_number", "name", "contact_email"
        )
    )
    accounts = list(
        MailAccount.objects.filter(subscriber_id__in=ids).values_list(
            "login", "address"
        )
    )
    leases = IPAssignment.objects.filter(subscriber_id__in=ids)
    v4 = [n for n in leases.values_list("network", flat=True) if ":" not in n]
    v6 = [n for n in leases.values_list("network", flat=True) if ":" in n]
    # The addresses with the longest lease history, each at a time inside it.
    pool = list(
        IPAssignment.objects.filter(valid_to__isnull=False)
        .order_by("-valid_from")
        .values_list("network", "valid_from")[:SAMPLE_SIZE]
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

    def query(text: str, **extra) -> str:
        return f"{search}?{urlencode({'q': text, **extra})}"

    kinds = {
        "search account no.": lambda: query(rng.choice(numbers)[0]),
        "search login": lambda: query(rng.choice(accounts)[0]),
        "search address": lambda: query(rng.choice(accounts)[1]),
        "search contact address": lambda: query(rng.choice(numbers)[2]),
        "search IP": lambda: query(_host_in(rng.choice(v4))),
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
    if v6:
        kinds["search IPv6 in a /56"] = lambda: query(_host_in(rng.choice(v6)))
    if pool:

        def leased() -> str:
            network, since = rng.choice(pool)
            at = since + timedelta(hours=rng.randrange(1, 72))
            return query(_host_in(network), at=f"{at:%Y-%m-%dT%H:%M}")

        kinds["search pool IP at a date"] = leased
    return kinds


def _host_in(network: str) -> str:
    """An address inside ``network`` (its first host for a prefix)."""
    address, _, prefix = network.partition("/")
    if prefix and ":" in address:
        return address.rstrip(":") + "::5" if address.endswith("::") else address
    return address


def _measure(server, cookie: str, make_url, requests: int, warmup: int):
    for _ in range(warmup):
        server.get(make_url(), cookie)
    timings = []
    for _ in range(requests):
        url = make_url()
        status, elapsed, final = server.get(url, cookie)
        if status != 200:
            raise CommandError(f"{url} ended at {final} with {status}")
        timings.append(elapsed)
    return timings


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
