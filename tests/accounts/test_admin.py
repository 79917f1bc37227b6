"""The accounts admin: status and the timeline belong to the services."""

import pytest
from django.contrib.auth.models import User

from accounts.models import Action
from tests.accounts.factories import ActionFactory, SubscriberFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    client.force_login(User.objects.create_superuser("root", "root@example.org", "pw"))
    return client


def test_subscriber_status_is_read_only_in_the_admin(admin_client):
    subscriber = SubscriberFactory(status="active")
    url = f"/admin/accounts/subscriber/{subscriber.pk}/change/"
    form = admin_client.get(url).context["adminform"].form
    assert "status" not in form.fields
    assert "name" in form.fields


def test_actions_cannot_be_added_or_edited_in_the_admin(admin_client):
    action = ActionFactory(kind=Action.Kind.NOTE, reason="called")
    assert admin_client.get("/admin/accounts/action/add/").status_code == 403
    page = admin_client.get(f"/admin/accounts/action/{action.pk}/change/")
    assert not page.context["has_change_permission"]
    admin_client.post(
        f"/admin/accounts/action/{action.pk}/change/", {"reason": "edited"}
    )
    action.refresh_from_db()
    assert action.reason == "called"
