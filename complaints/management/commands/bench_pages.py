"""``manage.py bench_pages``: p50/p95 of the abuse staff pages over HTTP, each in
its worst realistic case, under concurrent clients.

gunicorn serves the desk as in production (README "Running it in production"),
wrk (Debian's package) drives ``--clients`` connections for ``--seconds`` per
page. No staff page is served from a cache: every request does the whole work
(the dashboard's kept per-day counts are kept in the database, and a day due
for its recount costs one indexed count of that day). The pages:
the dashboard; the queue's first page, its last page, its last page sorted by
subject, pages deep inside the sorted queue, a filtered and a date-ranged
queue; complaints; mailings, and the busiest mailing (tens of thousands of
complaints); the mailings list, first and last page; subscribers; the failed
queue, first and last page. Run it after ``populate_scale``. The last line is
``key=value`` pairs: p95 per page group and the worst p95.

Beside the latencies, each page's CPU per request of the gunicorn workers
(``web cpu``) and of this database's PostgreSQL backends (``pg cpu``), read from
/proc before and after its wrk run: with more clients than cores the latency is
mostly that CPU queued behind the other requests', and the CPU hardly moves with
other work on the machine, so it is the figure that compares runs.
``--only "dashboard,queue"`` runs some pages; ``--workers``, ``--worker-class``
and ``--threads`` start gunicorn otherwise than production does.
"""

import random

from django.core.cache import cache
from django.core.management.base import BaseCommand, CommandError
from django.http import QueryDict

from abusedesk import benchhttp
from abusedesk.pagination import KeysetPaginator
from accounts.models import Subscriber
from complaints import selectors
from complaints.models import Complaint, InboundMessage, Mailing
from complaints.selectors import complaint_sort_keys

BENCH_USER = "bench-abuse"
SAMPLE = 400


class Command(BaseCommand):
    help = "p50/p95 of the abuse staff pages under concurrent HTTP clients (wrk)."

    def add_arguments(self, parser):
        parser.add_argument("--clients", type=int, default=8)
        parser.add_argument("--seconds", type=int, default=10, help="per page")
        parser.add_argument("--port", type=int, default=8765)
        parser.add_argument("--workers", type=int, default=4)
        parser.add_argument("--worker-class", default="sync")
        parser.add_argument("--threads", type=int, default=1)
        parser.add_argument("--vacuum", action="store_true")
        parser.add_argument(
            "--only", default="", help="comma-separated page names (default: all)"
        )
        parser.add_argument(
            "--think-ms",
            type=int,
            default=0,
            help="each client waits up to this long between requests (0: none)",
        )

    def handle(self, *args, **options):
        if not benchhttp.wrk_available():
            raise CommandError("wrk is missing: apt-get install wrk")
        if not Complaint.objects.exists():
            raise CommandError("No complaints: run populate_scale first.")
        vacuumed = benchhttp.vacuum_state(vacuum=options["vacuum"])
        cookie = benchhttp.session_cookie(username=BENCH_USER, group="abuse")
        pages = _pages(random.Random(1))  # noqa: S311  (a fixed sample)
        only = {name.strip() for name in options["only"].split(",") if name.strip()}
        if only - set(pages):
            raise CommandError(f"No such page: {', '.join(sorted(only - set(pages)))}")
        pages = {
            name: paths for name, paths in pages.items() if not only or name in only
        }
        server = benchhttp.DeskServer(
            port=options["port"],
            workers=options["workers"],
            worker_class=options["worker_class"],
            threads=options["threads"],
        )
        results = {}
        with server:
            self.stdout.write(
                f"{'page':<36} {'requests':>8} {'p50 ms':>8} {'p95 ms':>8} "
                f"{'p99 ms':>8} {'max ms':>8} {'web cpu':>8} {'pg cpu':>8}"
            )
            for name, paths in pages.items():
                _check(server, cookie, paths[0])
                cache.clear()
                figures = benchhttp.wrk_run(
                    port=options["port"],
                    cookie=cookie,
                    paths=paths,
                    clients=options["clients"],
                    seconds=options["seconds"],
                    think_ms=options["think_ms"],
                    meter=benchhttp.CpuMeter(server),
                )
                if figures.errors:
                    raise CommandError(f"{name}: {figures.errors} failed requests")
                results[name] = figures
                self.stdout.write(
                    f"{name:<36} {figures.requests:>8} {figures.p50_ms:>8.1f} "
                    f"{figures.p95_ms:>8.1f} {figures.p99_ms:>8.1f} "
                    f"{figures.max_ms:>8.1f} {figures.web_cpu_ms:>8.1f} "
                    f"{figures.pg_cpu_ms:>8.1f}"
                )
        worst = max(results, key=lambda name: results[name].p95_ms)
        summary = {}
        for name, f in results.items():
            key = name.replace(" ", "_").replace(",", "")
            summary[f"{key}_p95_ms"] = f"{f.p95_ms:.0f}"
            summary[f"{key}_cpu_ms"] = f"{f.web_cpu_ms + f.pg_cpu_ms:.1f}"
        self.stdout.write(
            f"worst page: {worst}; load average {benchhttp.load_average()}"
        )
        self.stdout.write(
            f"pages_p95_max_ms={results[worst].p95_ms:.0f} "
            f"pages_p50_max_ms={max(f.p50_ms for f in results.values()):.0f} "
            f"pages_cpu_max_ms={max(f.web_cpu_ms + f.pg_cpu_ms for f in results.values()):.1f} "
            + " ".join(f"{key}={value}" for key, value in summary.items())
            + f" clients={options['clients']} think_ms={options['think_ms']}"
            f" complaints={Complaint.objects.count()}"
            f" vacuumed={vacuumed} load={benchhttp.load_average()}"
        )


