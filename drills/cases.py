"""The drills. Each returns None when the desk behaved, else what went wrong.

They run in the drills process (Django set up against the private servers) and
drive the desk as production does: ``manage.py ingest_email`` and
``import_mail`` as subprocesses, real RQ workers (``rqworker --burst``, which
fork a work horse per job), the HTTP endpoint and the public form through
Django's test client, and the periodic sweep.
"""

from __future__ import annotations

import mailbox
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg
from django.conf import settings
from django.core.management import call_command
from django.db import connections
from django.test import Client

from accounts.models import MailAccount, Subscriber
from complaints import services
from complaints.management.commands.bench_hostile import empty_parts
from complaints.models import Complaint, InboundMessage, Mailing
from complaints.services.tokens import ingest_token_create
from drills.servers import PrivatePostgres, PrivateRedis
from tests.complaints.mail import arf_report, human_complaint, reported_message

MANAGE = Path(settings.BASE_DIR) / "manage.py"
DONE = InboundMessage.State.PROCESSED


def reset() -> None:
    connections.close_all()
    call_command("flush", interactive=False, verbosity=0)
    import django_rq

    try:
        for name in ("ingest", "default"):
            django_rq.get_queue(name).connection.flushdb()  # the private Redis
    except Exception:  # noqa: BLE001, S110 - a drill may have left it stopped
        pass


def manage(*args: str, stdin: bytes = b"", timeout: float = 120):
    return subprocess.run(  # noqa: S603 - fixed argv
        [sys.executable, str(MANAGE), *args],
        input=stdin,
        capture_output=True,
        timeout=timeout,
        env=os.environ,
        cwd=MANAGE.parent,
    )


def work() -> None:
    """Run every queued job with a real (forking) RQ worker."""
    connections.close_all()
    result = manage("rqworker", "ingest", "default", "--burst", timeout=300)
    if result.returncode != 0:
        raise RuntimeError(f"worker exited {result.returncode}: {result.stderr[-300:]}")


def sweep_and_work() -> None:
    services.inbound_sweep()
    work()


def _bob() -> Subscriber:
    account = MailAccount.objects.create(
        subscriber=Subscriber.objects.create(
            account_number="A1", name="Bob's shop", contact_email="bob@shop.example"
        ),
        login="bob",
        address="bob@isp.example",
    )
    return account.subscriber


def _states() -> dict[str, int]:
    counts: dict[str, int] = {}
    for state in InboundMessage.objects.values_list("state", flat=True):
        counts[state] = counts.get(state, 0) + 1
    return counts


# -- PostgreSQL ------------------------------------------------------------


def postgres_stopped_during_the_pipe(*, pg: PrivatePostgres, **_) -> str | None:
    raw = arf_report(login="bob")
    _bob()
    connections.close_all()
    pg.stop()
    try:
        down = manage("ingest_email", stdin=raw)
    finally:
        pg.start()
    if down.returncode != os.EX_TEMPFAIL:
        return f"exit {down.returncode} with the database stopped, not 75"
    return _delivered_again_once(raw)


def postgres_hung_during_the_pipe(*, pg: PrivatePostgres, **_) -> str | None:
    raw = arf_report(login="bob")
    _bob()
    connections.close_all()
    pg.freeze()
    started = time.monotonic()
    try:
        hung = manage("ingest_email", stdin=raw, timeout=60)
    finally:
        pg.thaw()
    if hung.returncode != os.EX_TEMPFAIL:
        return f"exit {hung.returncode} with the database hung, not 75"
    if time.monotonic() - started > 30:
        return "the pipe waited more than 30 s for a hung database"
    return _delivered_again_once(raw)


def _delivered_again_once(raw: bytes) -> str | None:
    """The MTA's retry, once the database is back: stored, processed once."""
    for _ in range(2):  # the MTA may retry a delivery that did get through
        again = manage("ingest_email", stdin=raw)
        if again.returncode != 0:
            return f"exit {again.returncode} once the database was back"
    work()
    if _states() != {DONE: 1} or Complaint.objects.count() != 1:
        return f"states {_states()}, {Complaint.objects.count()} complaints"
    return None


