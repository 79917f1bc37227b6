"""The billing import: accounts.importing (the CSV format) and
accounts.services.imports (the upsert), through the service and the commands."""

import io
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.importing import (
    COLUMNS,
    HeaderError,
    IPAssignmentRow,
    MailAccountRow,
    RowError,
    parse_ip_assignments,
    parse_mail_accounts,
    read_rows,
)
from accounts.models import (
    Action,
    IPAssignment,
    MailAccount,
    Subscriber,
    network_to_keys,
)
from accounts.selectors import subscriber_by_ip
from accounts.services import imports
from accounts.services.imports import subscriber_import
from tests.accounts.factories import (
    IPAssignmentFactory,
    MailAccountFactory,
    SubscriberFactory,
)

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "subscribers"
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
HEADER = ",".join(COLUMNS)


def _csv(*rows: str) -> str:
    return "\n".join((HEADER, *rows)) + "\n"


def _import(text: str, **kwargs):
    return subscriber_import(rows=read_rows(io.StringIO(text)), now=NOW, **kwargs)


def _writes(queries) -> list[str]:
    verbs = ("INSERT", "UPDATE", "DELETE")
    return [q["sql"] for q in queries if q["sql"].lstrip().upper().startswith(verbs)]


def _run_command(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("import_subscribers", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


# --- creating and updating ---------------------------------------------------------


def test_import_creates_subscribers_with_their_mail_accounts_and_ip_assignments():
    summary = _import((FIXTURES / "sample.csv").read_text())

    assert (summary.created, summary.updated, summary.bad) == (4, 0, 0)
    shop = Subscriber.objects.get(account_number="S00000000")
    assert shop.name == "Gary Foster"
    assert set(shop.mail_accounts.values_list("login", flat=True)) == {
        "gfoster0",
        "gfoster0.shop",
    }
    assert shop.ip_assignments.count() == 2
    assert Subscriber.objects.get(account_number="S00000002").contact_email == ""


def test_logins_and_addresses_are_stored_lowercase_with_the_webmail_flag():
    _import((FIXTURES / "sample.csv").read_text())

    account = MailAccount.objects.get(login="ldunn1")
    assert account.address == "ldunn1@mail.isp.example"
    assert account.is_webmail
    assert not MailAccount.objects.get(login="ldunn1.shop").is_webmail


def test_a_bare_address_is_both_login_and_address():
    _import((FIXTURES / "sample.csv").read_text())

    account = MailAccount.objects.get(login="zfisher2@mail.isp.example")
    assert account.address == "zfisher2@mail.isp.example"


def test_second_run_of_the_same_file_writes_nothing():
    text = (FIXTURES / "sample.csv").read_text()
    _import(text)

    with CaptureQueriesContext(connection) as queries:
        summary = _import(text)

    assert (summary.created, summary.updated, summary.unchanged) == (0, 0, 4)
    assert _writes(queries.captured_queries) == []


def test_changed_row_updates_the_subscriber_and_replaces_its_accounts_and_ips():
    subscriber = SubscriberFactory(account_number="A1", name="Old Name Ltd")
    kept = MailAccountFactory(
        subscriber=subscriber, login="kept", address="k@x.example"
    )
    MailAccountFactory(subscriber=subscriber, login="dropped")
    IPAssignmentFactory(subscriber=subscriber, network="192.0.2.99")

    summary = _import(
        _csv(
            "A1,New Name Ltd,billing@new.example,active,"
            "kept:kept@isp.example:webmail;added:added@isp.example,"
            "192.0.2.7@2026-01-01..2026-02-01"
        )
    )

    assert summary.updated == 1
    subscriber.refresh_from_db()
    assert (subscriber.name, subscriber.contact_email) == (
        "New Name Ltd",
        "billing@new.example",
    )
    accounts = {a.login: a for a in subscriber.mail_accounts.all()}
    assert set(accounts) == {"kept", "added"}
    assert accounts["kept"].pk == kept.pk
    assert accounts["kept"].address == "kept@isp.example"
    assert accounts["kept"].is_webmail
    assert list(subscriber.ip_assignments.values_list("network", flat=True)) == [
        "192.0.2.7"
    ]


def test_changed_end_of_an_ip_window_updates_the_assignment_in_place():
    _import(_csv("A1,Example Shop Ltd,,active,,192.0.2.7@2026-01-01.."))
    assignment = IPAssignment.objects.get()

    summary = _import(
        _csv("A1,Example Shop Ltd,,active,,192.0.2.7@2026-01-01..2026-02-01")
    )

    assert summary.updated == 1
    assignment.refresh_from_db()
    assert assignment.valid_to == datetime(2026, 2, 1, tzinfo=UTC)


def test_removed_end_of_an_ip_window_reopens_the_assignment():
    _import(_csv("A1,Example Shop Ltd,,active,,192.0.2.7@2026-01-01..2026-02-01"))

    summary = _import(_csv("A1,Example Shop Ltd,,active,,192.0.2.7@2026-01-01.."))

    assert summary.updated == 1
    assert IPAssignment.objects.get().valid_to is None


def test_subscribers_missing_from_the_file_are_left_alone():
    absent = SubscriberFactory(account_number="A9")

    _import(_csv("A1,Example Shop Ltd,,active,,"))

    assert Subscriber.objects.filter(pk=absent.pk).exists()


def test_imported_ip_assignment_has_range_keys_so_lookup_by_address_finds_it():
    _import(_csv("A1,Example Shop Ltd,,active,,198.51.100.0/28@2025-03-01.."))

    holder = subscriber_by_ip(
        address="198.51.100.9", at=datetime(2026, 1, 1, tzinfo=UTC)
    )
    assert list(holder.values_list("account_number", flat=True)) == ["A1"]


def test_rows_spread_over_several_batches_import_the_same():
    summary = _import((FIXTURES / "sample.csv").read_text(), batch_size=1)

    assert summary.created == 4
    assert MailAccount.objects.count() == 6


# --- status changes and the timeline -----------------------------------------------


def test_status_change_from_billing_writes_a_timeline_action():
    subscriber = SubscriberFactory(account_number="A1", name="Example Shop Ltd")

    _import(_csv(f"A1,Example Shop Ltd,{subscriber.contact_email},suspended,,"))

    subscriber.refresh_from_db()
    assert subscriber.status == Subscriber.Status.SUSPENDED
    action = Action.objects.get(subscriber=subscriber)
    assert action.kind == Action.Kind.STATUS_IMPORTED
    assert action.actor is None
    assert action.created_at == NOW
    assert "active → suspended" in action.reason


def test_change_that_leaves_the_status_alone_writes_no_action():
    SubscriberFactory(account_number="A1", name="Old Name Ltd")

    _import(_csv("A1,New Name Ltd,,active,,"))

    assert not Action.objects.exists()


def test_new_subscriber_that_does_not_start_active_gets_a_timeline_action():
    _import(_csv("A1,Example Shop Ltd,,terminated,,", "A2,Example Two Ltd,,active,,"))

    action = Action.objects.get()
    assert action.subscriber.account_number == "A1"
    assert action.kind == Action.Kind.STATUS_IMPORTED
    assert "terminated" in action.reason


# --- bad rows ----------------------------------------------------------------------


def test_bad_rows_are_reported_by_line_and_good_rows_still_import():
    summary = _import((FIXTURES / "bad_rows.csv").read_text())

    reasons = {problem.line: problem.reason for problem in summary.problems}
    assert set(reasons) == {3, 4, 5, 6, 7, 8}
    assert "contact email" in reasons[3]
    assert "unknown status 'closed'" in reasons[4]
    assert "bad IP address" in reasons[5]
    assert "ends before it starts" in reasons[6]
    assert "also on line 2" in reasons[7]
    assert "198.51.100.5/28" in reasons[8]
    assert sorted(Subscriber.objects.values_list("account_number", flat=True)) == [
        "S00000010",
        "S00000016",
    ]


def test_a_bad_row_changes_nothing_of_its_subscriber():
    subscriber = SubscriberFactory(account_number="A1", name="Old Name Ltd")
    MailAccountFactory(subscriber=subscriber, login="old")

    summary = _import(
        _csv("A1,New Name Ltd,,suspended,new:new@isp.example,192.0.2.7@2026-13-01..")
    )

    assert summary.bad == 1
    subscriber.refresh_from_db()
    assert (subscriber.name, subscriber.status) == ("Old Name Ltd", "active")
    assert list(subscriber.mail_accounts.values_list("login", flat=True)) == ["old"]
    assert not Action.objects.exists()


def test_login_held_by_another_subscriber_is_an_error_for_the_row():
    MailAccountFactory(login="bob", subscriber__account_number="A0")

    summary = _import(_csv("A1,Example Shop Ltd,,active,bob:bob@isp.example,"))

    assert summary.problems[0].line == 2
    assert (
        "login 'bob' belongs to another subscriber (A0)" in summary.problems[0].reason
    )
    assert not Subscriber.objects.filter(account_number="A1").exists()


def test_login_listed_on_two_rows_is_an_error_for_the_second():
    summary = _import(
        _csv(
            "A1,Example Shop Ltd,,active,bob:bob@isp.example,",
            "A2,Example Two Ltd,,active,bob:bob@isp.example,",
        )
    )

    assert [(p.line, p.reason) for p in summary.problems] == [
        (3, "login 'bob' is also on line 2")
    ]


@pytest.mark.parametrize("batch_size", [1, 2000])
def test_login_given_up_earlier_in_the_file_moves_to_another_subscriber(batch_size):
    MailAccountFactory(login="bob", subscriber__account_number="A1")

    summary = _import(
        _csv(
            "A1,Example Shop Ltd,,active,,",
            "A2,Example Two Ltd,,active,bob:bob@isp.example,",
        ),
        batch_size=batch_size,
    )

    assert summary.bad == 0
    assert MailAccount.objects.get(login="bob").subscriber.account_number == "A2"


def test_row_with_the_wrong_number_of_fields_is_bad():
    summary = _import(_csv("A1,Example Shop Ltd,,active", "A2,Two,,active,,,extra"))

    assert [p.line for p in summary.problems] == [2, 3]
    assert all("expected 6 fields" in p.reason for p in summary.problems)


def test_header_without_every_column_is_refused():
    with pytest.raises(HeaderError, match="missing: ip_assignments"):
        list(
            read_rows(
                io.StringIO("account_number,name,contact_email,status,mail_accounts\n")
            )
        )


# --- parsing the multi-valued columns ----------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "192.0.2.7@2026-01-01T00:00Z..2026-06-01T00:00Z",
            IPAssignmentRow(
                "192.0.2.7",
                datetime(2026, 1, 1, tzinfo=UTC),
                datetime(2026, 6, 1, tzinfo=UTC),
            ),
        ),
        (
            "198.51.100.0/28@2025-03-01..",
            IPAssignmentRow("198.51.100.0/28", datetime(2025, 3, 1, tzinfo=UTC), None),
        ),
        (
            "192.0.2.7/32@2025-03-01 08:30..",
            IPAssignmentRow("192.0.2.7", datetime(2025, 3, 1, 8, 30, tzinfo=UTC), None),
        ),
        (
            "2001:DB8:0:0::/48@2025-01-01T12:00+02:00..",
            IPAssignmentRow(
                "2001:db8::/48", datetime(2025, 1, 1, 10, tzinfo=UTC), None
            ),
        ),
    ],
)
def test_ip_assignment_windows_are_parsed(text, expected):
    assert parse_ip_assignments(text) == (expected,)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("192.0.2.300@2025-01-01..", "bad IP address"),
        ("198.51.100.1/28@2025-01-01..", "bad IP address or network"),
        ("192.0.2.7@2026-06-01..2026-01-01", "ends before it starts"),
        ("192.0.2.7@2026-01-01..2026-01-01", "ends before it starts"),
        ("192.0.2.7", "network@from..to"),
        ("192.0.2.7@..2026-01-01", "start is empty"),
        ("192.0.2.7@yesterday..", "bad IP assignment start"),
        ("192.0.2.7@2025-01-01..;192.0.2.7@2025-01-01..", "listed twice"),
    ],
)
def test_bad_ip_assignments_are_refused_with_a_reason(text, reason):
    with pytest.raises(RowError, match=reason):
        parse_ip_assignments(text)


