"""What the page benchmarks measure besides latency: the CPU of the server's
processes per run."""

import os
import time

import pytest

from abusedesk import benchhttp

pytestmark = pytest.mark.django_db


class _ThisProcessAsServer:
    """A stand-in server whose only worker is the test process itself."""

    def worker_pids(self) -> list[int]:
        return [os.getpid()]


def _burn(seconds: float) -> None:
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass


def test_cpu_meter_counts_what_the_workers_spend_between_start_and_stop():
    meter = benchhttp.CpuMeter(_ThisProcessAsServer())
    _burn(0.2)  # before the start: not counted
    meter.start()
    _burn(0.3)
    web, pg = meter.stop()
    assert 0.25 <= web < 0.45
    assert pg >= 0


def test_backends_are_this_databases_but_not_our_own():
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (own,) = cursor.fetchone()
    assert own not in benchhttp.backend_pids()
