"""``manage.py import_mail``: mbox, Maildir and .eml files, stored once each."""

import io
import shutil
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from complaints.management.commands import import_mail
from complaints.models import InboundMessage

pytestmark = pytest.mark.django_db

MAILBOXES = Path(__file__).resolve().parent.parent / "fixtures" / "mailboxes"


def run(*paths: Path) -> str:
    out = io.StringIO()
    call_command("import_mail", *map(str, paths), "--no-progress", stdout=out)
    return out.getvalue()


def raws() -> list[bytes]:
    return [bytes(row.raw) for row in InboundMessage.objects.order_by("pk")]


def test_mbox_messages_are_stored_without_from_lines(ingest_queue):
    output = run(MAILBOXES / "sample.mbox")
    assert output.startswith("Stored 3, already there 0, failed 0.")
    stored = raws()
    assert [raw.split(b"\n", 1)[0] for raw in stored] == [
        b"From: victim@example.org",
        b"From: MAILER-DAEMON@example.net",
        b"From: reporter@example.org",
    ]
    assert stored[0].endswith(b"Please stop them.\n")
    # The separator blank line belongs to the mbox, not the message.
    assert not stored[0].endswith(b"\n\n")
    assert b"\n>From the start of a line\n" in stored[2]
    assert {row.channel for row in InboundMessage.objects.all()} == {"file"}


def test_crlf_mbox_messages_keep_their_line_endings():
    assert run(MAILBOXES / "sample-crlf.mbox").startswith("Stored 2,")
    first, second = raws()
    assert first.startswith(b"From: victim@example.org\r\n")
    assert first.endswith(b"Line endings are CRLF.\r\n")
    assert second.endswith(b"Second CRLF message.\r\n")
    assert InboundMessage.objects.order_by("pk")[0].message_id == (
        "<sample-crlf-one-4@example.net>"
    )


def test_maildir_cur_and_new_are_stored_and_tmp_is_not():
    assert run(MAILBOXES / "Maildir").startswith("Stored 2, already there 0, failed 0.")
    subjects = sorted(raw.split(b"Subject: ")[1].split(b"\n")[0] for raw in raws())
    assert subjects == [b"Maildir new", b"Maildir seen"]


def test_eml_directory_imports_only_eml_files_and_strips_from_line():
    assert run(MAILBOXES / "eml").startswith("Stored 2, already there 0, failed 0.")
    assert all(raw.startswith(b"From: victim@example.org") for raw in raws())
    assert not any(b"Not a message" in raw for raw in raws())


def test_single_eml_file_is_stored():
    path = MAILBOXES / "eml" / "complaint.eml"
    assert run(path).startswith("Stored 1,")
    assert raws() == [path.read_bytes()]


def test_running_again_stores_nothing_new(ingest_queue):
    run(MAILBOXES)  # a directory of .eml files: only eml/ has any
    paths = [MAILBOXES / "sample.mbox", MAILBOXES / "Maildir", MAILBOXES / "eml"]
    first = run(*paths)
    assert first.startswith("Stored 5, already there 2, failed 0.")
    assert run(*paths).startswith("Stored 0, already there 7, failed 0.")
    assert InboundMessage.objects.count() == 7


def test_failures_are_counted_with_their_reasons(tmp_path, settings):
    shutil.copy(MAILBOXES / "eml" / "complaint.eml", tmp_path / "a.eml")
    (tmp_path / "b-empty.eml").write_bytes(b"\n")
    (tmp_path / "c-big.eml").write_bytes(b"Subject: big\n\n" + b"x" * 5000)
    settings.ABUSE_INGEST_MAX_BYTES = 4096
    output = run(tmp_path)
    assert output.splitlines() == [
        "Stored 1, already there 0, failed 2.",
        f"  failed {tmp_path / 'b-empty.eml'}: The message is empty.",
        f"  failed {tmp_path / 'c-big.eml'}: The message is 5014 bytes; "
        "the limit is 4096 bytes.",
    ]


def test_batches_of_an_import_wake_one_drainer_for_them_all(
    ingest_queue, monkeypatch, run_jobs
):
    monkeypatch.setattr(import_mail, "BATCH_SIZE", 2)
    run(MAILBOXES / "sample.mbox")
    assert InboundMessage.objects.count() > 2, "the import must take two batches"
    assert [job.func_name for job in ingest_queue.jobs] == [
        "complaints.jobs.inbound_drain_job"
    ]
    run_jobs("ingest")
    assert not InboundMessage.objects.filter(state="pending").exists()


def test_already_stored_messages_are_not_enqueued_again(ingest_queue):
    run(MAILBOXES / "sample.mbox")
    ingest_queue.connection.flushdb()
    run(MAILBOXES / "sample.mbox")
    assert ingest_queue.count == 0


def test_missing_path_is_an_error_before_anything_is_stored(tmp_path):
    with pytest.raises(CommandError, match="No such file"):
        run(MAILBOXES / "sample.mbox", tmp_path / "nope.mbox")
    assert not InboundMessage.objects.exists()


def test_progress_bar_goes_to_stderr_when_asked(capsys):
    out = io.StringIO()
    call_command(
        "import_mail", str(MAILBOXES / "sample.mbox"), "--progress", stdout=out
    )
    assert "3/3" in capsys.readouterr().err
    assert "3/3" not in out.getvalue()
