"""The rows of the long staff tables (the complaint queue, the mailings list, the
stored messages) and their sort headers, written in Python.

Fifty rows of a dozen template lookups, filters and URL reversals each cost the
template engine more CPU than the rest of the page, database included (issue 14's
page figure). These tags write the markup the template rows did, character for
character, with every value escaped as autoescaping would, and reverse each URL
once per table.
"""

import html
import threading
import unicodedata
from collections import OrderedDict
from collections.abc import Callable, Iterable
from datetime import datetime
from urllib.parse import quote

from django import template
from django.conf import settings
from django.template.defaulttags import CsrfTokenNode
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.html import conditional_escape as esc
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import Truncator
from django.utils.translation import get_language

from abusedesk.pagination import CURSOR_PARAMS
from accounts.models import Action
from complaints.models import Complaint, InboundMessage, Mailing
from complaints.templatetags.desk_text import reason_words, reveal_controls

register = template.Library()

# A number no route's own text contains: each URL is reversed once with it and
# the row's key is put in its place.
_KEY = 987654321987654321


def pk_url(name: str) -> Callable[[int], str]:
    """``reverse(name, args=[pk])`` for many keys at the price of one reversal."""
    head, tail = reverse(name, args=[_KEY]).split(str(_KEY))
    return lambda pk: f"{head}{pk}{tail}"


def _stamp(value: datetime | None) -> str:
    """What ``|date:"Y-m-d H:i"`` shows: the moment in the current time zone."""
    return _stamps()(value)


def _stamps() -> Callable[[datetime | None], str]:
    """``_stamp`` with the current time zone looked up once, for a table's rows
    (looking it up is most of the cost of one stamp)."""
    zone = timezone.get_current_timezone()

    def stamp(value: datetime | None) -> str:
        if value is None:
            return ""
        if timezone.is_aware(value):
            value = value.astimezone(zone)
        return (
            f"{value.year:04d}-{value.month:02d}-{value.day:02d} "
            f"{value.hour:02d}:{value.minute:02d}"
        )

    return stamp


def _labels(model, field: str) -> Callable[[object], str]:
    """``get_<field>_display`` for many rows: the field's choices read once into
    a dict (the method looks them up afresh for every call), escaped."""
    labels = {
        value: esc(str(label))
        for value, label in model._meta.get_field(field).flatchoices
    }
    return lambda value: labels[value] if value in labels else esc(value)


def _cut(value: str, length: int) -> str:
    """``|truncatechars:length``. Most values are short enough to keep whole,
    which Truncator also returns NFC-normalized; its character walk is left for
    the long ones."""
    text = unicodedata.normalize("NFC", value)
    return text if len(text) <= length else Truncator(value).chars(length)


def _shown(value, length: int, empty: str = "") -> str:
    """Text a sender controls, as ``|reveal_controls|truncatechars`` shows it
    (``empty`` in place of nothing), escaped."""
    return esc(_cut(reveal_controls(value) or empty, length))


_FORM_HTML_KEPT = 512
_form_html: OrderedDict[tuple, str] = OrderedDict()
_form_html_lock = threading.Lock()


@register.simple_tag
def filter_fields(filterset) -> SafeString:
    """A FilterSet's form fields, each as ``<p>label widget</p>``.

    Rendering a dozen widgets through Django's form templates costs more CPU than
    the queries of the page, and the markup of these forms depends on nothing but
    the values submitted for their fields (fixed choices, fixed labels), so it is
    kept per process for the most recent combinations of those values (keyed by
    the FilterSet's class: django-filter makes a new form class per instance)."""
    form = filterset.form
    names = [field.html_name for field in form]
    values = (
        tuple(
            (name, tuple(form.data.getlist(name)))
            for name in sorted(form.data)
            # Widgets of several inputs add suffixes to the field's name.
            if name.startswith(tuple(names))
        )
        if form.is_bound
        else None
    )
    key = (type(filterset), form.prefix, form.auto_id, get_language(), values)
    with _form_html_lock:
        html = _form_html.get(key)
        if html is not None:
            _form_html.move_to_end(key)
            return mark_safe(html)  # noqa: S308  (rendered by Django below)
    html = "".join(f"\n    <p>{field.label_tag()} {field}</p>\n  " for field in form)
    with _form_html_lock:
        _form_html[key] = html
        if len(_form_html) > _FORM_HTML_KEPT:
            _form_html.popitem(last=False)
    return mark_safe(html)  # noqa: S308  (Django's own escaped form markup)


