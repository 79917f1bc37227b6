"""The linking benchmark's maths, and its reading of a hand-made desk state."""

import json

import pytest

from complaints.bench import figures, scoring
from complaints.models import Complaint
from tests.accounts.factories import SubscriberFactory
from tests.complaints.factories import (
    BounceFactory,
    ComplaintFactory,
    InboundMessageFactory,
    MailingFactory,
)


@pytest.mark.parametrize(
    ("truth", "desk", "expected"),
    [
        # Perfect grouping.
        ({1: "a", 2: "a", 3: "b"}, {1: 10, 2: 10, 3: 11}, (1.0, 1.0, 1.0)),
        # One true mailing split in two: no wrong pair, one of three pairs found.
        ({1: "a", 2: "a", 3: "a"}, {1: 10, 2: 10, 3: 11}, (1.0, 1 / 3, 0.5)),
        # Two true mailings merged: one right pair of three predicted.
        ({1: "a", 2: "a", 3: "b"}, {1: 10, 2: 10, 3: 10}, (1 / 3, 1.0, 0.5)),
        # Unlinked items pair with nothing.
        ({1: "a", 2: "a", 3: "a"}, {1: 10, 2: None, 3: None}, (1.0, 0.0, 0.0)),
        ({1: "a", 2: "a", 3: "a", 4: "a"}, {1: 7, 2: 7, 3: 8, 4: 8}, (1.0, 2 / 6, 0.5)),
        # Singletons everywhere: nothing predicted, nothing relevant.
        ({1: "a", 2: "b"}, {1: 10, 2: 11}, (1.0, 1.0, 1.0)),
        # A mix: pairs (1,2) right, (3,4) wrong, (5,6) missed.
        (
            {1: "a", 2: "a", 3: "b", 4: "c", 5: "d", 6: "d"},
            {1: 1, 2: 1, 3: 2, 4: 2, 5: 3, 6: 4},
            (0.5, 0.5, 0.5),
        ),
    ],
)
def test_pairwise_precision_recall_and_f1(truth, desk, expected):
    assert scoring.pairwise(truth, desk) == pytest.approx(expected)


def test_split_and_merged_count_groups_and_the_average_spread():
    truth = {1: "a", 2: "a", 3: "a", 4: "b", 5: "c", 6: "d"}
    desk = {1: 10, 2: 11, 3: 12, 4: 13, 5: 13, 6: None}
    # "a" is spread over three desk mailings; 13 holds "b" and "c"; "d" unlinked.
    assert scoring.split_and_merged(truth, desk) == (1, 1, 5 / 3)


def test_attribution_counts_forged_reports_attributed_as_wrong():
    truth = {1: "A1", 2: "A1", 3: "A2", 4: None, 5: "A3"}
    desk = {1: "A1", 2: "A2", 3: "A2", 4: "A9", 5: None}
    precision, recall, correct, attributed, owned = scoring.attribution(truth, desk)
    assert (correct, attributed, owned) == (2, 4, 4)
    assert precision == pytest.approx(0.5)
    assert recall == pytest.approx(0.5)


def _truth(tmp_path, reports, mailings, accounts):
    truth = tmp_path / "truth"
    truth.mkdir()
    for name, rows in (
        ("reports", reports),
        ("mailings", mailings),
        ("accounts", accounts),
    ):
        (truth / f"{name}.jsonl").write_text(
            "".join(json.dumps(r) + "\n" for r in rows)
        )
    return tmp_path


def _report(file, sha, **fields):
    row = {
        "file": file,
        "sha256": sha,
        "kind": "complaint",
        "account": None,
        "forged": False,
        "mailing": None,
        "duplicate_of": None,
        "clues": ["auth_login"],
        "tags": [],
    }
    row.update(fields)
    return row