# -- Redis -----------------------------------------------------------------


def redis_stopped_during_each_channel(*, redis: PrivateRedis, **_) -> str | None:
    _bob()
    _row, token = ingest_token_create(name="mx")
    folder = Path(tempfile.mkdtemp(prefix="desk-drill-"))
    box = mailbox.mbox(folder / "in.mbox")
    box.add(arf_report(login="bob", subject="By file"))
    box.flush()
    connections.close_all()
    redis.stop()
    try:
        problems = _channels_while_redis_is_down(token, folder / "in.mbox")
    finally:
        redis.start()
        shutil.rmtree(folder, ignore_errors=True)
    if problems:
        return problems
    if _states() != {InboundMessage.State.PENDING: 4}:
        return f"stored {_states()}, not 4 pending"
    sweep_and_work()
    sweep_and_work()  # a second round must change nothing
    if _states() != {DONE: 4} or Complaint.objects.count() != 4:
        return f"states {_states()}, {Complaint.objects.count()} complaints"
    return None


def _channels_while_redis_is_down(token: str, mbox: Path) -> str | None:
    pipe = manage("ingest_email", stdin=arf_report(login="bob", subject="By pipe"))
    if pipe.returncode != 0 or pipe.stdout or pipe.stderr:
        return f"pipe: exit {pipe.returncode}, output {pipe.stderr[-200:]!r}"
    imported = manage("import_mail", str(mbox), "--no-progress")
    if imported.returncode != 0 or b"Stored 1" not in imported.stdout:
        return f"import_mail: exit {imported.returncode}"
    client = Client()
    http = client.post(
        "/ingest/",
        data=arf_report(login="bob", subject="By HTTP"),
        content_type="message/rfc822",
        headers={"authorization": f"Bearer {token}"},
    )
    if http.status_code != 202:
        return f"POST /ingest/ answered {http.status_code}"
    form = client.post(
        "/report/",
        {
            "name": "Jo",
            "email": "jo@example.org",
            "what_happened": "Spam again.",
            "headers": reported_message(login="bob", subject="By web form"),
            "website": "",
        },
    )
    if form.status_code != 302:
        return f"the public form answered {form.status_code}"
    return None


# -- workers -----------------------------------------------------------------


def worker_killed_inside_its_transaction(**_) -> str | None:
    expected = _batch_counts(kill=False)
    reset()
    got = _batch_counts(kill=True)
    if got != expected:
        return f"after the kill {got}, without it {expected}"
    return None


def _batch_counts(*, kill: bool) -> tuple:
    bob = _bob()
    for _ in range(5):
        services.inbound_store(
            raw=arf_report(login="bob", subject="Weekly deals"),
            channel="pipe",
            enqueue=False,
        )
    services.inbound_wake()
    if kill:
        problem = _kill_worker_inside_the_batch(bob)
        if problem:
            return (problem,)
        if _states() != {InboundMessage.State.PENDING: 5}:
            return ("the killed batch left", _states())
        sweep_and_work()
    else:
        work()
    mailing = Mailing.objects.get()
    return (_states(), Complaint.objects.count(), mailing.complaint_count)


def _kill_worker_inside_the_batch(bob: Subscriber) -> str | None:
    """Hold the subscriber's row so the work horse blocks inside its
    transaction (linking locks it to create the mailing), then SIGKILL the
    worker and its work horse together."""
    connections.close_all()
    url = settings.DATABASES["default"]
    dsn = f"postgres://{url['USER']}@{url['HOST']}:{url['PORT']}/{url['NAME']}"
    with psycopg.connect(dsn) as holder:
        holder.execute(
            f"SELECT 1 FROM {Subscriber._meta.db_table} WHERE id = %s FOR UPDATE",  # noqa: S608
            [bob.pk],
        )
        worker = subprocess.Popen(  # noqa: S603 - fixed argv
            [sys.executable, str(MANAGE), "rqworker", "ingest", "--burst"],
            env=os.environ,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            if not _wait_for_a_blocked_backend(dsn):
                return "the work horse never reached the lock"
        finally:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(timeout=30)
        holder.rollback()
    return None


def _wait_for_a_blocked_backend(dsn: str, timeout: float = 60) -> bool:
    deadline = time.monotonic() + timeout
    with psycopg.connect(dsn, autocommit=True) as watcher:
        while time.monotonic() < deadline:
            waiting = watcher.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
            ).fetchone()[0]
            if waiting:
                return True
            time.sleep(0.1)
    return False


