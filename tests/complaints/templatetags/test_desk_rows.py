"""The Python-written rows show exactly what the template rows they replaced
showed: each test renders the former template markup (kept here as the
reference) and the tag over the same rows, hostile text included."""

from datetime import UTC, date, datetime, timedelta

import pytest
from django.contrib.auth.models import User
from django.template import Context, Template
from django.test import RequestFactory
from django.utils import timezone

from accounts.models import Action
from complaints import charts, selectors
from complaints.filters import ComplaintFilter, MailingFilter
from complaints.models import Complaint, InboundMessage
from complaints.templatetags import desk_rows
from tests.accounts.factories import SubscriberFactory
from tests.complaints.factories import (
    BounceFactory,
    ComplaintFactory,
    InboundMessageFactory,
    MailingFactory,
    StrikeFactory,
)

pytestmark = pytest.mark.django_db

HOSTILE = 'Prize <script>"&\u202egpj.exe\u200b ' + "long " * 30
COMBINING = "Cafe\u0301 " * 20  # NFC composes each pair: 100 characters become 80


def render(source: str, **context) -> str:
    return Template("{% load desk_rows desk_text %}" + source).render(Context(context))


def rendered_with_request(source: str, query: str = "", **context) -> str:
    request = RequestFactory().get(f"/list/?{query}")
    context["request"] = request
    context["csrf_token"] = "token-value"
    return render(source, **context)


def complaints_for_queue() -> list[Complaint]:
    mailing = MailingFactory()
    ComplaintFactory(subject=HOSTILE, feedback_type="abuse\u202e", mailing=mailing)
    ComplaintFactory(
        subject=COMBINING, is_forged=True, forged_reason='From "spoofed" <x>'
    )
    ComplaintFactory(
        subject="", subscriber=SubscriberFactory(), is_without_evidence=True
    )
    return list(selectors.complaint_list().order_by("pk"))


QUEUE_ROW = """{% for complaint in page %}{% with href=complaint.get_absolute_url %}
      <tr data-href="{{ href }}?queue={{ queue_q }}">
        <td><input type="checkbox" name="complaints" value="{{ complaint.pk }}" aria-label="Select {{ complaint.reference }}"></td>
        <td><a href="{{ href }}?queue={{ queue_q }}">{{ complaint.reference }}</a></td>
        <td>{{ complaint.received_at|date:"Y-m-d H:i" }}</td>
        <td>{{ complaint.get_channel_display }}</td>
        <td>{{ complaint.feedback_type|reveal_controls|default:"—" }}</td>
        <td class="bidi-safe">{{ complaint.subject|reveal_controls|truncatechars:80 }}</td>
        <td>{% if complaint.subscriber %}{{ complaint.subscriber.account_number }}{% elif complaint.is_forged %}<span class="badge forged" title="{{ complaint.forged_reason }}">Forged sender</span>{% else %}—{% endif %}</td>
        <td>{% if complaint.mailing_id %}#{{ complaint.mailing_id }}{% else %}—{% endif %}</td>
        <td><span class="badge {{ complaint.state }}">{{ complaint.get_state_display }}</span>{% if complaint.is_without_evidence %} <span class="badge without-evidence">without evidence</span>{% endif %}</td>
      </tr>
    {% endwith %}{% empty %}<tr><td colspan="9" class="muted">No complaints match.</td></tr>{% endfor %}"""  # noqa: E501


def test_queue_rows_match_the_template_rows():
    page = complaints_for_queue()
    queue_q = "state%3Dnew%26text%3D%3Cb%3E"
    expected = render(QUEUE_ROW, page=page, queue_q=queue_q)
    assert render("{% complaint_rows page queue_q %}", page=page, queue_q=queue_q) == (
        expected
    )
    assert "&lt;U+202E&gt;" in expected and "<script>" not in expected


def test_queue_rows_say_so_when_nothing_matches():
    assert render("{% complaint_rows page '' %}", page=[]) == render(
        QUEUE_ROW, page=[], queue_q=""
    )


