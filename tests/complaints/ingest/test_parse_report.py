"""The parse_report command prints one report per file and never crashes."""

import json
import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

from django.core.management import call_command

from .conftest import EMAILS


def _run(*args: str) -> str:
    out = StringIO()
    call_command("parse_report", *args, stdout=out)
    return out.getvalue()


def test_json_output_has_one_line_per_file_in_a_directory():
    lines = _run("--json", str(EMAILS)).splitlines()
    files = sorted(p for p in EMAILS.rglob("*") if p.is_file())
    assert len(lines) == len(files)
    first = json.loads(lines[0])
    assert set(first) == {
        "file",
        "index",
        "kind",
        "feedback_type",
        "label",
        "recipients",
        "original",
        "error",
    }


def test_json_output_describes_a_bounce():
    line = _run("--json", str(EMAILS / "dsn_postfix_user_unknown.eml"))
    data = json.loads(line)
    assert data["kind"] == "bounce"
    assert data["recipients"][0]["address"] == "nosuchuser@example.org"
    assert data["recipients"][0]["hard"] is True
    assert data["original"]["login"] == "cust1042"


def test_unreadable_path_gives_an_other_line_with_an_error(tmp_path):
    data = json.loads(_run("--json", str(tmp_path / "missing.eml")))
    assert data["kind"] == "other"
    assert data["error"]


def test_human_output_summarises_the_report():
    text = _run(str(EMAILS / "arf_yahoo_abuse.eml"))
    assert "complaint" in text
    assert "feedback type: abuse" in text


def test_trace_header_option_is_passed_to_the_parser(tmp_path):
    raw = (EMAILS / "forwarded_spam_attachment.eml").read_bytes()
    sample = tmp_path / "sample.eml"
    sample.write_bytes(raw.replace(b"X-Abuse-Trace", b"X-Isp-Trace"))
    text = _run("--trace-header", "X-Isp-Trace", str(sample))
    assert "complaint" in text


MAILBOXES = EMAILS.parent / "mailboxes"
ROOT = Path(__file__).resolve().parents[3]


def test_cause_15_an_mbox_gives_one_json_line_per_message_with_file_and_index():
    lines = [
        json.loads(x)
        for x in _run("--json", str(MAILBOXES / "sample.mbox")).splitlines()
    ]
    assert [x["index"] for x in lines] == [0, 1, 2]
    assert {x["file"] for x in lines} == {str(MAILBOXES / "sample.mbox")}
    assert lines[1]["kind"] == "bounce"


def test_cause_15_a_crlf_mbox_is_split_into_its_messages_too():
    lines = _run("--json", str(MAILBOXES / "sample-crlf.mbox")).splitlines()
    assert len(lines) == 2


def test_cause_15_a_maildir_folder_gives_one_line_per_message():
    lines = _run("--json", str(MAILBOXES / "Maildir")).splitlines()
    assert [json.loads(x)["index"] for x in lines] == list(range(len(lines)))
    assert len(lines) >= 2


def test_cause_15_parse_report_runs_in_a_bare_environment():
    # No DJANGO_SECRET_KEY, no DJANGO_DEBUG, no DATABASE_URL: nothing at all.
    done = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "parse_report",
            "--json",
            str(MAILBOXES / "sample.mbox"),
        ],
        cwd=ROOT,
        env={"PATH": os.environ.get("PATH", "")},
        capture_output=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr.decode()
    assert len(done.stdout.decode().splitlines()) == 3