def _check(server, cookie: str, path: str) -> None:
    status, _elapsed, final = server.get(path, cookie)
    if status != 200:
        raise CommandError(f"{path} answered {status} (at {final})")


def _pages(rng: random.Random) -> dict[str, list[str]]:
    complaint_ids = _sample_ids(Complaint, rng)
    mailing_ids = _sample_ids(Mailing, rng)
    subscriber_ids = _sample_ids(Subscriber, rng)
    busiest = Mailing.objects.order_by("-complaint_count").values_list(
        "pk", "subscriber_id"
    )[:5]
    failed = InboundMessage.objects.filter(state=InboundMessage.State.FAILED)
    if not failed.exists():
        raise CommandError("No failed messages: populate_scale makes a full queue.")
    newest = Complaint.objects.order_by("-received_at").values_list(
        "received_at", flat=True
    )[0]
    day = f"{newest:%Y-%m-%d}"
    return {
        "dashboard": ["/dashboard/"],
        "queue": ["/complaints/"],
        "queue last page": ["/complaints/?last=1"],
        "queue by subject last page": ["/complaints/?order=subject&last=1"],
        "queue by subject deep pages": _deep_pages(rng, complaint_ids, "subject"),
        "queue by received deep pages": _deep_pages(rng, complaint_ids, "-received"),
        "queue new filtered by text": ["/complaints/?state=new&text=prize"],
        "queue one day": [f"/complaints/?received_after={day}&received_before={day}"],
        "complaint": [f"/complaints/{pk}/" for pk in complaint_ids],
        "mailing": [f"/mailings/{pk}/" for pk in mailing_ids],
        "mailing busiest": [f"/mailings/{pk}/" for pk, _owner in busiest],
        "mailings list": ["/mailings/"],
        "mailings list last page": ["/mailings/?order=-complaints&last=1"],
        "subscriber": [f"/subscribers/{pk}/" for pk in subscriber_ids],
        "subscriber of busiest": [f"/subscribers/{o}/" for _pk, o in busiest],
        "failed queue": ["/inbound/failed/"],
        "failed queue last page": ["/inbound/failed/?last=1"],
    }


def _deep_pages(rng: random.Random, ids: list[int], order: str) -> list[str]:
    """Pages that start after a random complaint of the sorted queue: as deep
    as a person paging (or following a link) gets."""
    keys, nullable = complaint_sort_keys(order)
    paginator = KeysetPaginator(
        selectors.complaint_list(),
        keys=keys,
        per_page=50,
        nullable_first_key=nullable,
    )
    rows = selectors.complaint_list().filter(pk__in=rng.sample(ids, min(50, len(ids))))
    query = QueryDict(mutable=True)
    paths = []
    for row in rows:
        query["order"] = order
        query["after"] = paginator.cursor_of(row)
        paths.append(f"/complaints/?{query.urlencode()}")
    return paths


def _sample_ids(model, rng: random.Random) -> list[int]:
    top = model.objects.order_by("-pk").values_list("pk", flat=True).first() or 1
    ids = set(
        model.objects.filter(
            pk__in=[rng.randint(1, top) for _ in range(SAMPLE * 2)]
        ).values_list("pk", flat=True)
    )
    return sorted(ids)[:SAMPLE] or [top]
