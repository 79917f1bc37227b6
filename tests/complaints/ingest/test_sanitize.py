"""Making a parsed report safe for PostgreSQL text columns."""

from complaints.ingest import Kind, OriginalMessage, Recipient, Report
from complaints.ingest.sanitize import report_db_safe, text_db_safe


def test_nul_is_removed_and_a_lone_surrogate_becomes_the_replacement_character():
    assert text_db_safe("a\x00b\udce9c") == "ab\ufffdc"


def test_clean_report_is_returned_unchanged():
    report = Report(kind=Kind.COMPLAINT, subject="Hello", original=OriginalMessage())
    assert report_db_safe(report) is report


def test_every_string_of_report_original_and_recipients_is_made_safe():
    report = Report(
        kind=Kind.BOUNCE,
        feedback_type="ab\x00use",
        reporter="fb\x00l@example.net",
        user_agent="FBL\x00/1",
        subject="S\x00",
        message_id="<m\x00@x>",
        error="Bad\x00",
        original=OriginalMessage(
            message_id="<o\x00@x>",
            from_="f\x00@x",
            subject="Cheap\x00 pills",
            date="Thu, 26 Nov 2026\x00",
            login="bo\x00b",
            rcpt_to=("v\x00@x", "w@x"),
            queue_ids=("4Q\x00Z",),
        ),
        recipients=(
            Recipient(
                address="a\x00@x",
                action="fail\x00ed",
                status="5.1.1",
                reply_code=550,
                diagnostic="550 no\x00such \udcff user",
                reason="user_unknown",
                is_hard=True,
            ),
        ),
    )
    safe = report_db_safe(report)
    assert "\x00" not in repr(safe)
    assert safe.kind is Kind.BOUNCE
    assert safe.original.subject == "Cheap pills"
    assert safe.original.rcpt_to == ("v@x", "w@x")
    assert safe.recipients[0].diagnostic == "550 nosuch \ufffd user"
    assert safe.recipients[0].reply_code == 550
