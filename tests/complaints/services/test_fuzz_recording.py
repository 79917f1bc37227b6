"""Fuzzing the whole pipeline into PostgreSQL: mutated real samples, stored and
processed in batches, always end processed, ignored or failed as unreadable,
never pending, never an internal error or a refusal by the database."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from complaints import services
from complaints.models import InboundMessage
from tests.accounts.factories import MailAccountFactory
from tests.fuzzing import examples, mutated_samples

pytestmark = [pytest.mark.django_db, pytest.mark.fuzz]


@pytest.fixture
def subscribers(db):
    # Logins and addresses the samples use, so some reports link and record.
    for login in ("bob", "user", "news"):
        MailAccountFactory(login=login, address=f"{login}@isp.example")


@examples(60)
@given(batch=st.lists(mutated_samples(), min_size=1, max_size=4))
def test_mutated_batches_are_recorded_or_failed_never_stuck(subscribers, batch):
    ids = [
        services.inbound_store(raw=raw, channel="pipe", enqueue=False)[0].pk
        for raw in batch
        if raw.strip()
    ]
    services.inbound_process_many(inbound_ids=ids)
    rows = InboundMessage.objects.filter(pk__in=ids)
    assert not rows.filter(state=InboundMessage.State.PENDING).exists()
    for row in rows.filter(state=InboundMessage.State.FAILED):
        # Unreadable or too complex is the input's fault; anything else is ours.
        assert row.error.startswith("Unreadable message: "), row.error
