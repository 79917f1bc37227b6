"""``manage.py bench_page_cpu``: the Python CPU each abuse staff page costs per
request, in-process, on the pages ``bench_pages`` loads over HTTP.

With 8 clients on 2 cores a page's p95 is mostly its CPU queued behind the
others', and wall-clock figures on a shared machine are noisy: process CPU time
per request is the figure that compares runs. Each page's paths are requested
through Django's test client as the bench user (with the production settings
the environment gives: run it with ``DJANGO_DEBUG=0`` for the cached template
loader), after two warm-up requests. Run it after ``populate_scale``. The last
line is ``key=value`` pairs: the median CPU ms per page and the worst.
"""

import random
import statistics
import time

from django.conf import settings
from django.contrib.auth.models import Group, User
from django.core.management.base import BaseCommand, CommandError
from django.test import Client

from complaints.management.commands.bench_pages import BENCH_USER, _pages
from complaints.models import Complaint

WARM_UP = 2


class Command(BaseCommand):
    help = "Median Python CPU per request of each abuse staff page, in-process."

    def add_arguments(self, parser):
        parser.add_argument("--requests", type=int, default=20, help="per page")
        parser.add_argument(
            "--only", default="", help="comma-separated page names (default: all)"
        )

    def handle(self, *args, **options):
        if not Complaint.objects.exists():
            raise CommandError("No complaints: run populate_scale first.")
        client = _logged_in_client()
        only = {name.strip() for name in options["only"].split(",") if name.strip()}
        pages = _pages(random.Random(1))  # noqa: S311  (a fixed sample)
        figures = {}
        self.stdout.write(f"{'page':<36} {'cpu median ms':>14} {'cpu min ms':>11}")
        for name, paths in pages.items():
            if only and name not in only:
                continue
            times = _cpu_per_request(client, paths, options["requests"])
            figures[name] = statistics.median(times)
            self.stdout.write(f"{name:<36} {figures[name]:>14.1f} {min(times):>11.1f}")
        if not figures:
            raise CommandError(f"No such page: {options['only']}")
        worst = max(figures, key=figures.get)
        self.stdout.write(
            f"page_cpu_max_ms={figures[worst]:.1f} worst={worst.replace(' ', '_')} "
            + " ".join(
                f"{name.replace(' ', '_')}_cpu_ms={value:.1f}"
                for name, value in figures.items()
            )
            + f" debug={int(settings.DEBUG)} complaints={Complaint.objects.count()}"
        )


def _logged_in_client() -> Client:
    user, _ = User.objects.get_or_create(username=BENCH_USER)
    user.groups.add(Group.objects.get_or_create(name="abuse")[0])
    # A request as production receives it: over HTTPS (the desk may redirect
    # plain HTTP) and to a host name the desk answers to.
    host = settings.ALLOWED_HOSTS[0].lstrip(".").replace("*", "localhost")
    client = Client(SERVER_NAME=host)
    client.force_login(user)
    return client


def _cpu_per_request(client: Client, paths: list[str], requests: int) -> list[float]:
    for path in paths[:WARM_UP]:
        _get(client, path)
    times = []
    for n in range(requests):
        started = time.process_time()
        _get(client, paths[n % len(paths)])
        times.append((time.process_time() - started) * 1000)
    return times


def _get(client: Client, path: str) -> None:
    response = client.get(path, secure=True)
    if response.status_code != 200:
        raise CommandError(f"{path} answered {response.status_code}")