MAILING_ROW = """{% for mailing in page %}
    <tr>
      <td><a href="{{ mailing.get_absolute_url }}">#{{ mailing.pk }}</a></td>
      <td class="bidi-safe"><a href="{{ mailing.get_absolute_url }}">{{ mailing.subject|reveal_controls|default:"(no subject)"|truncatechars:80 }}</a></td>
      <td><a href="{{ mailing.subscriber.get_absolute_url }}">{{ mailing.subscriber.account_number }}</a></td>
      <td><span class="badge {{ mailing.state }}">{{ mailing.get_state_display }}</span></td>
      <td>{{ mailing.complaint_count }}</td>
      <td>{{ mailing.hard_bounce_count }}</td>
      <td>{% if mailing.strike %}{% if mailing.strike.revoked_at %}revoked{% elif mailing.has_live_strike %}live{% else %}expired{% endif %}{% else %}—{% endif %}</td>
      <td>{{ mailing.first_seen|date:"Y-m-d H:i" }}</td>
      <td>{{ mailing.last_seen|date:"Y-m-d H:i" }}</td>
    </tr>
  {% empty %}<tr><td colspan="9" class="muted">No mailings match.</td></tr>{% endfor %}"""  # noqa: E501


def test_mailing_rows_match_the_template_rows(settings):
    settings.ABUSE_STRIKE_WINDOW_DAYS = 30
    now = timezone.now()
    MailingFactory(subject=HOSTILE, complaint_count=3)
    MailingFactory(subject="")
    StrikeFactory(mailing=MailingFactory(subject=COMBINING))
    StrikeFactory(mailing=MailingFactory(), revoked_at=now, revoke_reason="appeal")
    StrikeFactory(mailing=MailingFactory(), issued_at=now - timedelta(days=90))
    page = list(selectors.mailing_list().order_by("pk"))
    expected = render(MAILING_ROW, page=page)
    for word in ("live", "revoked", "expired", "—"):
        assert f"<td>{word}</td>" in expected
    assert render("{% mailing_rows page %}", page=page) == expected
    assert render("{% mailing_rows page %}", page=[]) == render(MAILING_ROW, page=[])


INBOUND_ROW = """{% for inbound in page %}
    <tr><td><a href="{% url 'complaints:inbound_detail' inbound.pk %}">#{{ inbound.pk }}</a></td><td>{{ inbound.received_at|date:"Y-m-d H:i" }}</td><td>{{ inbound.get_channel_display }}</td><td>{{ inbound.kind|default:"—" }}</td>
      <td class="bidi-safe">{% if state == "discarded" %}{{ inbound.discard_reason|reveal_controls|truncatechars:200 }}{% else %}{{ inbound.error|reveal_controls|truncatechars:200|default:"—" }}{% endif %}</td>
      <td>{% if state == "failed" or state == "ignored" %}<form method="post" action="{% url 'complaints:inbound_reprocess' inbound.pk %}">{% csrf_token %}<button type="submit" class="secondary" aria-label="Reprocess message #{{ inbound.pk }}">Reprocess</button></form>{% endif %}</td></tr>
  {% empty %}<tr><td colspan="6" class="muted">{% if state == "failed" %}Nothing failed.{% else %}None.{% endif %}</td></tr>{% endfor %}"""  # noqa: E501


@pytest.mark.parametrize("state", ["failed", "ignored", "discarded", "pending"])
def test_stored_message_rows_match_the_template_rows(state):
    InboundMessageFactory(error=HOSTILE * 3, kind="arf", discard_reason=HOSTILE)
    InboundMessageFactory(error="", discard_reason="")
    page = list(InboundMessage.objects.defer("raw").order_by("pk"))
    for rows in (page, []):
        expected = rendered_with_request(INBOUND_ROW, page=rows, state=state)
        new = rendered_with_request(
            "{% inbound_rows page state %}", page=rows, state=state
        )
        assert new == expected


SORT_HEADER = """<th scope="col"{% if request.GET.order == key %} aria-sort="ascending"{% elif request.GET.order == "-"|add:key %} aria-sort="descending"{% endif %}><a class="sort" href="?{% for k, values in request.GET.lists %}{% if k != 'order' and k != 'page' and k != 'after' and k != 'before' and k != 'last' %}{% for v in values %}{{ k|urlencode }}={{ v|urlencode }}&amp;{% endfor %}{% endif %}{% endfor %}order={% if request.GET.order == key %}-{% endif %}{{ key }}">{{ label }}{% if request.GET.order == key %} ▲{% elif request.GET.order == "-"|add:key %} ▼{% endif %}</a></th>"""  # noqa: E501


@pytest.mark.parametrize(
    "query",
    [
        "",
        "order=subject",
        "order=-subject",
        "order=received&state=new&after=abc&last=1&page=2&before=x",
        "text=%3Cb%3E%22%26+x&text=two&subscriber=A1/2",
    ],
)
def test_sort_header_matches_the_template_header(query):
    expected = rendered_with_request(SORT_HEADER, query, key="subject", label="Sub<j>")
    new = rendered_with_request(
        '{% sort_header "subject" label %}', query, label="Sub<j>"
    )
    assert new == expected