_unbound_html: dict[tuple, str] = {}


@register.simple_tag
def unbound_field(form, name: str) -> SafeString:
    """``{{ form.<name>.label_tag }} {{ form.<name> }}`` of a form that is not
    bound: its markup depends on nothing but the form's class, prefix and the
    language, so it is rendered once per process (Django's widget templates
    cost the queue page more than its bulk form is worth). A bound form is
    rendered as it is."""
    field = form[name]
    if form.is_bound:
        return mark_safe(f"{field.label_tag()} {field}")  # noqa: S308  (Django's markup)
    key = (type(form), name, form.prefix, form.auto_id, get_language())
    html = _unbound_html.get(key)
    if html is None:
        html = _unbound_html[key] = f"{field.label_tag()} {field}"
    return mark_safe(html)  # noqa: S308  (Django's own escaped form markup)


@register.simple_tag(takes_context=True)
def sort_header(context, key: str, label: str) -> SafeString:
    """A sortable column's header: a link that keeps the filters, drops the page
    position, and sorts by ``key`` (the other way when it already does)."""
    query = context["request"].GET
    order = query.get("order")
    # quote() leaves no character that HTML would need escaped.
    kept = "".join(
        f"{quote(name)}={quote(value)}&amp;"
        for name, values in query.lists()
        if name != "order" and name not in CURSOR_PARAMS
        for value in values
    )
    if order == key:
        sort, arrow, flip = ' aria-sort="ascending"', " ▲", "-"
    elif order == f"-{key}":
        sort, arrow, flip = ' aria-sort="descending"', " ▼", ""
    else:
        sort, arrow, flip = "", "", ""
    return mark_safe(  # noqa: S308  (every value is quoted or escaped above)
        f'<th scope="col"{sort}><a class="sort" href="?{kept}order={flip}'
        f'{esc(key)}">{esc(label)}{arrow}</a></th>'
    )


@register.simple_tag
def complaint_rows(page: Iterable, queue_q: str) -> SafeString:
    """The queue's rows; ``queue_q`` is the queue's own query, carried to each
    complaint so that it can offer the previous and next one."""
    url = pk_url("complaints:complaint_detail")
    queue_q = esc(queue_q)
    shown = _RowHelpers(Complaint)
    rows = [_complaint_row(complaint, url, queue_q, shown) for complaint in page]
    if not rows:
        return mark_safe(
            '<tr><td colspan="9" class="muted">No complaints match.</td></tr>'
        )
    return mark_safe("".join(rows))  # noqa: S308  (rows escape their values)


class _RowHelpers:
    """What every row of a table looks up: the time zone and the labels of the
    model's ``channel`` and ``state`` choices, once per table."""

    def __init__(self, model):
        self.stamp = _stamps()
        self.state = _labels(model, "state")
        self.channel = (
            _labels(model, "channel")
            if any(f.name == "channel" for f in model._meta.fields)
            else None
        )


def _complaint_row(
    complaint, url: Callable[[int], str], queue_q: str, shown: _RowHelpers
) -> str:
    href = f"{url(complaint.pk)}?queue={queue_q}"
    reference = esc(complaint.reference)
    if complaint.subscriber:
        owner = esc(complaint.subscriber.account_number)
    elif complaint.is_forged:
        owner = (
            f'<span class="badge forged" title="{esc(complaint.forged_reason)}">'
            "Forged sender</span>"
        )
    else:
        owner = "—"
    mailing = f"#{complaint.mailing_id}" if complaint.mailing_id else "—"
    evidence = (
        ' <span class="badge without-evidence">without evidence</span>'
        if complaint.is_without_evidence
        else ""
    )
    return (
        f'\n      <tr data-href="{href}">\n'
        f'        <td><input type="checkbox" name="complaints" '
        f'value="{complaint.pk}" aria-label="Select {reference}"></td>\n'
        f'        <td><a href="{href}">{reference}</a></td>\n'
        f"        <td>{shown.stamp(complaint.received_at)}</td>\n"
        f"        <td>{shown.channel(complaint.channel)}</td>\n"
        f"        <td>{esc(reveal_controls(complaint.feedback_type) or '—')}</td>\n"
        f'        <td class="bidi-safe">{_shown(complaint.subject, 80)}</td>\n'
        f"        <td>{owner}</td>\n"
        f"        <td>{mailing}</td>\n"
        f'        <td><span class="badge {esc(complaint.state)}">'
        f"{shown.state(complaint.state)}</span>{evidence}</td>\n"
        f"      </tr>\n    "
    )


