"""What happens to complaints: inbound mail, mailings, complaints, bounces, strikes."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Substr
from django.urls import reverse

from accounts.models import Subscriber


class InboundMessage(models.Model):
    """The raw bytes of every message received on any channel.

    Stored before anything else happens and never deleted by processing; the
    unique SHA-256 makes a redelivery find the row it already has.
    """

    class Channel(models.TextChoices):
        PIPE = "pipe", "MTA pipe"
        FILE = "file", "File import"
        IMAP = "imap", "IMAP"
        HTTP = "http", "HTTP"
        WEB_FORM = "web_form", "Web form"
        LMTP = "lmtp", "LMTP"

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        PROCESSED = "processed", "Processed"
        IGNORED = "ignored", "Ignored"
        FAILED = "failed", "Failed"
        # Staff looked at a failed message and decided it is nothing to record;
        # the row and its bytes stay, with who decided and why.
        DISCARDED = "discarded", "Discarded"

    raw = models.BinaryField()
    sha256 = models.CharField(max_length=64, unique=True)
    size = models.PositiveIntegerField()
    channel = models.CharField(max_length=16, choices=Channel.choices)
    message_id = models.CharField(max_length=998, blank=True)
    received_at = models.DateTimeField(db_index=True)
    state = models.CharField(
        max_length=16, choices=State.choices, default=State.PENDING
    )
    kind = models.CharField(
        max_length=16, blank=True, help_text="What the parser made of it."
    )
    error = models.TextField(blank=True)
    # The notice was longer than the parser reads (parse.MAX_PART_CHARS): the
    # failed recipients past that point were not recorded.
    is_cut = models.BooleanField(default=False)
    processed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    # Claims by a drainer that never finished (its worker died mid-batch); back
    # to 0 once the message is processed. See complaints/services/claims.py.
    claims = models.PositiveSmallIntegerField(default=0, db_default=0)
    discarded_at = models.DateTimeField(null=True, blank=True)
    discarded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    discard_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-received_at", "-pk"]
        indexes = [
            models.Index(fields=["state", "received_at"], name="inbound_state_idx"),
            # The workers' claim (oldest pending first) and the sweep read only
            # pending rows: a partial index keeps both off the processed history.
            models.Index(
                fields=["id"],
                condition=Q(state="pending"),
                name="inbound_pending_idx",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(state="discarded") | ~Q(discard_reason=""),
                name="inbound_discard_has_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.channel} {self.state} {self.sha256[:12]}"


class InboundClaim(models.Model):
    """A batch of pending messages a drainer took, committed before it is
    processed and deleted by the batch's own commit (services/claims.py)."""

    inbound_ids = models.JSONField()
    claimed_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["claimed_at"], name="inboundclaim_at_idx")]

    def __str__(self) -> str:
        return f"claim of {len(self.inbound_ids)} at {self.claimed_at:%H:%M:%S}"


