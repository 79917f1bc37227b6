"""What a staff correction of mailings would do, and whether it is allowed: the
checks and the strike plan that ``corrections`` applies under its locks, and that
the confirmation pages show before anything changes. Reads only.

A merged mailing keeps at most one strike (Strike.mailing is one-to-one): the
target's own when it is live, else the oldest live strike among the mailings it
absorbs, which moves to it with their reports. Every other live strike of an
absorbed mailing is revoked as a duplicate. Two cases only staff can settle are
refused: absorbing a live strike into a mailing whose own strike was revoked on
appeal, and into a mailing closed as compromised or dismissed.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError

from complaints.models import Bounce, Complaint, Mailing, Strike

# Signals markers: the mailing a merge emptied this one into, and the mailing a
# split took this one's reports from.
MERGED_INTO = "merged_into"
SPLIT_FROM = "split_from"
# Closed by staff without a strike; a live strike cannot move onto one.
CLOSED_WITHOUT_STRIKE = frozenset({Mailing.State.COMPROMISED, Mailing.State.DISMISSED})
SHOWN_IN_ERRORS = 5


@dataclass(frozen=True)
class StrikePlan:
    """What happens to the strikes when mailings are absorbed into a target."""

    kept: Strike | None = None  # the target's own live strike
    moved: Strike | None = None  # an absorbed mailing's live strike, now the target's
    revoked: tuple[Strike, ...] = ()  # live duplicates, revoked

    @property
    def survivor(self) -> Strike | None:
        return self.kept or self.moved

    def describe(self, target: Mailing) -> list[str]:
        lines = []
        if self.moved is not None:
            lines.append(
                f"The live strike of mailing #{self.moved.mailing_id} moves to "
                f"mailing #{target.pk}, which keeps it."
            )
        for strike in self.revoked:
            lines.append(
                f"The live strike of mailing #{strike.mailing_id} is revoked as a "
                f"duplicate of mailing #{target.pk}."
            )
        return lines


@dataclass(frozen=True)
class MergePlan:
    target: Mailing
    sources: tuple[Mailing, ...]  # the ones still to merge
    strikes: StrikePlan

    @property
    def is_done(self) -> bool:
        return not self.sources

    def describe(self) -> list[str]:
        if self.is_done:
            return ["Nothing to do: these mailings are merged already."]
        lines = [
            f"The complaints, bounces and keys of mailing #{source.pk} move to "
            f"mailing #{self.target.pk}; mailing #{source.pk} is closed as "
            f'"merged into #{self.target.pk}".'
            for source in self.sources
        ]
        return [*lines, *self.strikes.describe(self.target)]


@dataclass(frozen=True)
class MovePlan:
    """Reports leaving their mailings for ``target`` (None: a new mailing)."""

    target: Mailing | None
    complaints: tuple[Complaint, ...]
    bounces: tuple[Bounce, ...]
    origins: tuple[Mailing, ...] = ()
    emptied: tuple[Mailing, ...] = ()
    strikes: StrikePlan = field(default_factory=StrikePlan)
    # A split already done: the mailing the reports now form.
    done_as: Mailing | None = None

    @property
    def is_done(self) -> bool:
        return self.done_as is not None or not (self.complaints or self.bounces)

    def describe(self) -> list[str]:
        if self.is_done:
            return ["Nothing to do: the selected reports have moved already."]
        where = f"mailing #{self.target.pk}" if self.target else "a new mailing"
        lines = [
            f"{len(self.complaints)} complaint(s) and {len(self.bounces)} bounce(s) "
            f"move from mailing {_numbers(self.origins)} to {where}."
        ]
        lines += [
            f"Mailing #{mailing.pk} is left empty and is closed as "
            f'"merged into #{self.target.pk}".'
            for mailing in self.emptied
        ]
        if self.target is not None:
            lines += self.strikes.describe(self.target)
        return lines


def merge_plan(*, target: Mailing, sources: Iterable[Mailing]) -> MergePlan:
    """Check a merge of ``sources`` into ``target`` and plan its strikes."""
    sources = _distinct(sources)
    if not sources:
        raise ValidationError("Choose the mailing(s) to merge into this one.")
    if any(source.pk == target.pk for source in sources):
        raise ValidationError(f"Mailing #{target.pk} cannot be merged into itself.")
    for source in sources:
        if source.subscriber_id != target.subscriber_id:
            raise ValidationError(
                f"Mailings #{target.pk} and #{source.pk} belong to different "
                "subscribers; only one subscriber's mailings can be merged."
            )
    refuse_held([target, *sources])
    refuse_merged_away(target)
    pending = []
    for source in sources:
        into = (source.signals or {}).get(MERGED_INTO)
        if into == target.pk and not has_reports(source):
            continue  # merged already: a repeat changes nothing
        if into and into != target.pk:
            raise ValidationError(f"Mailing #{source.pk} was merged into #{into}.")
        pending.append(source)
    return MergePlan(target, tuple(pending), strike_plan(target, pending))


def move_plan(
    *, complaint_ids: Iterable[int], bounce_ids: Iterable[int], target: Mailing
) -> MovePlan:
    """Check a move of reports to ``target`` and plan what it empties."""
    complaints, bounces = selected_reports(complaint_ids, bounce_ids)
    origin_ids = {r.mailing_id for r in (*complaints, *bounces)} - {target.pk}
    origins = sorted(Mailing.objects.filter(pk__in=origin_ids), key=lambda m: m.pk)
    for origin in origins:
        if origin.subscriber_id != target.subscriber_id:
            raise ValidationError(
                f"Mailing #{target.pk} belongs to another subscriber than the "
                f"reports of mailing #{origin.pk}; reports move only between one "
                "subscriber's mailings."
            )
    refuse_held([target, *origins])
    refuse_merged_away(target)
    complaints = tuple(c for c in complaints if c.mailing_id != target.pk)
    bounces = tuple(b for b in bounces if b.mailing_id != target.pk)
    leaving = ([c.pk for c in complaints], [b.pk for b in bounces])
    emptied = [m for m in origins if not has_reports(m, excluding=leaving)]
    return MovePlan(
        target=target,
        complaints=complaints,
        bounces=bounces,
        origins=tuple(origins),
        emptied=tuple(emptied),
        strikes=strike_plan(target, emptied),
    )


def split_plan(
    *, mailing: Mailing, complaint_ids: Iterable[int], bounce_ids: Iterable[int]
) -> MovePlan:
    """Check a split of the selected reports off ``mailing``."""
    complaints, bounces = selected_reports(complaint_ids, bounce_ids)
    refuse_held([mailing])
    elsewhere = [r for r in (*complaints, *bounces) if r.mailing_id != mailing.pk]
    if elsewhere:
        done_as = _split_already(mailing, elsewhere, len(complaints) + len(bounces))
        if done_as is not None:
            return MovePlan(target=None, complaints=(), bounces=(), done_as=done_as)
        raise ValidationError(
            f"Not on mailing #{mailing.pk}: {_labels(elsewhere)}. Split only the "
            "mailing's own reports."
        )
    leaving = ([c.pk for c in complaints], [b.pk for b in bounces])
    if not has_reports(mailing, excluding=leaving):
        raise ValidationError(
            "Select only some of the mailing's reports: splitting off all of them "
            "would leave nothing behind."
        )
    return MovePlan(
        target=None, complaints=complaints, bounces=bounces, origins=(mailing,)
    )


def _split_already(mailing: Mailing, elsewhere: list, selected: int) -> Mailing | None:
    """The mailing an earlier split of these very reports created, if any."""
    homes = {r.mailing_id for r in elsewhere}
    if len(elsewhere) != selected or len(homes) != 1:
        return None
    home = Mailing.objects.filter(pk=homes.pop()).first()
    if home is not None and (home.signals or {}).get(SPLIT_FROM) == mailing.pk:
        return home
    return None


def strike_plan(target: Mailing, absorbed: list[Mailing]) -> StrikePlan:
    """Who keeps which strike when ``absorbed`` mailings end in ``target``."""
    rows = {
        s.mailing_id: s
        for s in Strike.objects.filter(
            mailing_id__in=[target.pk, *(m.pk for m in absorbed)]
        )
    }
    own = rows.get(target.pk)
    live = sorted(
        (
            rows[m.pk]
            for m in absorbed
            if m.pk in rows and rows[m.pk].revoked_at is None
        ),
        key=lambda s: (s.issued_at, s.pk),
    )
    if own is not None and own.revoked_at is None:
        return StrikePlan(kept=own, revoked=tuple(live))
    if not live:
        return StrikePlan()
    if own is not None:
        raise ValidationError(
            f"The strike on mailing #{target.pk} was revoked, while mailing "
            f"#{live[0].mailing_id} carries a live one: merge #{target.pk} into "
            f"#{live[0].mailing_id} instead, or revoke that strike first."
        )
    if target.state in CLOSED_WITHOUT_STRIKE:
        raise ValidationError(
            f"Mailing #{target.pk} was marked {target.state}; it cannot take over "
            f"the live strike of mailing #{live[0].mailing_id}. Revoke that strike "
            "first, or merge the other way."
        )
    return StrikePlan(moved=live[0], revoked=tuple(live[1:]))


def selected_reports(
    complaint_ids: Iterable[int], bounce_ids: Iterable[int]
) -> tuple[tuple[Complaint, ...], tuple[Bounce, ...]]:
    """The selected reports, each required to exist and to be on a mailing."""
    complaint_ids, bounce_ids = sorted(set(complaint_ids)), sorted(set(bounce_ids))
    if not complaint_ids and not bounce_ids:
        raise ValidationError("Select the complaints or bounces to move.")
    complaints = tuple(
        Complaint.objects.filter(pk__in=complaint_ids)
        .only(
            "pk",
            "reference",
            "mailing_id",
            "message_id",
            "received_at",
            "subject",
            "header_from",
            "mail_from",
        )
        .order_by("pk")
    )
    bounces = tuple(
        Bounce.objects.filter(pk__in=bounce_ids)
        .only("pk", "address", "mailing_id", "message_id")
        .order_by("pk")
    )
    missing = sorted(set(complaint_ids) - {c.pk for c in complaints})
    missing += sorted(set(bounce_ids) - {b.pk for b in bounces})
    if missing:
        raise ValidationError(f"No such report: {_ids(missing)}.")
    unlinked = [r for r in (*complaints, *bounces) if r.mailing_id is None]
    if unlinked:
        raise ValidationError(
            f"On no mailing: {_labels(unlinked)}. Link a complaint from its own page."
        )
    return complaints, bounces


def has_reports(
    mailing: Mailing, excluding: tuple[list[int], list[int]] = ([], [])
) -> bool:
    """Whether ``mailing`` has complaints or bounces besides those excluded."""
    complaints, bounces = excluding
    return (
        Complaint.objects.filter(mailing=mailing).exclude(pk__in=complaints).exists()
        or Bounce.objects.filter(mailing=mailing).exclude(pk__in=bounces).exists()
    )


def refuse_held(mailings: Iterable[Mailing]) -> None:
    for mailing in mailings:
        if mailing.state == Mailing.State.HELD:
            raise ValidationError(
                f"Mailing #{mailing.pk} is a held batch; release or reject it "
                "before correcting it."
            )


def refuse_merged_away(mailing: Mailing) -> None:
    into = (mailing.signals or {}).get(MERGED_INTO)
    if into:
        raise ValidationError(
            f"Mailing #{mailing.pk} was merged into #{into}; use mailing #{into}."
        )


def _distinct(mailings: Iterable[Mailing]) -> list[Mailing]:
    return list({m.pk: m for m in mailings}.values())


def _numbers(mailings: Iterable[Mailing]) -> str:
    return ", ".join(f"#{m.pk}" for m in mailings)


def _ids(ids: list[int]) -> str:
    shown = ", ".join(f"#{pk}" for pk in ids[:SHOWN_IN_ERRORS])
    return shown + (" and more" if len(ids) > SHOWN_IN_ERRORS else "")


def _labels(reports: list) -> str:
    labels = [
        f"complaint {r.reference}"
        if isinstance(r, Complaint)
        else f"bounce {r.address}"
        for r in reports
    ]
    shown = ", ".join(labels[:SHOWN_IN_ERRORS])
    return shown + (" and more" if len(labels) > SHOWN_IN_ERRORS else "")
