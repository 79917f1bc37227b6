"""A mailing's counters recomputed from its rows, after staff corrections moved
reports between mailings.

Ingest keeps the counters incrementally (``recording.mailings_count``); a
correction instead counts them again from the Complaint and Bounce rows, so a
move can never leave a count a little off. What is counted:

- ``complaint_count``: complaints in state ``linked`` that are not forged (a
  forged report never counts against anyone);
- ``hard_bounce_count`` / ``soft_bounce_count``: the mailing's bounces that are
  not forged;
- ``first_seen`` / ``last_seen``: the earliest and latest report, by the
  feedback report's Arrival-Date when it has one, else by when the desk received
  it; a mailing left with no report keeps its window;
- ``subject_variants``: the normalised subjects of its complaints, in order of
  first appearance, capped;
- ``signals``: what its reports say about the sending (senders, logins, client
  networks, forged reports), capped, plus the correction markers
  (``merged_into``, ``split_from``), which a recount keeps.

Callers own the transaction and hold the mailings' locks.
"""

import email.utils

from django.db.models import Count, Max, Min, Q
from django.db.models.functions import Coalesce

# The linking normaliser, so variants compare with what later reports produce.
from complaints.linking import grouping, network
from complaints.linking.subjects import subject_key
from complaints.models import Bounce, Complaint, Mailing

SUBJECT_VARIANTS_CAP = 20
SIGNAL_VALUES_CAP = 20
# Rows read per mailing for the distinct subjects, senders and addresses: enough
# for the capped lists, bounded for an outbreak of thousands of random subjects.
DISTINCT_ROWS_LIMIT = 500
# Signals a recount must not drop: they are not derived from the rows.
MARKERS = ("merged_into", "split_from")


def mailings_recount(*, mailing_ids: list[int]) -> None:
    """Rewrite the counters, window, subject variants and signals of each
    mailing from its rows (one UPDATE per mailing)."""
    ids = sorted(set(mailing_ids))
    if not ids:
        return
    complaints = _complaint_totals(ids)
    bounces = _bounce_totals(ids)
    markers = {
        pk: {k: v for k, v in (signals or {}).items() if k in MARKERS}
        for pk, signals in Mailing.objects.filter(pk__in=ids).values_list(
            "pk", "signals"
        )
    }
    for pk in ids:
        c, b = complaints.get(pk, {}), bounces.get(pk, {})
        fields = {
            "complaint_count": c.get("linked", 0),
            "hard_bounce_count": b.get("hard", 0),
            "soft_bounce_count": b.get("soft", 0),
            "subject_variants": subject_variants_from_rows(mailing_id=pk),
            "signals": {
                **signals_from_rows(
                    mailing_id=pk, forged=c.get("forged", 0) + b.get("forged", 0)
                ),
                **markers.get(pk, {}),
            },
        }
        seen = [t for t in (c.get("first"), b.get("first")) if t is not None]
        if seen:
            fields["first_seen"] = min(seen)
            fields["last_seen"] = max(t for t in (c.get("last"), b.get("last")) if t)
        Mailing.objects.filter(pk=pk).update(**fields)


def _complaint_totals(ids: list[int]) -> dict[int, dict]:
    at = Coalesce("arrival_date", "received_at")
    rows = (
        Complaint.objects.filter(mailing_id__in=ids)
        .values("mailing_id")
        .annotate(
            linked=Count("pk", filter=Q(state=Complaint.State.LINKED, is_forged=False)),
            forged=Count("pk", filter=Q(is_forged=True)),
            first=Min(at),
            last=Max(at),
        )
        .order_by()
    )
    return {row["mailing_id"]: row for row in rows}


def _bounce_totals(ids: list[int]) -> dict[int, dict]:
    rows = (
        Bounce.objects.filter(mailing_id__in=ids)
        .values("mailing_id")
        .annotate(
            hard=Count("pk", filter=Q(is_hard=True, is_forged=False)),
            soft=Count("pk", filter=Q(is_hard=False, is_forged=False)),
            forged=Count("pk", filter=Q(is_forged=True)),
            first=Min("received_at"),
            last=Max("received_at"),
        )
        .order_by()
    )
    return {row["mailing_id"]: row for row in rows}


def subject_variants_from_rows(*, mailing_id: int) -> list[str]:
    """The distinct normalised subjects of a mailing's complaints, oldest first."""
    subjects = (
        Complaint.objects.filter(mailing_id=mailing_id)
        .exclude(subject="")
        .values("subject")
        .annotate(first=Min("received_at"))
        .order_by("first", "subject")[:DISTINCT_ROWS_LIMIT]
    )
    variants: list[str] = []
    for row in subjects:
        variant = subject_key(row["subject"])
        if variant and variant not in variants:
            variants.append(variant)
            if len(variants) == SUBJECT_VARIANTS_CAP:
                break
    return variants


def signals_from_rows(*, mailing_id: int, forged: int = 0) -> dict:
    """What the mailing's reports say about the sending, folded as recording
    folds them (``complaints.linking.grouping.signals_add``), from each
    complaint's sender and the evidence linking stored with it."""
    signals: dict = {}
    rows = (
        Complaint.objects.filter(mailing_id=mailing_id)
        .order_by("pk")
        .values_list("header_from", "mail_from", "login", "attribution", "source_ip")
    )
    for header_from, mail_from, login, evidence, source_ip in rows[
        :DISTINCT_ROWS_LIMIT
    ]:
        sender = next(
            (
                address
                for address in (
                    email.utils.parseaddr(v or "")[1].lower()
                    for v in (header_from, mail_from)
                )
                if "@" in address
            ),
            None,
        )
        evidence = evidence or {}
        signals = grouping.signals_add(
            signals,
            grouping.ReportSignals(
                sender=sender,
                is_direct_to_mx=bool(evidence.get("direct_to_mx")),
                foreign_network=evidence.get("foreign_network"),
                client_network=network.network_of(
                    evidence.get("client_ip") or source_ip
                ),
                login=(login or "").lower() or None,
            ),
        )
    signals["reports"] = (
        Complaint.objects.filter(mailing_id=mailing_id).count()
        + Bounce.objects.filter(mailing_id=mailing_id).count()
    )
    signals["forged"] = forged
    return signals
