"""Invariants of the subscriber tables, held by the database itself."""

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import (
    Action,
    IPAssignment,
    MailAccount,
    ip_to_key,
    network_to_keys,
)
from tests.accounts.factories import (
    IPAssignmentFactory,
    MailAccountFactory,
    SubscriberFactory,
)

pytestmark = pytest.mark.django_db


def test_duplicate_account_number_is_refused():
    SubscriberFactory(account_number="A1")
    with pytest.raises(IntegrityError), transaction.atomic():
        SubscriberFactory(account_number="A1")


def test_duplicate_login_is_refused():
    MailAccountFactory(login="bob")
    with pytest.raises(IntegrityError), transaction.atomic():
        MailAccountFactory(login="bob")


def test_uppercase_login_is_refused_by_the_database():
    subscriber = SubscriberFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        MailAccount.objects.create(
            subscriber=subscriber, login="Bob", address="bob@isp.example"
        )


def test_ip_window_must_end_after_it_starts():
    now = timezone.now()
    with pytest.raises(IntegrityError), transaction.atomic():
        IPAssignmentFactory(valid_from=now, valid_to=now - timezone.timedelta(hours=1))


def test_ip_assignment_stores_its_range_keys():
    assignment = IPAssignmentFactory(network="192.0.2.0/24")
    assert assignment.range_start == ip_to_key("192.0.2.0")
    assert assignment.range_end == ip_to_key("192.0.2.255")
    assert IPAssignment.objects.filter(
        range_start__lte=ip_to_key("192.0.2.77"), range_end__gte=ip_to_key("192.0.2.77")
    ).exists()


def test_ipv4_keys_sort_below_ipv6_and_by_value():
    assert ip_to_key("10.0.0.2") > ip_to_key("10.0.0.1")
    assert ip_to_key("9.255.255.255") < ip_to_key("10.0.0.0")
    assert network_to_keys("2001:db8::/32")[0] == ip_to_key("2001:db8::")


@pytest.mark.parametrize(
    ("template", "label"),
    [("suspension", "Suspension notice"), ("custom_notice", "custom_notice"), ("", "")],
)
def test_a_notice_is_named_by_its_template(template, label):
    assert Action(notice_template=template).notice_label == label
