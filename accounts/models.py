"""The ISP's customers: subscribers, their mail logins, their IP addresses, and the
timeline of everything done to them."""

import ipaddress

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.urls import reverse


class Subscriber(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        RESTRICTED = "restricted", "Restricted (must reset password)"
        SUSPENDED = "suspended", "Suspended"
        TERMINATED = "terminated", "Terminated"

    account_number = models.CharField(max_length=32, unique=True)
    name = models.CharField(max_length=200)
    contact_email = models.EmailField(blank=True)
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.ACTIVE
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["account_number"]
        indexes = [
            models.Index(fields=["name"], name="subscriber_name_idx"),
            models.Index(fields=["status"], name="subscriber_status_idx"),
            models.Index(fields=["contact_email"], name="subscriber_contact_email_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.account_number} {self.name}"

    def get_absolute_url(self) -> str:
        return reverse("accounts:subscriber_detail", args=[self.pk])

    @property
    def may_send(self) -> bool:
        return self.status == self.Status.ACTIVE


class MailAccount(models.Model):
    """A login and address of a subscriber: how a sender maps to a subscriber."""

    subscriber = models.ForeignKey(
        Subscriber, on_delete=models.PROTECT, related_name="mail_accounts"
    )
    login = models.CharField(max_length=254, unique=True)
    address = models.EmailField(max_length=254, db_index=True)
    is_webmail = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["login"]
        constraints = [
            # Logins and addresses are stored lowercased so lookups are exact matches.
            models.CheckConstraint(
                condition=Q(login=models.functions.Lower("login")),
                name="mailaccount_login_lowercase",
            ),
            models.CheckConstraint(
                condition=Q(address=models.functions.Lower("address")),
                name="mailaccount_address_lowercase",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.login} <{self.address}>"


def is_ip_address(text: str | None) -> bool:
    """Whether ``text`` is a single IPv4 or IPv6 address."""
    try:
        ipaddress.ip_address((text or "").strip())
    except ValueError:
        return False
    return True


def ip_to_key(address: str) -> str:
    """A sortable fixed-width key for an IP address: 32 hex digits, IPv4 mapped into
    ::ffff:0:0/96. Range lookups then work the same on SQLite and PostgreSQL."""
    ip = ipaddress.ip_address(address.strip())
    if ip.version == 4:
        ip = ipaddress.IPv6Address(f"::ffff:{ip}")
    return f"{int(ip):032x}"


def network_to_keys(network: str) -> tuple[str, str]:
    net = ipaddress.ip_network(network.strip(), strict=False)
    return ip_to_key(str(net[0])), ip_to_key(str(net[-1]))


def network_to_block(network: str) -> str:
    """The network in canonical CIDR form (host bits cleared), IPv4-mapped IPv6
    networks written as IPv4, so that PostgreSQL's ``inet`` containment gives the
    answers the keys give (which map IPv4 into ::ffff:0:0/96 too)."""
    net = ipaddress.ip_network(network.strip(), strict=False)
    return str(_unmapped_network(net))


def address_for_block_lookup(address: str) -> str:
    """An address as the ``block`` column is compared with: IPv4-mapped IPv6
    addresses as IPv4 (see network_to_block)."""
    ip = ipaddress.ip_address(address.strip())
    if ip.version == 6 and ip.ipv4_mapped is not None:
        return str(ip.ipv4_mapped)
    return str(ip)


def _unmapped_network(net):
    mapped = ipaddress.ip_network("::ffff:0:0/96")
    if net.version == 6 and net.prefixlen >= 96 and net.subnet_of(mapped):
        start = net.network_address.ipv4_mapped
        return ipaddress.ip_network(f"{start}/{net.prefixlen - 96}")
    return net


class NetworkBlockField(models.CharField):
    """A CIDR network: PostgreSQL's ``cidr`` type there (so a GiST index answers
    "which networks hold this address"), text elsewhere."""

    def db_type(self, connection):
        # A backend with a native address type (PostgreSQL's inet) has cidr.
        if connection.data_types.get("GenericIPAddressField") == "inet":
            return "cidr"
        return super().db_type(connection)

    def from_db_value(self, value, expression, connection):
        # psycopg reads cidr as ipaddress objects; the model keeps text.
        return None if value is None else str(value)


class IPAssignment(models.Model):
    """An address or network assigned to a subscriber for a time window.

    ``range_start``/``range_end`` and ``block`` are derived from ``network`` so
    that "who had 192.0.2.7 at 14:02" is one indexed query: on PostgreSQL a GiST
    index over ``block`` and the validity range, elsewhere the keys (see
    accounts.selectors).
    """

    subscriber = models.ForeignKey(
        Subscriber, on_delete=models.PROTECT, related_name="ip_assignments"
    )
    network = models.CharField(max_length=64, help_text="An address or CIDR network.")
    range_start = models.CharField(max_length=32, editable=False)
    range_end = models.CharField(max_length=32, editable=False)
    # The same network as ``cidr`` on PostgreSQL, for the GiST lookup by address
    # (migration 0008); derived like the keys, never typed in.
    block = NetworkBlockField(max_length=43, editable=False, null=True)
    valid_from = models.DateTimeField()
    valid_to = models.DateTimeField(
        null=True, blank=True, help_text="Empty: still assigned."
    )

    class Meta:
        ordering = ["-valid_from"]
        indexes = [
            models.Index(
                fields=["range_start", "range_end"], name="ipassignment_range_idx"
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(range_start__lte=F("range_end")),
                name="ipassignment_range_order",
            ),
            models.CheckConstraint(
                condition=Q(valid_to__isnull=True) | Q(valid_to__gt=F("valid_from")),
                name="ipassignment_window_order",
            ),
            models.UniqueConstraint(
                fields=["subscriber", "network", "valid_from"],
                name="ipassignment_unique_window",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.network} → {self.subscriber_id} from {self.valid_from:%Y-%m-%d}"

    def save(self, *args, **kwargs):
        # Derived columns, not a rule: they must always mirror ``network``.
        self.range_start, self.range_end = network_to_keys(self.network)
        self.block = network_to_block(self.network)
        super().save(*args, **kwargs)


# What the customer was told, by notice template (templates/accounts/email/).
NOTICE_LABELS = {
    "warning": "Warning",
    "final_warning": "Final warning",
    "suspension": "Suspension notice",
    "termination": "Termination notice",
    "reinstatement": "Reinstatement notice",
    "compromise_advice": "Security advice",
}


class Action(models.Model):
    """The subscriber's timeline: every warning, suspension, strike, note and notice.

    Nothing about a subscriber changes without one. ``actor`` empty means the
    system did it. ``notified_at`` is set once the notice for this action has been
    sent, which is what keeps a replay from mailing the customer twice.
    """

    class Kind(models.TextChoices):
        WARNING = "warning", "Warning"
        FINAL_WARNING = "final_warning", "Final warning"
        SUSPENSION = "suspension", "Suspension"
        TERMINATION = "termination", "Termination"
        REINSTATEMENT = "reinstatement", "Reinstatement"
        RESTRICTION = "restriction", "Restriction (compromised)"
        PASSWORD_RESET = "password_reset", "Password reset"
        STRIKE = "strike", "Strike issued"
        STRIKE_REVOKED = "strike_revoked", "Strike revoked"
        HOLD_RELEASED = "hold_released", "Held batch released"
        HOLD_REJECTED = "hold_rejected", "Held batch rejected"
        MAILING_DISMISSED = "mailing_dismissed", "Mailing dismissed"
        MAILING_MERGED = "mailing_merged", "Mailings merged"
        MAILING_SPLIT = "mailing_split", "Mailing split"
        REPORTS_MOVED = "reports_moved", "Reports moved"
        STATUS_IMPORTED = "status_imported", "Status changed by import"
        NOTE = "note", "Note"

    subscriber = models.ForeignKey(
        Subscriber, on_delete=models.PROTECT, related_name="actions"
    )
    # String references keep the import direction one way (complaints -> accounts).
    mailing = models.ForeignKey(
        "complaints.Mailing",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    strike = models.ForeignKey(
        "complaints.Strike",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    kind = models.CharField(max_length=24, choices=Kind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    reason = models.TextField(blank=True)
    created_at = models.DateTimeField(db_index=True)
    notice_template = models.CharField(max_length=64, blank=True)
    notified_at = models.DateTimeField(null=True, blank=True)
    notice_text = models.TextField(
        blank=True, help_text="The notice as it was sent: subject line, then body."
    )

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(
                fields=["subscriber", "-created_at"], name="action_timeline_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} for {self.subscriber_id} at {self.created_at:%Y-%m-%d %H:%M}"

    @property
    def actor_label(self) -> str:
        return self.actor.get_username() if self.actor_id else "system"

    @property
    def notice_label(self) -> str:
        """The notice's name, or its template's name when it has none."""
        return NOTICE_LABELS.get(self.notice_template, self.notice_template)


class MailTemplate(models.Model):
    """Staff's own wording of one mail the desk sends, in place of the shipped
    template file of the same name (templates/<name>.txt and _subject.txt).
    Deleting the row brings the shipped wording back."""

    name = models.CharField(max_length=64, unique=True)
    subject = models.CharField(max_length=255)
    body = models.TextField()
    updated_at = models.DateTimeField()
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )

    def __str__(self) -> str:
        return self.name