FILTER_FIELDS = """{% for field in filter.form %}
    <p>{{ field.label_tag }} {{ field }}</p>
  {% endfor %}"""


@pytest.mark.parametrize("filter_class", [ComplaintFilter, MailingFilter])
@pytest.mark.parametrize(
    "query",
    [None, "order=-received", "state=new&text=%3Cb%3E", "received_after=not-a-day"],
)
def test_filter_fields_match_django_rendering_and_follow_the_values(
    filter_class, query
):
    from django.http import QueryDict

    data = QueryDict(query) if query else None
    queryset = selectors.complaint_list() if filter_class is ComplaintFilter else None
    make = lambda: filter_class(data, queryset=queryset)  # noqa: E731
    expected = render(FILTER_FIELDS, filter=make())
    assert render("{% filter_fields filter %}", filter=make()) == expected
    # A second request with the same values is served the kept markup.
    assert render("{% filter_fields filter %}", filter=make()) == expected


def test_filter_fields_are_kept_apart_by_submitted_value():
    from django.http import QueryDict

    first = render(
        "{% filter_fields filter %}", filter=ComplaintFilter(QueryDict("text=alpha"))
    )
    second = render(
        "{% filter_fields filter %}", filter=ComplaintFilter(QueryDict("text=beta"))
    )
    assert 'value="alpha"' in first and 'value="beta"' in second


BAR_LOOP = """{% for bar in chart.bars %}
    <g>
      <title>{{ bar.label }}: {{ bar.complaints }} complaint{{ bar.complaints|pluralize }}, {{ bar.bounces }} bounce{{ bar.bounces|pluralize }}</title>
      <rect class="bar-bounces" x="{{ bar.x }}" y="{{ bar.bounces_y }}" width="{{ chart.bar_width }}" height="{{ bar.bounces_h }}"></rect>
      <rect class="bar-complaints" x="{{ bar.x }}" y="{{ bar.complaints_y }}" width="{{ chart.bar_width }}" height="{{ bar.complaints_h }}"></rect>
      {% if bar.total %}<text class="value" x="{{ bar.middle }}" y="{{ bar.total_y }}" text-anchor="middle">{{ bar.total }}</text>{% endif %}
      <text class="tick" x="{{ bar.middle }}" y="{{ chart.axis_y }}" text-anchor="middle">{{ bar.label }}</text>
    </g>
  {% endfor %}"""  # noqa: E501


def test_chart_bars_match_the_template_bars():
    slots = [
        charts.Slot(start=date(2026, 1, n), label=f"{n} <Jan>", complaints=c, bounces=b)
        for n, (c, b) in enumerate([(0, 0), (1, 0), (0, 1), (7, 3), (12345, 1)], 1)
    ]
    for chart in (charts.stacked_bars(slots), charts.stacked_bars(slots, width=7)):
        assert render("{% chart_bars chart %}", chart=chart) == render(
            BAR_LOOP, chart=chart
        )


def test_numbers_show_as_the_template_shows_them():
    from django.utils import formats

    for value in (0, 7, 12345, 1.5, 0.1, 1e-07, 123456789.25, -0.0):
        assert desk_rows._numbers()(value) == formats.localize(value)


def test_day_cells_match_the_template_cells():
    daily = selectors.daily_counts(today=timezone.localdate(), days=30)
    assert render('{% day_cells daily "day" %}', daily=daily) == render(
        '{% for day in daily %}<th scope="col">{{ day.day|date:"j" }}</th>{% endfor %}',
        daily=daily,
    )
    for row in ("complaints", "bounces"):
        assert render("{% day_cells daily row %}", daily=daily, row=row) == render(
            "{% for day in daily %}<td>{{ day." + row + " }}</td>{% endfor %}",
            daily=daily,
        )


def actions() -> list[Action]:
    subscriber = SubscriberFactory()
    now = timezone.now()
    Action.objects.create(
        subscriber=subscriber, kind=Action.Kind.NOTE, reason=HOSTILE, created_at=now
    )
    Action.objects.create(
        subscriber=subscriber, kind=Action.Kind.STRIKE, created_at=now
    )
    return list(Action.objects.select_related("subscriber", "actor").order_by("pk"))