@register.simple_tag
def mailing_rows(page: Iterable) -> SafeString:
    """The mailings list's rows."""
    mailing_url = pk_url("complaints:mailing_detail")
    subscriber_url = pk_url("accounts:subscriber_detail")
    shown = _RowHelpers(Mailing)
    # A handful of states: each badge is written once per table.
    badges = {
        state: f'<span class="badge {esc(state)}">{shown.state(state)}</span>'
        for state in Mailing.State.values
    }
    rows = [
        _mailing_row(mailing, mailing_url, subscriber_url, shown, badges)
        for mailing in page
    ]
    if not rows:
        return mark_safe(
            '<tr><td colspan="9" class="muted">No mailings match.</td></tr>'
        )
    return mark_safe("".join(rows))  # noqa: S308  (rows escape their values)


def _mailing_row(  # noqa: PLR0913  (the row and what its table looked up once)
    mailing, mailing_url, subscriber_url, shown: _RowHelpers, badges: dict
) -> str:
    href = mailing_url(mailing.pk)
    owner = mailing.subscriber
    owner_href = subscriber_url(owner.pk) if owner else ""
    # html.escape is conditional_escape's work on a str, without its wrapper.
    owner_number = html.escape(owner.account_number) if owner else ""
    badge = badges.get(mailing.state)
    if badge is None:
        badge = (
            f'<span class="badge {esc(mailing.state)}">'
            f"{shown.state(mailing.state)}</span>"
        )
    strike = getattr(mailing, "strike", None)
    if not strike:
        strike_word = "—"
    elif strike.revoked_at:
        strike_word = "revoked"
    elif mailing.has_live_strike:
        strike_word = "live"
    else:
        strike_word = "expired"
    return (
        "\n    <tr>\n"
        f'      <td><a href="{href}">#{mailing.pk}</a></td>\n'
        f'      <td class="bidi-safe"><a href="{href}">'
        f"{_shown(mailing.subject, 80, '(no subject)')}</a></td>\n"
        f'      <td><a href="{owner_href}">{owner_number}</a></td>\n'
        f"      <td>{badge}</td>\n"
        f"      <td>{mailing.complaint_count}</td>\n"
        f"      <td>{mailing.hard_bounce_count}</td>\n"
        f"      <td>{strike_word}</td>\n"
        f"      <td>{shown.stamp(mailing.first_seen)}</td>\n"
        f"      <td>{shown.stamp(mailing.last_seen)}</td>\n"
        "    </tr>\n  "
    )


@register.simple_tag(takes_context=True)
def inbound_rows(context, page: Iterable, state: str) -> SafeString:
    """The rows of one list of stored messages; failed and ignored ones get a
    reprocess button."""
    detail_url = pk_url("complaints:inbound_detail")
    reprocess_url = pk_url("complaints:inbound_reprocess")
    csrf = CsrfTokenNode().render(context)
    shown = _RowHelpers(InboundMessage)
    rows = [
        _inbound_row(inbound, state, detail_url, reprocess_url, csrf, shown)
        for inbound in page
    ]
    if not rows:
        empty = "Nothing failed." if state == "failed" else "None."
        return mark_safe(f'<tr><td colspan="6" class="muted">{empty}</td></tr>')  # noqa: S308
    return mark_safe("".join(rows))  # noqa: S308  (rows escape their values)


def _inbound_row(  # noqa: PLR0913  (the row and what its table looked up once)
    inbound, state, detail_url, reprocess_url, csrf, shown: _RowHelpers
) -> str:
    if state == "discarded":
        why = _shown(inbound.discard_reason, 200)
    else:
        why = esc(_cut(reveal_controls(inbound.error), 200) or "—")
    button = ""
    if state in ("failed", "ignored"):
        button = (
            f'<form method="post" action="{reprocess_url(inbound.pk)}">{csrf}'
            '<button type="submit" class="secondary" aria-label="Reprocess message '
            f'#{inbound.pk}">Reprocess</button></form>'
        )
    return (
        f'\n    <tr><td><a href="{detail_url(inbound.pk)}">#{inbound.pk}</a></td>'
        f"<td>{shown.stamp(inbound.received_at)}</td>"
        f"<td>{shown.channel(inbound.channel)}</td>"
        f"<td>{esc(inbound.kind or '—')}</td>\n"
        f'      <td class="bidi-safe">{why}</td>\n'
        f"      <td>{button}</td></tr>\n  "
    )


