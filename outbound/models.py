"""What the outbound policy service saw: one Submission per decision, and the
logins it flagged as likely compromised."""

from django.db import models
from django.db.models import Q

from accounts.models import Subscriber


class Submission(models.Model):
    """One message a relay asked about, and what it was told.

    Queue ids are short and repeat across relays and over time, so a submission
    is identified by relay host + queue id + time, never by the queue id alone.
    """

    class Action(models.TextChoices):
        DUNNO = "dunno", "Passed"
        REJECT = "reject", "Rejected"
        HOLD = "hold", "Held"
        FAIL = "fail", "Answered without a decision (dependency down)"

    class Rule(models.TextChoices):
        PASS = "pass", "No rule matched"  # noqa: S105 - a rule name
        STATUS = "status", "Account suspended, terminated or restricted"
        WEBMAIL_CAP = "webmail_cap", "Webmail recipient cap"
        BURST = "burst", "Burst"
        SUSPECT_LOGIN = "suspect_login", "Login from too many networks"
        FAIL_OPEN = "fail_open", "Redis or PostgreSQL down"
        IMPORTED = "imported", "Imported from the mail log"

    class Source(models.TextChoices):
        POLICY = "policy", "Policy service"
        MAILLOG = "maillog", "Mail log import"

    relay_host = models.CharField(max_length=255)
    queue_id = models.CharField(max_length=32, blank=True)
    decided_at = models.DateTimeField()
    login = models.CharField(max_length=254, blank=True)
    subscriber = models.ForeignKey(
        Subscriber,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="submissions",
    )
    client_address = models.GenericIPAddressField(null=True, blank=True)
    sender = models.CharField(max_length=254, blank=True)
    recipient_count = models.PositiveIntegerField(default=0)
    size = models.PositiveBigIntegerField(null=True, blank=True)
    action = models.CharField(max_length=8, choices=Action.choices)
    rule = models.CharField(max_length=16, choices=Rule.choices)
    reason = models.CharField(max_length=255, blank=True)
    trace_token = models.CharField(max_length=255, blank=True)
    source = models.CharField(
        max_length=8, choices=Source.choices, default=Source.POLICY
    )
    mailing = models.ForeignKey(
        "complaints.Mailing",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="submissions",
    )
    # Filled from the queue file (the configured headers command) for held mail.
    subject = models.CharField(max_length=998, blank=True)
    recipients = models.JSONField(default=list, blank=True)
    headers_fetched_at = models.DateTimeField(null=True, blank=True)
    released_at = models.DateTimeField(null=True, blank=True)
    queue_outcome = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["-decided_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["relay_host", "queue_id", "decided_at"],
                name="submission_relay_queue_time",
            ),
        ]
        indexes = [
            models.Index(fields=["queue_id"], name="submission_queue_idx"),
            models.Index(
                fields=["trace_token"],
                condition=~Q(trace_token=""),
                name="submission_trace_idx",
            ),
            models.Index(fields=["decided_at"], name="submission_time_idx"),
            models.Index(
                fields=["subscriber", "-decided_at"], name="submission_subscriber_idx"
            ),
            models.Index(
                fields=["decided_at"],
                condition=Q(mailing__isnull=True),
                name="submission_unlinked_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.relay_host}/{self.queue_id or '-'} {self.action} at {self.decided_at:%Y-%m-%d %H:%M:%S}"


class LoginAlert(models.Model):
    """A login used from more client networks in an hour than a person would: the
    account is likely compromised. One open alert per login; staff close it."""

    login = models.CharField(max_length=254)
    subscriber = models.ForeignKey(
        Subscriber,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="login_alerts",
    )
    networks = models.PositiveIntegerField(default=0)
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-last_seen"]
        constraints = [
            models.UniqueConstraint(
                fields=["login"],
                condition=Q(closed_at__isnull=True),
                name="loginalert_one_open_per_login",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.login}: {self.networks} networks"
