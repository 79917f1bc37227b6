"""The jobs, each run twice through a real RQ worker: nothing doubles."""

import json

import django_rq
import pytest
import redis
from django.conf import settings
from django.utils import timezone

from outbound.jobs import submissions_drain_job
from outbound.models import Submission
from outbound.policy.recorder import STREAM_KEY
from tests.outbound.conftest import clear_outbound_keys

pytestmark = pytest.mark.django_db


def test_drain_job_twice_writes_each_submission_once(run_jobs):
    clear_outbound_keys(settings.REDIS_URL)
    client = redis.Redis.from_url(settings.REDIS_URL)
    record = {
        "h": "relay.test",
        "q": "4ABCDEFGHJ",
        "t": timezone.now().timestamp(),
        "l": "",
        "s": None,
        "n": 1,
        "a": "dunno",
        "r": "pass",
    }
    client.xadd(STREAM_KEY, {"r": json.dumps([record])})
    queue = django_rq.get_queue("default")
    queue.enqueue(submissions_drain_job)
    queue.enqueue(submissions_drain_job)
    run_jobs("default")
    assert Submission.objects.count() == 1
    clear_outbound_keys(settings.REDIS_URL)
