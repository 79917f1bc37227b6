"""The parse_report command prints one report per file and never crashes."""

import json
from io import StringIO

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
        "kind",
        "feedback_type",
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