class Mailing(models.Model):
    """One bulk-mailing incident of one subscriber: the unit strikes are counted in."""

    class Source(models.TextChoices):
        HOLD = "hold", "Outbound hold"
        COMPLAINTS = "complaints", "Complaints"
        BOUNCES = "bounces", "Bounces"
        MANUAL = "manual", "Manual"

    class Kind(models.TextChoices):
        CAMPAIGN = "campaign", "Campaign"
        OUTBREAK = "outbreak", "Outbreak"

    class RecipientSource(models.TextChoices):
        REPORTS = "reports", "Reports (a lower bound)"
        OUTBOUND = "outbound", "Outbound records"

    class State(models.TextChoices):
        OPEN = "open", "Open"
        HELD = "held", "Held for review"
        RELEASED = "released", "Released"
        REJECTED = "rejected", "Rejected"
        STRUCK = "struck", "Struck"
        COMPROMISED = "compromised", "Compromised account"
        DISMISSED = "dismissed", "Dismissed"

    subscriber = models.ForeignKey(
        Subscriber, on_delete=models.PROTECT, related_name="mailings"
    )
    sender = models.CharField(max_length=254, blank=True)
    subject = models.CharField(max_length=998, blank=True)
    normalized_subject = models.CharField(max_length=255, blank=True)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.CAMPAIGN)
    # The normalised subject variants seen (capped), what later reports are
    # compared with; see complaints/linking/subjects.py.
    subject_variants = models.JSONField(default=list, blank=True)
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField()
    recipient_count = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Recipients from outbound records; unknown (empty) until they exist.",
    )
    recipient_source = models.CharField(
        max_length=16, choices=RecipientSource.choices, default=RecipientSource.REPORTS
    )
    is_likely_compromised = models.BooleanField(default=False)
    compromise_reason = models.CharField(max_length=255, blank=True)
    # Signals gathered from the mailing's reports (senders, client networks,
    # direct-to-MX count...), capped; the input of the compromise suspicion.
    signals = models.JSONField(default=dict, blank=True)
    held_recipients = models.JSONField(default=list, blank=True)
    # The queue ids the outbound side saw when it held the batch: the only ids a
    # release or reject may hand to the MTA's queue command. Ids learnt from
    # reports (MailingKey) are evidence, never arguments.
    held_queue_ids = models.JSONField(default=list, blank=True)
    source = models.CharField(max_length=16, choices=Source.choices)
    state = models.CharField(max_length=16, choices=State.choices, default=State.OPEN)
    complaint_count = models.PositiveIntegerField(default=0)
    hard_bounce_count = models.PositiveIntegerField(default=0)
    soft_bounce_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-last_seen", "-pk"]
        indexes = [
            models.Index(
                fields=["subscriber", "state"], name="mailing_subscriber_state_idx"
            ),
            models.Index(
                fields=["subscriber", "normalized_subject", "last_seen"],
                name="mailing_subject_window_idx",
            ),
            models.Index(fields=["state", "-last_seen"], name="mailing_state_idx"),
            # Grouping: a subscriber's mailings active around a report's time.
            models.Index(
                fields=["subscriber", "last_seen"], name="mailing_subscriber_seen_idx"
            ),
            # The mailings list sorts on each of these.
            models.Index(fields=["-last_seen"], name="mailing_last_seen_idx"),
            models.Index(fields=["-first_seen"], name="mailing_first_seen_idx"),
            # The counts tie (most mailings have none), so the id that breaks
            # the tie is in the index: the last page is then a walk of it, not
            # a sort of every mailing with no complaints.
            models.Index(
                fields=["-complaint_count", "-id"], name="mailing_complaints_id_idx"
            ),
            models.Index(
                fields=["-hard_bounce_count", "-id"], name="mailing_hard_bounces_id_idx"
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(last_seen__gte=models.F("first_seen")),
                name="mailing_seen_order",
            ),
        ]

    def __str__(self) -> str:
        return f"Mailing #{self.pk} of {self.subscriber_id}: {self.subject[:60]}"

    def get_absolute_url(self) -> str:
        return reverse("complaints:mailing_detail", args=[self.pk])


