"""The simulated mailbox: deterministic, complete, consistent with its truth, and
written without the desk."""

import csv
import hashlib
import json
import subprocess
import sys
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from django.conf import settings

import simulator

# Every phenomenon of issue 9 and the other habits of real abuse mail.
PHENOMENA = """
subject_tracking subject_greeting subject_prefix rfc2047_b rfc2047_q
outbreak infected_direct_mx stolen_password foreign_login random_subject
forged_from_other_subscriber joe_job backscatter clock_forged_date
clock_reassigned_ip ipv6 broken_folding fbl_two_recipients fbl_resend bounce_storm
legit_one_newsletter repeat_offender webmail
forward_gmail forward_outlook forward_apple forward_de forward_fr forward_es forward_nl
dateline_gmail dateline_apple dateline_de dateline_fr dateline_es dateline_nl
attached_eml auto_reply junk challenge_response blocklist_notice crlf headers_only
fbl_skymail fbl_outpost fbl_comnet fbl_poshta fbl_fastpost fbl_webpost fbl_libra
fbl_spamnet dsn_postfix dsn_exim dsn_exchange dsn_gmail dsn_qmail
lang_en lang_de lang_fr lang_es lang_nl
""".split()
CLUES = "auth_login relay_queue_id auth_header trace_mailing trace_message client_ip"


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _tree(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()
    }


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("sim") / "seed7"
    simulator.generate(seed=7, out=out, scale="small")
    return out


def test_same_seed_writes_the_same_bytes(small, tmp_path):
    simulator.generate(seed=7, out=tmp_path / "again", scale="small")
    assert _tree(tmp_path / "again") == _tree(small)


def test_another_seed_writes_another_mailbox(small, tmp_path):
    simulator.generate(seed=8, out=tmp_path / "other", scale="small")
    assert _tree(tmp_path / "other") != _tree(small)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_small_mailbox_has_every_phenomenon(seed, tmp_path):
    simulator.generate(seed=seed, out=tmp_path, scale="small")
    reports = _jsonl(tmp_path / "truth" / "reports.jsonl")
    tags = {tag for r in reports for tag in r["tags"]}
    clues = {clue for r in reports for clue in r["clues"]}
    assert [t for t in PHENOMENA if t not in tags] == []
    assert [c for c in CLUES.split() if c not in clues] == []
    assert 350 <= len(reports) <= 800


# What real mail has that a desk tuned on the phenomena above may not expect.
HARDER = """
campaign_resent outbreak_paused shared_newsletter subject_truncated subject_filter_tag
""".split()