# -- poison ------------------------------------------------------------------


def poison_batch_next_to_good_messages(**_) -> str | None:
    _bob()
    good = [arf_report(login="bob", subject=f"Good {n}") for n in range(3)]
    nul = arf_report(login="bob", subject="Null\x00 byte", message_id="<n\x00@x>")
    overflow = arf_report(login="bob").replace(
        b"Arrival-Date: Thu, 26 Nov 2026 10:00:05 +0000",
        b"Arrival-Date: Thu, 26 Nov 99999999999999999999 10:00:05 +0000",
    )
    huge = empty_parts(400_000)
    stored = [
        services.inbound_store(raw=raw, channel="pipe", enqueue=False)[0]
        for raw in [good[0], nul, good[1], overflow, huge, good[2]]
    ]
    services.inbound_wake()
    work()
    for row in stored:
        row.refresh_from_db()
    states = [row.state for row in stored]
    failed = InboundMessage.State.FAILED
    if states != [DONE, DONE, DONE, DONE, failed, DONE]:
        return f"states {states}"
    if "too complex" not in stored[4].error:
        return f"the huge message failed with {stored[4].error[:80]!r}"
    texts = Complaint.objects.values_list("subject", "message_id")
    if any("\x00" in text for row in texts for text in row):
        return "a NUL reached the database"
    if Complaint.objects.count() != 5:
        return f"{Complaint.objects.count()} complaints, not 5"
    return None


# -- SMTP --------------------------------------------------------------------


def smtp_down_while_acknowledging_and_notifying(**_) -> str | None:
    from aiosmtpd.controller import Controller

    bob = _bob()
    raw = human_complaint(login="bob", subject="Cheap pills")
    services.inbound_store(raw=raw, channel="pipe")
    work()  # processes it; the acknowledgment fails: nothing listens yet
    mailing = Mailing.objects.get()
    services.strike_issue(mailing=mailing, actor=None)  # its warning fails too
    complaint = Complaint.objects.get()
    if complaint.acknowledged_at is not None:
        return "the failed acknowledgment still counts as sent"
    received: list[list[str]] = []

    class Inbox:
        async def handle_DATA(self, server, session, envelope):  # noqa: N802
            received.append(list(envelope.rcpt_tos))
            return "250 OK"

    server = Controller(Inbox(), hostname="127.0.0.1", port=settings.EMAIL_PORT)
    server.start()
    try:
        sweep_and_work()
        sweep_and_work()
    finally:
        server.stop()
    expected = sorted([[complaint.complainant_email], [bob.contact_email]])
    if sorted(received) != expected:
        return f"sent to {received}, expected {expected} once each"
    return None


DRILLS = [
    ("PostgreSQL stopped during the pipe: exit 75, then processed once",
     postgres_stopped_during_the_pipe),
    ("PostgreSQL hung during the pipe: exit 75, then processed once",
     postgres_hung_during_the_pipe),
    ("Redis stopped during pipe, file, HTTP and web form: stored, processed once",
     redis_stopped_during_each_channel),
    ("Worker and work horse SIGKILLed inside a transaction: counts as without",
     worker_killed_inside_its_transaction),
    ("Poison batch (NUL, overflow, 400,000 parts) next to good messages",
     poison_batch_next_to_good_messages),
    ("SMTP down while acknowledging and notifying: sent once it is back",
     smtp_down_while_acknowledging_and_notifying),
]  # fmt: skip