def test_recent_action_rows_match_the_template_rows():
    source = """{% for action in recent_actions %}
      <tr><td>{{ action.created_at|date:"Y-m-d H:i" }}</td><td>{{ action.get_kind_display }}</td>
        <td><a href="{{ action.subscriber.get_absolute_url }}">{{ action.subscriber.account_number }}</a></td><td>{{ action.actor_label|reveal_controls }}</td></tr>
    {% empty %}<tr><td colspan="4" class="muted">Nothing yet.</td></tr>{% endfor %}"""  # noqa: E501
    for rows in (actions(), []):
        assert render(
            "{% recent_action_rows recent_actions %}", recent_actions=rows
        ) == render(source, recent_actions=rows)


def test_timeline_items_match_the_template_items():
    source = """{% for action in timeline %}<li>{{ action.created_at|date:"Y-m-d H:i" }} {{ action.get_kind_display }} by {{ action.actor_label|reveal_controls }}{% if action.reason %}: <span class="bidi-safe">{{ action.reason|reveal_controls|truncatechars:200 }}</span>{% endif %}</li>
    {% empty %}<li class="muted">Nothing yet.</li>{% endfor %}"""  # noqa: E501
    for rows in (actions(), []):
        assert render("{% timeline_items timeline %}", timeline=rows) == render(
            source, timeline=rows
        )


def test_mailing_page_rows_match_the_template_rows():
    mailing = MailingFactory()
    ComplaintFactory(mailing=mailing, feedback_type="abuse\u202e", reference="R<1>")
    ComplaintFactory(mailing=mailing)
    BounceFactory(
        mailing=mailing,
        address="a\u202e<b>@example.com",
        original_address="orig@example.com",
        diagnostic=HOSTILE * 2,
    )
    BounceFactory(mailing=mailing, status="", reason="", is_hard=False)
    # The page's rows (only the columns it shows) in the tag, the complaints
    # themselves in the template markup it replaced.
    complaints = list(selectors.mailing_complaints_newest(mailing=mailing))
    instances = list(Complaint.objects.filter(mailing=mailing).order_by("-received_at"))
    assert [c.pk for c in complaints] == [c.pk for c in instances]
    bounces = list(selectors.mailing_bounces(mailing=mailing))
    complaint_source = """{% for complaint in complaints %}
      <tr><td><input type="checkbox" name="complaint" value="{{ complaint.pk }}" form="mailing-reports" aria-label="Select complaint {{ complaint.reference }}"> <a href="{{ complaint.get_absolute_url }}">{{ complaint.reference }}</a></td><td>{{ complaint.received_at|date:"Y-m-d H:i" }}</td>
        <td>{{ complaint.get_channel_display }}</td><td>{{ complaint.feedback_type|reveal_controls|default:"—" }}</td><td>{{ complaint.get_state_display }}</td></tr>
    {% empty %}<tr><td colspan="5" class="muted">None.</td></tr>{% endfor %}"""  # noqa: E501
    bounce_source = """{% for bounce in bounces %}
      <tr><td class="bidi-safe"><input type="checkbox" name="bounce" value="{{ bounce.pk }}" form="mailing-reports" aria-label="Select bounce {{ bounce.address }}"> {{ bounce.address|reveal_controls }}{% if bounce.original_address %} <small>(sent to {{ bounce.original_address|reveal_controls }})</small>{% endif %}</td><td>{{ bounce.status|default:"—" }}</td><td>{{ bounce.reason|reason_words }}</td><td>{{ bounce.is_hard|yesno:"hard,soft" }}</td>
        <td class="bidi-safe">{{ bounce.diagnostic|reveal_controls|truncatechars:120 }}</td></tr>
    {% empty %}<tr><td colspan="5" class="muted">None.</td></tr>{% endfor %}"""  # noqa: E501
    for rows, reference in ((complaints, instances), ([], [])):
        assert render(
            "{% mailing_complaint_rows complaints %}", complaints=rows
        ) == render(complaint_source, complaints=reference)
    for rows in (bounces, []):
        assert render("{% bounce_rows bounces %}", bounces=rows) == render(
            bounce_source, bounces=rows
        )


@pytest.mark.parametrize("text", ["", "short", HOSTILE, COMBINING, "e\u0301" * 90])
def test_cut_truncates_as_truncatechars(text):
    assert desk_rows._cut(text, 80) == render(
        "{{ text|truncatechars:80 }}", text=text
    ).replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">").replace(
        "&quot;", '"'
    ).replace("&#x27;", "'")


def test_pk_url_is_reverse():
    from django.urls import reverse

    url = desk_rows.pk_url("complaints:complaint_detail")
    assert [url(pk) for pk in (1, 42, 10**12)] == [
        reverse("complaints:complaint_detail", args=[pk]) for pk in (1, 42, 10**12)
    ]