@pytest.fixture(scope="module")
def default_seed1(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("sim") / "seed1"
    simulator.generate(seed=1, out=out)
    return out


def test_default_mailbox_has_the_harder_phenomena(default_seed1):
    reports = _jsonl(default_seed1 / "truth" / "reports.jsonl")
    tags = {tag for r in reports for tag in r["tags"]}
    assert [t for t in HARDER if t not in tags] == []


def test_a_resent_or_paused_mailing_is_one_true_mailing_with_a_gap(default_seed1):
    truth = default_seed1 / "truth"
    gapped = {
        m["mailing"]
        for m in _jsonl(truth / "mailings.jsonl")
        if {"campaign_resent", "outbreak_paused"} & set(m["tags"])
    }
    spans: dict[str, list[str]] = {}
    for r in _jsonl(truth / "reports.jsonl"):
        if r["mailing"] in gapped:
            spans.setdefault(r["mailing"], []).append(r["arrival"])
    assert gapped
    longest = max(
        datetime.fromisoformat(max(t)) - datetime.fromisoformat(min(t))
        for t in spans.values()
    )
    assert longest > timedelta(days=1)


def test_two_subscribers_sharing_a_newsletter_are_two_mailings(default_seed1):
    shared = [
        m
        for m in _jsonl(default_seed1 / "truth" / "mailings.jsonl")
        if "shared_newsletter" in m["tags"]
    ]
    assert len(shared) >= 2
    assert len({m["account"] for m in shared}) == len(shared)


def test_every_file_is_in_the_truth_once_with_its_sha256(small):
    reports = _jsonl(small / "truth" / "reports.jsonl")
    files = {
        str(p.relative_to(small)): p
        for p in (small / "Maildir").rglob("*")
        if p.is_file()
    }
    assert sorted(r["file"] for r in reports) == sorted(files)
    for report in reports:
        data = files[report["file"]].read_bytes()
        assert hashlib.sha256(data).hexdigest() == report["sha256"]
    assert len({r["sha256"] for r in reports}) == len(reports)
    assert {p.parent.name for p in files.values()} == {"new", "cur"}
    assert (small / "Maildir" / "tmp").is_dir()


def test_truth_links_reports_mailings_and_accounts_consistently(small):
    reports = _jsonl(small / "truth" / "reports.jsonl")
    mailings = {m["mailing"]: m for m in _jsonl(small / "truth" / "mailings.jsonl")}
    with (small / "subscribers.csv").open() as handle:
        billed = {row["account_number"] for row in csv.DictReader(handle)}
    accounts = {a["account"]: a for a in _jsonl(small / "truth" / "accounts.jsonl")}
    assert set(accounts) == billed
    by_file = {r["file"]: r for r in reports}
    complaints = Counter()
    for r in reports:
        assert r["kind"] in ("complaint", "bounce", "other")
        if r["forged"] or r["kind"] == "other":
            assert r["account"] is None and r["mailing"] is None
        else:
            assert mailings[r["mailing"]]["account"] == r["account"]
        if r["duplicate_of"]:
            assert by_file[r["duplicate_of"]]["mailing"] == r["mailing"]
        if r["kind"] == "complaint" and r["mailing"]:
            complaints[r["mailing"]] += 1
    for mailing in mailings.values():
        assert mailing["account"] in billed
        assert mailing["complaints"] == complaints[mailing["mailing"]]
        assert mailing["kind"] in ("campaign", "outbreak")
        assert mailing["compromised"] == (mailing["kind"] == "outbreak")
        if mailing["bogus"]:
            assert mailing["hard_bounces"] >= 25
            assert mailing["hard_bounces"] >= 0.1 * mailing["recipients"]
        else:
            assert mailing["hard_bounces"] < 25


def test_expected_statuses_follow_the_policy(small):
    mailings = _jsonl(small / "truth" / "mailings.jsonl")
    for account in _jsonl(small / "truth" / "accounts.jsonl"):
        own = [m for m in mailings if m["account"] == account["account"]]
        strikes = [
            m for m in own if not m["compromised"] and (m["complaints"] or m["bogus"])
        ]
        if any(m["bogus"] for m in strikes) or len(strikes) >= 3:
            expected = "suspended"
        elif any(m["compromised"] and m["complaints"] for m in own):
            expected = "restricted"
        else:
            expected = "active"
        assert account["expected_status"] == expected, account
        assert account["involved"] == bool(own) or account["why"].startswith("joe-job")
    assert {
        a["expected_status"] for a in _jsonl(small / "truth" / "accounts.jsonl")
    } == {
        "active",
        "restricted",
        "suspended",
    }


def test_reports_with_a_login_clue_carry_the_true_accounts_login(small):
    logins = {}
    with (small / "subscribers.csv").open() as handle:
        for row in csv.DictReader(handle):
            logins[row["account_number"]] = [
                item.split(":")[0] for item in row["mail_accounts"].split(";")
            ]
    for r in _jsonl(small / "truth" / "reports.jsonl"):
        if "auth_login" not in r["clues"] or "attached_eml" in r["tags"]:
            continue
        text = (small / r["file"]).read_text()
        assert any(
            f"Authenticated sender: {login})" in text for login in logins[r["account"]]
        )


def test_isp_env_names_the_isps_hosts_and_trace_header(small):
    env = dict(
        line.split("=", 1) for line in (small / "isp.env").read_text().splitlines()
    )
    assert set(env) == {
        "ABUSE_ISP_DOMAINS",
        "ABUSE_RELAY_HOSTS",
        "ABUSE_MX_HOSTS",
        "ABUSE_WEBMAIL_CLIENTS",
        "ABUSE_TRACE_HEADER",
    }
    stamped = [
        p for p in (small / "Maildir").rglob("*") if p.is_file()
        and f"\n{env['ABUSE_TRACE_HEADER']}: " in p.read_text()
    ]  # fmt: skip
    assert stamped
    assert "smtp1.out.vialink.example" in env["ABUSE_RELAY_HOSTS"]


def test_generating_into_a_used_mailbox_is_refused(small):
    with pytest.raises(FileExistsError):
        simulator.generate(seed=7, out=small, scale="small")


def test_generator_imports_nothing_from_the_desk(tmp_path):
    code = (
        "import sys, simulator\n"
        f"simulator.generate(seed=3, out={str(tmp_path)!r}, scale='small')\n"
        "desk = {'django', 'accounts', 'complaints', 'abusedesk', 'outbound'}\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in desk))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.strip() == "[]"
