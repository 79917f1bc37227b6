"""Measures the staff pages' latency over HTTP on loopback: starts gunicorn on the
current database, logs a bench user in, requests each page a bounded number of
times and prints p50 and p95 per page. Run it after ``populate_scale``."""

import http.client
import os
import random
import statistics
import subprocess
import sys
import time

from django.conf import settings
from django.contrib.auth.models import Group, User
from django.core.management.base import BaseCommand
from django.test import Client

from accounts.models import Subscriber
from complaints.models import Complaint, Mailing

BENCH_USER = "bench-abuse"


class Command(BaseCommand):
    help = "Print p50/p95 latency of the abuse staff pages (gunicorn on loopback)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--requests", type=int, default=100, help="Requests per page."
        )
        parser.add_argument("--port", type=int, default=8765)
        parser.add_argument("--workers", type=int, default=2)

    def handle(self, *args, requests: int, port: int, workers: int, **options):
        cookie = self._session_cookie()
        server = self._start_server(port, workers)
        try:
            self._wait_ready(port)
            self.stdout.write(
                f"{'page':<34} {'n':>5} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}"
            )
            for name, paths in self._pages(requests).items():
                timings = self._measure(port, cookie, paths)
                self._report(name, timings)
        finally:
            server.terminate()
            server.wait(timeout=10)

    def _session_cookie(self) -> str:
        user, _ = User.objects.get_or_create(username=BENCH_USER)
        user.groups.add(Group.objects.get_or_create(name="abuse")[0])
        client = Client()
        client.force_login(user)
        return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"

    def _pages(self, n: int) -> dict[str, list[str]]:
        rng = random.Random(1)  # noqa: S311  (a fixed sample, not a secret)
        complaint_ids = _sample_ids(Complaint, rng, n)
        mailing_ids = _sample_ids(Mailing, rng, n)
        subscriber_ids = _sample_ids(Subscriber, rng, n)
        busiest = list(
            Mailing.objects.order_by("-complaint_count").values_list("pk", flat=True)[
                :n
            ]
        )
        return {
            "dashboard": ["/dashboard/"] * n,
            "complaint queue": ["/complaints/"] * n,
            "queue: new, filtered by text": ["/complaints/?state=new&text=prize"] * n,
            "queue: sorted by subject, page 3": ["/complaints/?order=subject&page=3"]
            * n,
            "complaint detail": [f"/complaints/{pk}/" for pk in complaint_ids],
            "mailing detail": [f"/mailings/{pk}/" for pk in mailing_ids],
            "mailing detail (busiest)": [f"/mailings/{pk}/" for pk in busiest],
            "subscriber page": [f"/subscribers/{pk}/" for pk in subscriber_ids],
            "failed-ingest queue": ["/inbound/failed/"] * n,
        }

    def _start_server(self, port: int, workers: int) -> subprocess.Popen:
        env = dict(os.environ)
        env.update(
            {
                "DJANGO_DEBUG": "0",
                "DJANGO_SECRET_KEY": env.get("DJANGO_SECRET_KEY")
                or "bench-only-secret-key-0123456789-abcdefghij",
                "DJANGO_SECURE_SSL_REDIRECT": "0",
                "DJANGO_SESSION_COOKIE_SECURE": "0",
                "DJANGO_LOG_LEVEL": "WARNING",
            }
        )
        # Production static storage needs its manifest, as in a real deployment.
        manage = [sys.executable, str(settings.BASE_DIR / "manage.py")]
        collect = [*manage, "collectstatic", "--no-input", "-v0"]
        subprocess.run(collect, env=env, check=True)  # noqa: S603
        args = [
            sys.executable,
            "-m",
            "gunicorn",
            "abusedesk.wsgi",
            "--workers",
            str(workers),
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
        ]
        return subprocess.Popen(args, env=env, cwd=settings.BASE_DIR)  # noqa: S603

    def _wait_ready(self, port: int) -> None:
        for _ in range(100):
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                conn.request("GET", "/healthz/")
                if conn.getresponse().status == 200:
                    return
            except OSError:
                time.sleep(0.1)
        raise SystemExit("gunicorn did not start")

    def _measure(self, port: int, cookie: str, paths: list[str]) -> list[float]:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        headers = {"Cookie": cookie, "Host": "127.0.0.1"}
        timings = []
        for n, path in enumerate([paths[0], *paths]):  # the first is a warm-up
            started = time.perf_counter()
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            response.read()
            elapsed = (time.perf_counter() - started) * 1000
            if response.status != 200:
                raise SystemExit(f"{path} answered {response.status}")
            if n:
                timings.append(elapsed)
        return timings

    def _report(self, name: str, timings: list[float]) -> None:
        ordered = sorted(timings)
        p95 = ordered[max(0, int(len(ordered) * 0.95) - 1)]
        self.stdout.write(
            f"{name:<34} {len(ordered):>5} {statistics.median(ordered):>8.1f} {p95:>8.1f} {ordered[-1]:>8.1f}"
        )


def _sample_ids(model, rng: random.Random, n: int) -> list[int]:
    top = model.objects.order_by("-pk").values_list("pk", flat=True).first() or 1
    ids = set(
        model.objects.filter(
            pk__in=[rng.randint(1, top) for _ in range(n * 2)]
        ).values_list("pk", flat=True)
    )
    return [pk for pk in sorted(ids)][:n] or [top]