@pytest.mark.parametrize("zone", ["UTC", "Pacific/Chatham", "America/St_Johns"])
def test_stamps_show_the_moment_as_the_date_filter_does(settings, zone):
    settings.TIME_ZONE = zone
    for moment in (
        timezone.now(),
        datetime(999, 1, 2, 3, 4, tzinfo=UTC) + timedelta(days=1),
        datetime(2026, 3, 29, 1, 30, tzinfo=UTC),
        datetime(2026, 3, 29, 1, 30, tzinfo=UTC).replace(tzinfo=None),
        None,
    ):
        assert desk_rows._stamp(moment) == render(
            '{{ moment|date:"Y-m-d H:i" }}', moment=moment
        )


def test_list_rows_cost_one_query_whatever_their_number(django_assert_num_queries):
    """The selectors read only what the rows show: no deferred column is
    fetched again row by row."""
    mailing = MailingFactory()
    for _ in range(3):
        ComplaintFactory(mailing=mailing, subscriber=SubscriberFactory())
    StrikeFactory(mailing=mailing)
    checks = [
        ("{% complaint_rows page '' %}", selectors.complaint_list()),
        ("{% mailing_rows page %}", selectors.mailing_list()),
        (
            "{% mailing_complaint_rows page %}",
            selectors.mailing_complaints_newest(mailing=mailing),
        ),
    ]
    actor = User.objects.create(username="staff<1>")
    for kind in (Action.Kind.NOTE, Action.Kind.STRIKE):
        Action.objects.create(
            subscriber=mailing.subscriber,
            kind=kind,
            actor=actor if kind == Action.Kind.NOTE else None,
            created_at=timezone.now(),
        )
    checks.append(("{% recent_action_rows page %}", selectors.actions_recent()))
    for source, queryset in checks:
        with django_assert_num_queries(1):
            render(source, page=queryset.all())


def test_top_mailing_items_match_the_template_items():
    source = """{% for mailing in top_mailings %}
        <li><a href="{{ mailing.get_absolute_url }}" class="bidi-safe">{{ mailing.subject|reveal_controls|default:"(no subject)"|truncatechars:60 }}</a>
          <span class="muted">{{ mailing.subscriber.account_number }} · {{ mailing.complaint_count }} complaint{{ mailing.complaint_count|pluralize }}</span></li>
      {% empty %}<li class="muted">None this week.</li>{% endfor %}"""  # noqa: E501
    MailingFactory(subject=HOSTILE, complaint_count=12345)
    MailingFactory(subject="", complaint_count=1)
    MailingFactory(
        subject=COMBINING,
        complaint_count=2,
        subscriber=SubscriberFactory(account_number='<A&"1>'),
    )
    mailings = list(selectors.mailings_top_this_week(now=timezone.now()))
    assert len(mailings) == 3
    for rows in (mailings, []):
        assert render(
            "{% top_mailing_items top_mailings %}", top_mailings=rows
        ) == render(source, top_mailings=rows)


def test_subscriber_items_match_the_template_items():
    source = """{% for subscriber in at_two_strikes %}
        <li><a href="{{ subscriber.get_absolute_url }}">{{ subscriber.account_number }}</a> <span class="bidi-safe">{{ subscriber.name|reveal_controls }}</span></li>
      {% empty %}<li class="muted">None.</li>{% endfor %}"""  # noqa: E501
    subscribers = [
        SubscriberFactory(name=HOSTILE),
        SubscriberFactory(name="", account_number='<A&"1>'),
    ]
    for rows in (subscribers, []):
        assert render(
            "{% subscriber_items at_two_strikes %}", at_two_strikes=rows
        ) == render(source, at_two_strikes=rows)


def test_unbound_field_matches_the_template_field_bound_or_not():
    from complaints.forms import BulkActionForm

    source = "{{ form.action.label_tag }} {{ form.action }}|{{ form.mailing.label_tag }} {{ form.mailing }}"  # noqa: E501
    tag = '{% unbound_field form "action" %}|{% unbound_field form "mailing" %}'
    for _twice in range(2):
        form = BulkActionForm()
        assert render(tag, form=form) == render(source, form=form)
    bound = BulkActionForm({"action": "dismiss", "mailing": "<7>"})
    assert render(tag, form=bound) == render(source, form=bound)
    assert 'value="&lt;7&gt;"' in render(tag, form=bound)