def test_several_ip_assignments_split_on_semicolons():
    assert (
        len(parse_ip_assignments("192.0.2.7@2025-01-01.. ; 192.0.2.8@2025-01-01.."))
        == 2
    )


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("bob:not-an-address", "bad address of login 'bob'"),
        ("bob", "login:address"),
        ("bob:bob@isp.example:imap", "login:address"),
        ("bob:bob@isp.example;BOB:other@isp.example", "listed twice"),
        ("bo b:bob@isp.example", "bad login"),
    ],
)
def test_bad_mail_accounts_are_refused_with_a_reason(text, reason):
    with pytest.raises(RowError, match=reason):
        parse_mail_accounts(text)


def test_mail_account_with_webmail_flag_is_parsed():
    assert parse_mail_accounts("Bob:Bob@ISP.example:webmail") == (
        MailAccountRow("bob", "bob@isp.example", True),
    )


# --- the commands ------------------------------------------------------------------


def test_command_prints_bad_lines_and_a_summary_and_exits_non_zero(capsys):
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError, match="6 bad row"):
        call_command(
            "import_subscribers", str(FIXTURES / "bad_rows.csv"), stdout=out, stderr=err
        )

    assert "line 3: bad contact email 'not-an-email'" in err.getvalue()
    assert "2 created, 0 updated, 0 unchanged, 6 bad" in out.getvalue()
    assert "rows" in capsys.readouterr().err  # the progress bar


