"""What the pipeline decided for a set of stored messages, in a form that two
runs on two versions of the code can be compared by (``diff``): database ids
differ from run to run, so a mailing is named by the SHA-256 of the first
message linked to it, and ids inside notes are replaced by those names."""

import json
import re
from pathlib import Path

from accounts.models import Subscriber
from complaints.models import Bounce, Complaint, InboundMessage, Mailing

_MAILING_REF = re.compile(r"#(\d+)")


def write(inbound_ids: list[int], path: Path) -> int:
    """Write one JSON line per message, then one per mailing; returns the lines."""
    inbounds = dict(
        InboundMessage.objects.filter(pk__in=inbound_ids).values_list("pk", "sha256")
    )
    complaints = list(
        Complaint.objects.filter(inbound_id__in=inbound_ids)
        .order_by("inbound_id")
        .values(
            "inbound_id",
            "subscriber_id",
            "mailing_id",
            "state",
            "link_note",
            "attribution",
            "is_forged",
            "forged_reason",
            "report_fingerprint",
        )
    )
    bounces = list(
        Bounce.objects.filter(inbound_id__in=inbound_ids)
        .order_by("inbound_id", "address")
        .values(
            "inbound_id",
            "address",
            "is_hard",
            "subscriber_id",
            "mailing_id",
            "is_forged",
        )
    )
    names: dict[int, str] = {}
    for row in sorted(complaints + bounces, key=lambda r: r["inbound_id"]):
        if row["mailing_id"] is not None:
            names.setdefault(row["mailing_id"], inbounds[row["inbound_id"]][:16])

    accounts = dict(Subscriber.objects.values_list("pk", "account_number"))

    def named(text: str) -> str:
        return _MAILING_REF.sub(
            lambda m: "#" + names.get(int(m.group(1)), m.group(1)), text
        )

    lines = []
    for row in complaints + bounces:
        row = dict(row)
        row["message"] = inbounds.pop(row["inbound_id"], None) or "(same message)"
        row["mailing"] = names.get(row.pop("mailing_id"))
        row["subscriber_id"] = accounts.get(row["subscriber_id"])
        row.pop("inbound_id")
        if "link_note" in row:
            row["link_note"] = named(row["link_note"])
            row["attribution"] = _accounts_named(
                json.loads(named(json.dumps(row["attribution"]))), accounts
            )
        lines.append(row)
    states = InboundMessage.objects.filter(pk__in=inbound_ids).values_list(
        "sha256", "state", "kind", "error"
    )
    lines += [
        {"message": sha, "state": state, "kind": kind, "error": error}
        for sha, state, kind, error in sorted(states)
    ]
    for mailing in Mailing.objects.filter(pk__in=names).values(
        "pk",
        "subscriber_id",
        "kind",
        "state",
        "normalized_subject",
        "subject_variants",
        "signals",
        "is_likely_compromised",
        "compromise_reason",
        "complaint_count",
        "hard_bounce_count",
        "soft_bounce_count",
        "first_seen",
        "last_seen",
    ):
        mailing["mailing"] = names[mailing.pop("pk")]
        mailing["subscriber_id"] = accounts.get(mailing["subscriber_id"])
        mailing["first_seen"] = mailing["first_seen"].isoformat()
        mailing["last_seen"] = mailing["last_seen"].isoformat()
        lines.append(mailing)
    lines.sort(key=lambda line: json.dumps(line, sort_keys=True))
    path.write_text(
        "".join(json.dumps(line, sort_keys=True, default=str) + "\n" for line in lines)
    )
    return len(lines)


def _accounts_named(value, accounts: dict[int, str]):
    """Subscriber ids inside the evidence, as account numbers."""
    if isinstance(value, dict):
        return {
            key: accounts.get(item, item)
            if key == "subscriber"
            else _accounts_named(item, accounts)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_accounts_named(item, accounts) for item in value]
    return value
