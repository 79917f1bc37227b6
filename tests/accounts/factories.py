import factory
from django.utils import timezone

from accounts.models import Action, IPAssignment, MailAccount, Subscriber


class SubscriberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Subscriber

    account_number = factory.Sequence(lambda n: f"A{n:07d}")
    name = factory.Faker("name")
    contact_email = factory.LazyAttribute(
        lambda o: f"{o.account_number.lower()}@example.net"
    )


class MailAccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MailAccount

    subscriber = factory.SubFactory(SubscriberFactory)
    login = factory.Sequence(lambda n: f"user{n}")
    address = factory.LazyAttribute(lambda o: f"{o.login}@isp.example")


class IPAssignmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = IPAssignment

    subscriber = factory.SubFactory(SubscriberFactory)
    network = factory.Sequence(lambda n: f"198.51.100.{n % 250 + 1}")
    valid_from = factory.LazyFunction(
        lambda: timezone.now() - timezone.timedelta(days=30)
    )


class ActionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Action

    subscriber = factory.SubFactory(SubscriberFactory)
    kind = Action.Kind.NOTE
    reason = "A note."
    created_at = factory.LazyFunction(timezone.now)


class UserFactory(factory.django.DjangoModelFactory):
    """A staff login with no group: enough to be the actor of a service."""

    class Meta:
        model = "auth.User"
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"staff{n}")
