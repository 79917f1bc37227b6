import hashlib

import factory
from django.utils import timezone

from complaints.models import Bounce, Complaint, InboundMessage, Mailing, Strike
from tests.accounts.factories import SubscriberFactory


class InboundMessageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = InboundMessage

    raw = factory.Sequence(lambda n: f"Subject: test {n}\r\n\r\nbody {n}\r\n".encode())
    sha256 = factory.LazyAttribute(lambda o: hashlib.sha256(o.raw).hexdigest())
    size = factory.LazyAttribute(lambda o: len(o.raw))
    channel = InboundMessage.Channel.PIPE
    received_at = factory.LazyFunction(timezone.now)


class MailingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Mailing

    subscriber = factory.SubFactory(SubscriberFactory)
    subject = factory.Sequence(lambda n: f"Great offer number {n}")
    normalized_subject = factory.LazyAttribute(lambda o: o.subject.lower())
    sender = "news@isp.example"
    first_seen = factory.LazyFunction(timezone.now)
    last_seen = factory.LazyAttribute(lambda o: o.first_seen)
    source = Mailing.Source.COMPLAINTS


class ComplaintFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Complaint

    reference = factory.Sequence(lambda n: f"T{n:08d}")
    channel = Complaint.Channel.EMAIL
    received_at = factory.LazyFunction(timezone.now)
    complainant_email = "victim@example.org"
    subject = "Great offer"


class BounceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Bounce

    inbound = factory.SubFactory(InboundMessageFactory)
    received_at = factory.LazyFunction(timezone.now)
    address = factory.Sequence(lambda n: f"nobody{n}@example.com")
    status = "5.1.1"
    reply_code = 550
    reason = "user_unknown"
    is_hard = True


class StrikeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Strike

    mailing = factory.SubFactory(MailingFactory)
    subscriber = factory.LazyAttribute(lambda o: o.mailing.subscriber)
    reason = Strike.Reason.COMPLAINTS
    issued_at = factory.LazyFunction(timezone.now)
