"""Two staff clicking at the same moment, as two processes with their own database
connections, released together by a barrier.

The data must be committed for the children to see it, so these tests are
transactional. The children use this test database and the file email backend,
writing into a directory the test then reads.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from accounts.models import Action, Subscriber
from complaints.models import Strike
from tests.accounts.factories import SubscriberFactory, UserFactory
from tests.complaints.factories import MailingFactory, StrikeFactory

pytestmark = pytest.mark.django_db(transaction=True)

# Runs in each child: connect, report ready, wait for "go", issue, report the strike.
CHILD = """
import os, sys
import django
django.setup()
from django.conf import settings
settings.EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
settings.EMAIL_FILE_PATH = os.environ["NOTICE_DIR"]
from django.contrib.auth.models import User
from complaints.models import Mailing
from complaints.services import strike_issue
mailing = Mailing.objects.get(pk=int(os.environ["MAILING_ID"]))
actor = User.objects.get(pk=int(os.environ["ACTOR_ID"]))
sys.stdout.write("ready\\n")
sys.stdout.flush()
sys.stdin.readline()
strike = strike_issue(mailing=mailing, actor=actor)
sys.stdout.write(f"strike {strike.pk}\\n")
"""


def database_url() -> str:
    """The URL of this test database, for the children's settings."""
    db = settings.DATABASES["default"]
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    port = db.get("PORT") or 5432
    return f"postgres://{db['USER']}{password}@{db['HOST']}:{port}/{db['NAME']}"


def issue_at_once(jobs: list[tuple[int, int]], notice_dir: Path) -> list[str]:
    """Start one child per (mailing id, actor id), release them together and
    return what each printed last."""
    base = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "abusedesk.settings_test",
        "DATABASE_URL": database_url(),
        "NOTICE_DIR": str(notice_dir),
    }
    children = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD],
            cwd=settings.BASE_DIR,
            env={**base, "MAILING_ID": str(mailing_id), "ACTOR_ID": str(actor_id)},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for mailing_id, actor_id in jobs
    ]
    try:
        for child in children:
            assert child.stdout.readline().strip() == "ready"
        for child in children:  # the barrier: everyone is connected and waiting
            child.stdin.write("go\n")
            child.stdin.flush()
        outputs = [child.communicate(timeout=60)[0] for child in children]
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
    assert [child.returncode for child in children] == [0] * len(children)
    return [output.strip().splitlines()[-1] for output in outputs]


def notices_sent(notice_dir: Path) -> list[str]:
    """The subjects of every message the children's backends wrote."""
    return [
        line.removeprefix("Subject: ")
        for path in notice_dir.iterdir()
        for line in path.read_text().splitlines()
        if line.startswith("Subject: ")
    ]


def test_two_staff_striking_one_mailing_at_once_make_one_strike_and_one_notice(
    tmp_path,
):
    subscriber = SubscriberFactory()
    mailing = MailingFactory(subscriber=subscriber, complaint_count=3)
    first, second = UserFactory(), UserFactory()

    printed = issue_at_once([(mailing.pk, first.pk), (mailing.pk, second.pk)], tmp_path)

    strike = Strike.objects.get(mailing=mailing)
    assert printed == [f"strike {strike.pk}"] * 2
    assert list(
        Action.objects.filter(subscriber=subscriber)
        .order_by("pk")
        .values_list("kind", flat=True)
    ) == [Action.Kind.STRIKE, Action.Kind.WARNING]
    assert len(notices_sent(tmp_path)) == 1


def test_two_strikes_on_different_mailings_at_once_reach_the_limit_exactly_once(
    tmp_path,
):
    """With one strike already, two more at the same moment make three: the
    subscriber lock lets exactly one of them see three and suspend."""
    subscriber = SubscriberFactory()
    StrikeFactory(
        mailing=MailingFactory(subscriber=subscriber), issued_at=timezone.now()
    )
    mailings = [
        MailingFactory(subscriber=subscriber, complaint_count=1) for _ in range(2)
    ]
    actor = UserFactory()

    issue_at_once([(m.pk, actor.pk) for m in mailings], tmp_path)

    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.SUSPENDED
    kinds = list(
        Action.objects.filter(subscriber=subscriber).values_list("kind", flat=True)
    )
    assert sorted(kinds) == sorted(
        [
            Action.Kind.STRIKE,
            Action.Kind.STRIKE,
            Action.Kind.FINAL_WARNING,
            Action.Kind.SUSPENSION,
        ]
    )
    assert len(notices_sent(tmp_path)) == 2