@pytest.mark.django_db
def test_figures_read_the_desks_rows_per_file(tmp_path):
    alice = SubscriberFactory(account_number="A1")
    bob = SubscriberFactory(account_number="B2", status="suspended")
    m1 = MailingFactory(subscriber=alice)
    m2 = MailingFactory(subscriber=alice)
    m3 = MailingFactory(subscriber=bob)
    inbound = [InboundMessageFactory(state="processed") for _ in range(6)]
    ComplaintFactory(inbound=inbound[0], subscriber=alice, mailing=m1, state="linked")
    ComplaintFactory(inbound=inbound[1], subscriber=alice, mailing=m2, state="linked")
    # A joe-job blamed on bob: forged, attributed, and it suspended him.
    ComplaintFactory(inbound=inbound[2], subscriber=bob, mailing=m3, state="linked")
    BounceFactory(inbound=inbound[3], subscriber=alice, mailing=m1)
    BounceFactory(inbound=inbound[3], subscriber=alice, mailing=m1)
    ComplaintFactory(
        inbound=inbound[4],
        subscriber=alice,
        mailing=m1,
        state=Complaint.State.DUPLICATE,
    )
    sha = [i.sha256 for i in inbound]
    directory = _truth(
        tmp_path,
        [
            _report("f0", sha[0], account="A1", mailing="M1"),
            _report("f1", sha[1], account="A1", mailing="M1"),
            _report("f2", sha[2], forged=True, clues=[]),
            _report("f3", sha[3], kind="bounce", account="A1", mailing="M1"),
            _report("f4", sha[4], account="A1", mailing="M1", duplicate_of="f0"),
            _report("f5", sha[5], kind="other", clues=[]),
            _report("f6", "0" * 64, account="A1", mailing="M1"),
        ],
        [{"mailing": "M1", "account": "A1"}],
        [
            {
                "account": "A1",
                "expected_status": "active",
                "why": "1 strike",
                "involved": True,
            },
            {
                "account": "B2",
                "expected_status": "active",
                "why": "joe-job",
                "involved": True,
            },
        ],
    )
    lines, groups = figures.compute(directory)
    values = dict(lines)
    assert values["inbound_states"] == "missing:1 processed:6"
    assert values["reports_scored"] == "5"  # f0, f1, f2, f3, f6; not the resend
    assert values["attributed"] == "4"
    assert values["attribution_precision"] == "0.7500"
    assert values["attribution_recall"] == "0.7500"
    assert values["forged_attributed_to_anyone"] == "1"
    # Pairs of M1 among f0, f1, f3, f6: 6; the desk joins only (f0, f3).
    assert values["mailing_pairwise_precision"] == "1.0000"
    assert values["mailing_pairwise_recall"] == f"{1 / 6:.4f}"
    assert values["mailings_split"] == "1"
    assert values["fbl_resends_marked_duplicate"] == "1"
    assert values["suspended_by_forged_mail"] == "1"
    assert values["status_right"] == "0.5000"
    assert groups["f3"] == m1.pk and groups["f6"] is None
    assert figures.summary_line(lines) == (
        "attribution_precision=0.7500 attribution_recall=0.7500 "
        f"mailing_f1={2 * (1 / 6) / (1 + 1 / 6):.4f} status_right=0.5000"
    )


@pytest.mark.django_db
def test_a_resend_pair_counts_once_whichever_report_the_desk_called_duplicate(tmp_path):
    alice = SubscriberFactory(account_number="A1")
    mailing = MailingFactory(subscriber=alice)
    inbound = [InboundMessageFactory(state="processed") for _ in range(3)]
    # The resend arrived first, so the desk called the original the duplicate.
    ComplaintFactory(
        inbound=inbound[0], subscriber=alice, mailing=mailing, state="duplicate"
    )
    ComplaintFactory(
        inbound=inbound[1], subscriber=alice, mailing=mailing, state="linked"
    )
    ComplaintFactory(
        inbound=inbound[2], subscriber=alice, mailing=mailing, state="duplicate"
    )
    sha = [i.sha256 for i in inbound]
    directory = _truth(
        tmp_path,
        [
            _report("orig", sha[0], account="A1", mailing="M1"),
            _report("resend", sha[1], account="A1", mailing="M1", duplicate_of="orig"),
            _report("other", sha[2], account="A1", mailing="M1"),
        ],
        [{"mailing": "M1", "account": "A1"}],
        [{"account": "A1", "expected_status": "active", "why": "", "involved": True}],
    )
    values = dict(figures.compute(directory)[0])
    assert values["fbl_resends_marked_duplicate"] == "1"
    assert values["false_duplicates"] == "1"  # "other", not the original