@register.simple_tag
def mailing_complaint_rows(complaints: Iterable) -> SafeString:
    """A mailing page's complaints, each with a box the corrections form reads."""
    url = pk_url("complaints:complaint_detail")
    shown = _RowHelpers(Complaint)
    stamp, channel, state = shown.stamp, shown.channel, shown.state
    # A big mailing's two hundred rows share a handful of feedback types:
    # each is revealed and escaped once.
    feedback_types: dict = {}
    rows = []
    for complaint in complaints:
        # html.escape is what conditional_escape does to a str, without the
        # lazy-string wrapper around it (most of its cost, twice a row).
        reference = html.escape(complaint.reference)
        feedback = feedback_types.get(complaint.feedback_type)
        if feedback is None:
            feedback = esc(reveal_controls(complaint.feedback_type) or "—")
            feedback_types[complaint.feedback_type] = feedback
        rows.append(
            f'\n      <tr><td><input type="checkbox" name="complaint" '
            f'value="{complaint.pk}" form="mailing-reports" aria-label="Select '
            f'complaint {reference}"> <a href="{url(complaint.pk)}">'
            f"{reference}</a></td><td>{stamp(complaint.received_at)}"
            f"</td>\n        <td>{channel(complaint.channel)}</td>"
            f"<td>{feedback}</td>"
            f"<td>{state(complaint.state)}</td></tr>\n    "
        )
    if not rows:
        return mark_safe('<tr><td colspan="5" class="muted">None.</td></tr>')
    return mark_safe("".join(rows))  # noqa: S308  (rows escape their values)


@register.simple_tag
def bounce_rows(bounces: Iterable) -> SafeString:
    """A mailing page's bounces, each with a box the corrections form reads."""
    rows = [_bounce_row(bounce) for bounce in bounces]
    if not rows:
        return mark_safe('<tr><td colspan="5" class="muted">None.</td></tr>')
    return mark_safe("".join(rows))  # noqa: S308  (rows escape their values)


def _bounce_row(bounce) -> str:
    sent_to = (
        f" <small>(sent to {esc(reveal_controls(bounce.original_address))})</small>"
        if bounce.original_address
        else ""
    )
    return (
        f'\n      <tr><td class="bidi-safe"><input type="checkbox" name="bounce" '
        f'value="{bounce.pk}" form="mailing-reports" aria-label="Select bounce '
        f'{esc(bounce.address)}"> {esc(reveal_controls(bounce.address))}{sent_to}'
        f"</td><td>{esc(bounce.status or '—')}</td>"
        f"<td>{esc(reason_words(bounce.reason))}</td>"
        f"<td>{'hard' if bounce.is_hard else 'soft'}</td>\n"
        f'        <td class="bidi-safe">{_shown(bounce.diagnostic, 120)}</td></tr>\n    '
    )


@register.simple_tag
def timeline_items(actions: Iterable) -> SafeString:
    """A mailing's timeline, newest first."""
    stamp, kind = _stamps(), _labels(Action, "kind")
    items = []
    for action in actions:
        reason = (
            f': <span class="bidi-safe">{_shown(action.reason, 200)}</span>'
            if action.reason
            else ""
        )
        items.append(
            f"<li>{stamp(action.created_at)} {kind(action.kind)} by "
            f"{esc(reveal_controls(action.actor_label))}{reason}</li>\n    "
        )
    if not items:
        return mark_safe('<li class="muted">Nothing yet.</li>')
    return mark_safe("".join(items))  # noqa: S308  (items escape their values)


def _number(value, decimal_mark: str, grouped: bool | None = None) -> str:
    """A number as the template shows it (``localize``): plain digits and the
    locale's ``decimal_mark``, unless thousands are ``grouped`` (the setting,
    when not given) or the float would be written with an exponent, which are
    left to Django."""
    if grouped is None:
        grouped = settings.USE_THOUSAND_SEPARATOR
    if isinstance(value, bool) or grouped:
        return formats.localize(value)
    if isinstance(value, int):
        return str(value)
    text = str(value)
    if "e" in text or "n" in text:  # exponent, inf, nan
        return formats.localize(value)
    return text.replace(".", decimal_mark)


def _numbers() -> Callable[[object], str]:
    """``_number`` with the current locale's decimal mark, looked up once."""
    decimal_mark = formats.get_format("DECIMAL_SEPARATOR")
    grouped = settings.USE_THOUSAND_SEPARATOR
    return lambda value: _number(value, decimal_mark, grouped)


