"""Keyset pages: walking next from the first page visits every row once, in the
queue's order, for every sort (a nullable first key included); walking
previous from the last page visits them all in order too (the last page and
the first are always full, so the first may repeat rows of the second); a
cursor that is not one of ours gives the first page."""

from datetime import timedelta
from unittest.mock import patch

import pytest
from django.http import QueryDict
from django.utils import timezone

from abusedesk import counting
from abusedesk.pagination import KeysetPaginator, capped_count, capped_counts
from complaints import selectors
from complaints.models import Complaint
from complaints.selectors import QUEUE_SORT_KEYS, complaint_sort_keys
from tests.accounts.factories import SubscriberFactory
from tests.complaints.factories import ComplaintFactory

pytestmark = pytest.mark.django_db

PER_PAGE = 4


@pytest.fixture
def queue():
    """Eleven complaints with ties on every sort key (same second, same
    subject, same state), some without a subscriber."""
    now = timezone.now().replace(microsecond=0)
    owners = [SubscriberFactory(), SubscriberFactory(), None]
    return [
        ComplaintFactory(
            received_at=now - timedelta(minutes=n // 3),
            subject=["Offer", "Invoice", "Offer"][n % 3],
            state=["new", "linked", "new", "dismissed"][n % 4] if n % 4 != 1 else "new",
            channel=["email", "web_form"][n % 2],
            subscriber=owners[n % 3],
        )
        for n in range(11)
    ]


def _paginator(order: str) -> KeysetPaginator:
    keys, nullable = complaint_sort_keys(order)
    return KeysetPaginator(
        selectors.complaint_list(),
        keys=keys,
        per_page=PER_PAGE,
        nullable_first_key=nullable,
    )


def _expected(order: str) -> list[int]:
    """The order the queue promises, computed in Python (nulls after every
    value ascending, before them descending)."""
    keys, _nullable = complaint_sort_keys(order)
    rows = list(selectors.complaint_list())
    for key in reversed(keys):
        name = key.lstrip("-")
        descending = key.startswith("-")

        def value(row, name=name):
            found = getattr(row, name)
            # A null sorts as the largest value (PostgreSQL's default).
            return (found is None, found if found is not None else 0)

        rows.sort(key=value, reverse=descending)
    return [row.pk for row in rows]


def _walk(paginator: KeysetPaginator, start: str, link: str) -> list[list[int]]:
    pages = []
    query = QueryDict(start)
    for _ in range(20):
        page = paginator.get_page(query)
        pages.append([row.pk for row in page])
        more = page.has_next if link == "next_link" else page.has_previous
        if not more:
            return pages
        query = QueryDict(getattr(page, link)[1:])
    raise AssertionError("the walk did not end")


ORDERS = ["", *QUEUE_SORT_KEYS, *(f"-{name}" for name in QUEUE_SORT_KEYS)]


@pytest.mark.parametrize("order", ORDERS)
def test_next_from_the_first_page_visits_every_complaint_once_in_order(queue, order):
    pages = _walk(_paginator(order), f"order={order}", "next_link")

    assert [pk for page in pages for pk in page] == _expected(order)
    assert all(len(page) == PER_PAGE for page in pages[:-1])


@pytest.mark.parametrize("order", ORDERS)
def test_previous_from_the_last_page_visits_every_complaint_once_in_order(queue, order):
    pages = _walk(_paginator(order), f"order={order}&last=1", "previous_link")
    seen = [pk for page in reversed(pages) for pk in page]

    assert list(dict.fromkeys(seen)) == _expected(order)
    assert all(len(page) == PER_PAGE for page in pages)
    assert pages[-1] == _expected(order)[:PER_PAGE]


def test_previous_from_the_second_page_is_the_whole_first_page(queue):
    paginator = _paginator("subject")
    first = paginator.get_page(QueryDict("order=subject"))
    second = paginator.get_page(QueryDict(first.next_link[1:]))
    back = paginator.get_page(QueryDict(second.previous_link[1:]))

    assert [row.pk for row in back] == [row.pk for row in first]
    assert not back.has_previous
    assert second.has_previous


def test_the_last_page_has_no_next_and_the_first_no_previous(queue):
    paginator = _paginator("")
    first = paginator.get_page(QueryDict(""))
    last = paginator.get_page(QueryDict("last=1"))

    assert (first.has_previous, first.has_next) == (False, True)
    assert (last.has_previous, last.has_next) == (True, False)
    assert [row.pk for row in last] == _expected("")[-PER_PAGE:]


@pytest.mark.parametrize("cursor", ["garbage", "W10", "eyJ0IjogMX0", "WzEsMiwzLDRd"])
def test_a_cursor_that_is_not_ours_gives_the_first_page(queue, cursor):
    paginator = _paginator("")
    page = paginator.get_page(QueryDict(f"after={cursor}"))

    assert [row.pk for row in page] == _expected("")[:PER_PAGE]


def test_links_keep_the_filters_and_drop_old_cursors(queue):
    paginator = _paginator("state")
    page = paginator.get_page(QueryDict("order=state&state=new&page=3&before=x"))
    link = QueryDict(page.next_link[1:])

    assert (link["order"], link["state"]) == ("state", "new")
    assert "page" not in link and "before" not in link and "after" in link


def test_keys_running_both_ways_are_refused():
    with pytest.raises(ValueError, match="same way"):
        KeysetPaginator(
            selectors.complaint_list(), keys=["received_at", "-pk"], per_page=5
        )


def test_a_count_past_the_cap_is_kept_a_while(settings):
    settings.ABUSE_CAPPED_COUNT_SECONDS = 60
    ComplaintFactory.create_batch(3)
    queryset = Complaint.objects.all()
    assert capped_count(queryset, cap=2) == 3

    Complaint.objects.all().delete()

    # Still "more than 2": counted again only once the kept figure expires.
    assert capped_count(queryset, cap=2) == 3
    settings.ABUSE_CAPPED_COUNT_SECONDS = 0
    assert capped_count(queryset, cap=2) == 0


def test_a_count_under_the_cap_is_always_counted_live(settings):
    settings.ABUSE_CAPPED_COUNT_SECONDS = 60
    ComplaintFactory()
    queryset = Complaint.objects.all()
    assert capped_count(queryset, cap=2) == 1

    ComplaintFactory()

    assert capped_count(queryset, cap=2) == 2


def test_each_query_keeps_its_own_count(settings):
    settings.ABUSE_CAPPED_COUNT_SECONDS = 60
    ComplaintFactory.create_batch(3, state=Complaint.State.NEW)
    assert capped_count(Complaint.objects.all(), cap=2) == 3

    assert (
        capped_count(Complaint.objects.exclude(state=Complaint.State.NEW), cap=2) == 0
    )


def test_counts_not_kept_are_counted_in_one_statement(
    settings, django_assert_num_queries
):
    settings.ABUSE_CAPPED_COUNT_SECONDS = 60
    ComplaintFactory.create_batch(3, state=Complaint.State.NEW)
    ComplaintFactory(state=Complaint.State.DUPLICATE)
    querysets = {
        "all": Complaint.objects.all(),
        "new": Complaint.objects.filter(state=Complaint.State.NEW),
        "duplicate": Complaint.objects.filter(state=Complaint.State.DUPLICATE),
    }
    with django_assert_num_queries(1):
        counts = capped_counts(querysets, cap=3)
    assert counts == {"all": 4, "new": 3, "duplicate": 1}
    # Past the cap, "all" is kept; the two under it are counted again, live.
    ComplaintFactory(state=Complaint.State.DUPLICATE)
    with django_assert_num_queries(1):
        counts = capped_counts(querysets, cap=3)
    assert counts == {"all": 4, "new": 3, "duplicate": 2}


def test_a_count_another_process_is_making_is_waited_for_and_read(settings):
    settings.ABUSE_CAPPED_COUNT_SECONDS = 60
    ComplaintFactory.create_batch(3)
    queryset = Complaint.objects.all()

    def another_process_counts(lock, **kwargs):
        # It holds the lock and keeps its count (3, past the cap) while this one
        # waits; then rows go.
        with patch.object(counting, "lead_or_wait", return_value=True):
            assert capped_count(queryset, cap=2) == 3
        Complaint.objects.all().delete()
        return False

    with patch.object(
        counting, "lead_or_wait", side_effect=another_process_counts
    ) as waited:
        # Read from what the other kept, not counted (0) beside it.
        assert capped_count(queryset, cap=2) == 3
    assert waited.call_count == 1
    assert not Complaint.objects.exists()