def test_dry_run_checks_rows_but_writes_nothing():
    out, _ = _run_command(str(FIXTURES / "sample.csv"), "--dry-run")

    assert "4 would be created" in out
    assert not Subscriber.objects.exists()


def test_dry_run_finds_a_login_clash_with_the_database():
    MailAccountFactory(login="gfoster0")

    with pytest.raises(CommandError):
        _run_command(str(FIXTURES / "sample.csv"), "--dry-run")
    assert Subscriber.objects.count() == 1


def test_command_refuses_a_file_with_a_wrong_header(tmp_path):
    path = tmp_path / "subscribers.csv"
    path.write_text("account,name\nA1,Example Shop Ltd\n")

    with pytest.raises(CommandError, match="header"):
        _run_command(str(path))


def test_generated_csv_imports_cleanly_and_a_rerun_changes_nothing(tmp_path):
    path = tmp_path / "generated.csv"
    call_command("make_subscriber_csv", str(path), count=40, stdout=io.StringIO())

    first, _ = _run_command(str(path), "-v", "0")
    second, _ = _run_command(str(path), "-v", "0")

    assert "40 created, 0 updated, 0 unchanged, 0 bad" in first
    assert "0 created, 0 updated, 40 unchanged, 0 bad" in second


def test_import_without_copy_writes_the_same_rows(monkeypatch):
    """Databases other than PostgreSQL take the bulk_create and bulk_update path."""
    monkeypatch.setattr(connection, "vendor", "sqlite")

    summary = _import((FIXTURES / "sample.csv").read_text())

    assert summary.created == 4
    assert MailAccount.objects.count() == 6
    assignment = IPAssignment.objects.get(network="198.51.100.0/28")
    assert (assignment.range_start, assignment.range_end) == network_to_keys(
        "198.51.100.0/28"
    )

    summary = _import(
        _csv(
            "S00000000,Gary Foster,,suspended,gfoster0:gf@isp.example:webmail,"
            "198.51.100.0/28@2025-03-01..2026-01-01"
        )
    )

    assert summary.updated == 1
    subscriber = Subscriber.objects.get(account_number="S00000000")
    assert (subscriber.contact_email, subscriber.status) == ("", "suspended")
    account = subscriber.mail_accounts.get()
    assert (account.address, account.is_webmail) == ("gf@isp.example", True)
    assert subscriber.ip_assignments.get().valid_to == datetime(2026, 1, 1, tzinfo=UTC)


def test_row_the_database_refuses_fails_alone_and_the_rest_of_its_batch_imports(
    monkeypatch,
):
    """A clash the checks could not see (another writer took the login after the
    batch was read) fails only its own row, and none of that row is written."""
    MailAccountFactory(login="bob", subscriber__account_number="A0")
    monkeypatch.setattr(imports, "_login_owners", lambda rows, mail_accounts: {})

    summary = _import(
        _csv(
            "A1,Example Shop Ltd,,active,bob:bob@isp.example,192.0.2.7@2026-01-01..",
            "A2,Example Two Ltd,,active,two:two@isp.example,",
        )
    )

    assert [p.line for p in summary.problems] == [2]
    assert "database refused it" in summary.problems[0].reason
    assert (summary.created, summary.bad) == (1, 1)
    assert not Subscriber.objects.filter(account_number="A1").exists()
    assert not IPAssignment.objects.exists()
    assert Subscriber.objects.filter(account_number="A2").exists()
