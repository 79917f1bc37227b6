"""The operator commands."""

import pytest
from django.core.management import call_command

from outbound.models import Submission
from tests.accounts.factories import MailAccountFactory
from tests.outbound.test_maillog import CLASSIC

pytestmark = pytest.mark.django_db


def test_import_maillog_twice_imports_once_and_finds_the_subscriber(tmp_path, capsys):
    account = MailAccountFactory(login="bob")
    log = tmp_path / "mail.log"
    log.write_text(CLASSIC)
    call_command("import_maillog", str(log), "--year", "2026")
    call_command("import_maillog", str(log), "--year", "2026")
    assert Submission.objects.count() == 2
    assert Submission.objects.get(login="bob").subscriber == account.subscriber
    assert "imported 2 submissions" in capsys.readouterr().out


def test_outbound_periodic_once_enqueues_drain_link_and_purge():
    import django_rq

    queue = django_rq.get_queue("default")
    queue.empty()
    call_command("outbound_periodic", "--once")
    assert sorted(job.func_name.rsplit(".", 1)[1] for job in queue.jobs) == [
        "submissions_drain_job",
        "submissions_link_job",
        "submissions_purge_job",
    ]
    queue.empty()