@register.simple_tag
def chart_bars(chart: dict) -> SafeString:
    """The bars of a chart from ``complaints.charts.stacked_bars``."""
    n = _numbers()
    width, axis_y = n(chart["bar_width"]), n(chart["axis_y"])
    parts = []
    for bar in chart["bars"]:
        label = esc(bar["label"])
        complaints, bounces, total = bar["complaints"], bar["bounces"], bar["total"]
        x, middle = n(bar["x"]), n(bar["middle"])
        value = (
            f'<text class="value" x="{middle}" y="{n(bar["total_y"])}" '
            f'text-anchor="middle">{n(total)}</text>'
            if total
            else ""
        )
        parts.append(
            "\n    <g>\n"
            f"      <title>{label}: {n(complaints)} complaint"
            f"{'' if complaints == 1 else 's'}, {n(bounces)} bounce"
            f"{'' if bounces == 1 else 's'}</title>\n"
            f'      <rect class="bar-bounces" x="{x}" y="{n(bar["bounces_y"])}" '
            f'width="{width}" height="{n(bar["bounces_h"])}"></rect>\n'
            f'      <rect class="bar-complaints" x="{x}" '
            f'y="{n(bar["complaints_y"])}" width="{width}" '
            f'height="{n(bar["complaints_h"])}"></rect>\n'
            f"      {value}\n"
            f'      <text class="tick" x="{middle}" y="{axis_y}" '
            f'text-anchor="middle">{label}</text>\n'
            "    </g>\n  "
        )
    return mark_safe("".join(parts))  # noqa: S308  (numbers and escaped labels)


@register.simple_tag
def day_cells(daily: Iterable, row: str) -> SafeString:
    """One row of the dashboard's table of daily figures: the days' numbers
    (``row="day"``) as column headers, or their complaints or bounces."""
    if row == "day":
        cells = (f'<th scope="col">{day.day.day}</th>' for day in daily)
    else:
        number = _numbers()
        cells = (f"<td>{number(getattr(day, row))}</td>" for day in daily)
    return mark_safe("".join(cells))  # noqa: S308  (numbers only)


@register.simple_tag
def recent_action_rows(actions: Iterable) -> SafeString:
    """The dashboard's recent actions."""
    url = pk_url("accounts:subscriber_detail")
    stamp, kind = _stamps(), _labels(Action, "kind")
    rows = []
    for action in actions:
        subscriber = action.subscriber
        rows.append(
            f"\n      <tr><td>{stamp(action.created_at)}</td>"
            f"<td>{kind(action.kind)}</td>\n"
            f'        <td><a href="{url(subscriber.pk) if subscriber else ""}">'
            f"{esc(subscriber.account_number) if subscriber else ''}</a></td>"
            f"<td>{esc(reveal_controls(action.actor_label))}</td></tr>\n    "
        )
    if not rows:
        return mark_safe('<tr><td colspan="4" class="muted">Nothing yet.</td></tr>')
    return mark_safe("".join(rows))  # noqa: S308  (rows escape their values)


@register.simple_tag
def top_mailing_items(mailings: Iterable) -> SafeString:
    """The dashboard's list of this week's mailings with most complaints."""
    url = pk_url("complaints:mailing_detail")
    number = _numbers()
    items = []
    for mailing in mailings:
        count = mailing.complaint_count
        items.append(
            f'\n        <li><a href="{url(mailing.pk)}" class="bidi-safe">'
            f"{_shown(mailing.subject, 60, '(no subject)')}</a>\n"
            f'          <span class="muted">'
            f"{esc(mailing.subscriber.account_number)} · {number(count)} "
            f"complaint{'' if count == 1 else 's'}</span></li>\n      "
        )
    if not items:
        return mark_safe('<li class="muted">None this week.</li>')
    return mark_safe("".join(items))  # noqa: S308  (items escape their values)


@register.simple_tag
def subscriber_items(subscribers: Iterable) -> SafeString:
    """The dashboard's list of accounts (one strike from suspension)."""
    url = pk_url("accounts:subscriber_detail")
    items = [
        f'\n        <li><a href="{url(subscriber.pk)}">'
        f"{esc(subscriber.account_number)}</a> "
        f'<span class="bidi-safe">{esc(reveal_controls(subscriber.name))}</span>'
        "</li>\n      "
        for subscriber in subscribers
    ]
    if not items:
        return mark_safe('<li class="muted">None.</li>')
    return mark_safe("".join(items))  # noqa: S308  (items escape their values)