class MailingKey(models.Model):
    """A Message-ID or queue id seen for a mailing: how later reports find it."""

    class Kind(models.TextChoices):
        MESSAGE_ID = "message_id", "Message-ID"
        QUEUE_ID = "queue_id", "Queue id"
        TRACE = "trace", "Trace token"

    mailing = models.ForeignKey(Mailing, on_delete=models.CASCADE, related_name="keys")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    value = models.CharField(max_length=255)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["kind", "value"], name="mailingkey_unique"),
        ]
        indexes = [
            # Lookups by value alone (value IN (...)) across kinds.
            models.Index(fields=["value"], name="mailingkey_value_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.value}"


class Complaint(models.Model):
    """One report about one message. The complainant is private to abuse staff."""

    class Channel(models.TextChoices):
        FEEDBACK_LOOP = "feedback_loop", "Feedback loop"
        EMAIL = "email", "Email"
        WEB_FORM = "web_form", "Web form"
        MANUAL = "manual", "Manual entry"

    class State(models.TextChoices):
        NEW = "new", "New"
        LINKED = "linked", "Linked"
        DISMISSED = "dismissed", "Dismissed"
        DUPLICATE = "duplicate", "Duplicate"

    reference = models.CharField(max_length=16, unique=True)
    # No index of its own: complaint_one_per_inbound serves the lookups by
    # message, and one index less is written for every complaint recorded.
    inbound = models.ForeignKey(
        InboundMessage,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="complaints",
        db_index=False,
    )
    channel = models.CharField(max_length=16, choices=Channel.choices)
    received_at = models.DateTimeField()
    complainant_email = models.EmailField(max_length=254, blank=True)
    complainant_name = models.CharField(max_length=200, blank=True)
    complainant_text = models.TextField(blank=True)
    feedback_type = models.CharField(max_length=32, blank=True)
    user_agent = models.CharField(max_length=255, blank=True)
    message_id = models.CharField(max_length=998, blank=True)
    mail_from = models.CharField(max_length=998, blank=True)
    header_from = models.CharField(max_length=998, blank=True)
    subject = models.CharField(max_length=998, blank=True)
    date_header = models.CharField(max_length=255, blank=True)
    source_ip = models.GenericIPAddressField(null=True, blank=True)
    original_recipient = models.CharField(max_length=998, blank=True)
    arrival_date = models.DateTimeField(null=True, blank=True)
    login = models.CharField(max_length=254, blank=True)
    subscriber = models.ForeignKey(
        Subscriber,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="complaints",
    )
    # Served by complaint_mailing_recent_idx (mailing, received_at).
    mailing = models.ForeignKey(
        Mailing,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="complaints",
        db_index=False,
    )
    state = models.CharField(max_length=16, choices=State.choices, default=State.NEW)
    link_note = models.CharField(
        max_length=255, blank=True, help_text="How it was linked, or why not."
    )
    attribution = models.JSONField(
        default=dict,
        blank=True,
        help_text="The clue that decided the subscriber, the clues that disagreed, "
        "and a confidence.",
    )
    is_forged = models.BooleanField(default=False)
    forged_reason = models.CharField(max_length=255, blank=True)
    # SHA-256 of the report's own content (its feedback fields and the reported
    # message's headers): the same report sent again is a duplicate.
    report_fingerprint = models.CharField(max_length=64, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    is_without_evidence = models.BooleanField(
        default=False,
        help_text="Filed on the web form with a description only, no message.",
    )
    needs_acknowledgment = models.BooleanField(
        default=False,
        help_text="Decided when recorded: a person wrote it and gets an answer.",
    )

    class Meta:
        ordering = ["-received_at", "-pk"]
        indexes = [
            # Every queue sort index runs one way (key, received_at), so that a
            # keyset page's row comparison is a range on it (abusedesk/pagination.py);
            # "state = x, newest first" reads it backwards.
            models.Index(
                fields=["state", "received_at"], name="complaint_state_seen_idx"
            ),
            models.Index(fields=["-received_at"], name="complaint_received_idx"),
            # A person's repeat report (recording's duplicate rule): the pair
            # is looked up, so a bulk message's many copies are never scanned;
            # lookups by Message-ID alone use its first column.
            models.Index(
                fields=["message_id", "complainant_email"],
                name="complaint_message_from_idx",
            ),
            # A mailing's newest complaints (its page), even with tens of thousands.
            models.Index(
                fields=["mailing", "received_at"], name="complaint_mailing_recent_idx"
            ),
            # The dashboard's "unlinked reports" count and the triage view of them.
            models.Index(
                fields=["-received_at"],
                condition=Q(state="new", subscriber__isnull=True),
                name="complaint_unlinked_idx",
            ),
            # Sorting the queue: a prefix keeps index rows small for long subjects.
            models.Index(
                Substr("subject", 1, 100),
                F("received_at"),
                name="complaint_subject_seen_idx",
            ),
            models.Index(
                fields=["channel", "received_at"], name="complaint_channel_seen_idx"
            ),
            models.Index(
                fields=["report_fingerprint"],
                condition=~Q(report_fingerprint=""),
                name="complaint_fingerprint_idx",
            ),
            # The sweep's "acknowledgment still owed" scan.
            models.Index(
                fields=["received_at"],
                condition=Q(needs_acknowledgment=True, acknowledged_at__isnull=True),
                name="complaint_ack_owed_idx",
            ),
        ]
        constraints = [
            # One complaint per stored report: reprocessing a message cannot add another.
            models.UniqueConstraint(
                fields=["inbound"],
                condition=Q(inbound__isnull=False),
                name="complaint_one_per_inbound",
            ),
            models.CheckConstraint(
                condition=~Q(state="linked") | Q(mailing__isnull=False),
                name="complaint_linked_has_mailing",
            ),
        ]

    def __str__(self) -> str:
        return f"Complaint {self.reference}"

    def get_absolute_url(self) -> str:
        return reverse("complaints:complaint_detail", args=[self.pk])


class Bounce(models.Model):
    """One failed recipient of one message, as a delivery report described it."""

    # The lookups by message and by mailing use bounce_one_per_recipient
    # (inbound, address) and bounce_mailing_idx (mailing, is_hard): no index of
    # their own, written for every failed recipient.
    inbound = models.ForeignKey(
        InboundMessage, on_delete=models.PROTECT, related_name="bounces", db_index=False
    )
    received_at = models.DateTimeField()
    address = models.CharField(
        max_length=254, help_text="where delivery was last tried (Final-Recipient)"
    )
    original_address = models.CharField(
        max_length=254,
        blank=True,
        help_text="the address the sender wrote (Original-Recipient), when it differs",
    )
    action = models.CharField(max_length=16, blank=True)
    status = models.CharField(
        max_length=16, blank=True, help_text="RFC 3463 status, e.g. 5.1.1"
    )
    reply_code = models.PositiveSmallIntegerField(null=True, blank=True)
    diagnostic = models.TextField(blank=True)
    reason = models.CharField(max_length=32, blank=True)
    is_hard = models.BooleanField(default=False)
    message_id = models.CharField(max_length=998, blank=True)
    is_forged = models.BooleanField(default=False)
    subscriber = models.ForeignKey(
        Subscriber,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="bounces",
    )
    mailing = models.ForeignKey(
        Mailing,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="bounces",
        db_index=False,
    )

    class Meta:
        ordering = ["-received_at", "-pk"]
        indexes = [
            models.Index(fields=["mailing", "is_hard"], name="bounce_mailing_idx"),
            models.Index(fields=["-received_at"], name="bounce_received_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["inbound", "address"], name="bounce_one_per_recipient"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.address} {self.status or '?'}{' hard' if self.is_hard else ''}"


class Strike(models.Model):
    """A strike against a subscriber for one mailing. At most one per mailing, ever;
    a revocation keeps the row."""

    class Reason(models.TextChoices):
        COMPLAINTS = "complaints", "Complaints"
        BOGUS_ADDRESSES = "bogus_addresses", "Bogus addresses"

    mailing = models.OneToOneField(
        Mailing, on_delete=models.PROTECT, related_name="strike"
    )
    subscriber = models.ForeignKey(
        Subscriber, on_delete=models.PROTECT, related_name="strikes"
    )
    reason = models.CharField(max_length=16, choices=Reason.choices)
    issued_at = models.DateTimeField()
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    revoke_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-issued_at"]
        indexes = [
            models.Index(
                fields=["subscriber", "revoked_at"], name="strike_subscriber_idx"
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(revoked_at__isnull=True) | ~Q(revoke_reason=""),
                name="strike_revocation_has_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"Strike on mailing #{self.mailing_id}{' (revoked)' if self.revoked_at else ''}"

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None


class IngestToken(models.Model):
    """A bearer token that lets a mail system POST raw messages to /ingest/.

    Only the SHA-256 of the token is stored; the token is shown once on creation.
    """

    name = models.CharField(max_length=100, unique=True)
    token_sha256 = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    is_active = models.BooleanField(default=True)

    def __str__(self) -> str:
        return self.name


class RateLimitCount(models.Model):
    """A public-page rate-limit window counted in the database: only used while
    Redis, where the limits normally live, cannot be reached."""

    key = models.CharField(max_length=200, unique=True)
    count = models.PositiveIntegerField(default=0)
    expires_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"{self.key}: {self.count}"


class DailyReportCount(models.Model):
    """Complaints and bounces received on one closed day (in ``time_zone``), kept
    so the dashboard's chart never counts a month of rows on a request.

    A day is counted once when it is first shown and counted again when its row
    is older than the refresh age (complaints/services/dashboard.py), which
    picks up a message of that day processed late. Today is never stored: it is
    counted live.
    """

    time_zone = models.CharField(max_length=64)
    day = models.DateField()
    complaints = models.PositiveIntegerField()
    bounces = models.PositiveIntegerField()
    counted_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["time_zone", "day"], name="dailyreportcount_unique_day"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.day} ({self.time_zone}): {self.complaints} complaints"
