"""What the policy service answers for one message: the outbound rules as a pure
function (no I/O, no settings, no clock).

In order, the first that applies decides:

1. A suspended or terminated account is refused, saying why and whom to call; a
   restricted one (it must reset its password) is refused, saying so.
2. A message from webmail with more recipients than the cap is refused with
   5.5.3, telling the sender to break the list into groups.
3. A login used from more distinct client networks within the hour than the limit
   flags the account as likely compromised; its mail is held when holding
   suspect logins is on.
4. More messages, or more recipients, from one account within the burst window
   than the limits: the message is held for staff to review.
5. Otherwise the message passes, with the trace header prepended.
"""

from dataclasses import dataclass
from enum import StrEnum
from typing import NamedTuple


class Action(StrEnum):
    DUNNO = "dunno"
    REJECT = "reject"
    HOLD = "hold"


class Rule(StrEnum):
    PASS = "pass"  # noqa: S105 - a rule name, not a password
    STATUS = "status"
    WEBMAIL_CAP = "webmail_cap"
    BURST = "burst"
    SUSPECT_LOGIN = "suspect_login"


@dataclass(frozen=True)
class Limits:
    webmail_cap: int
    burst_messages: int
    burst_recipients: int
    burst_minutes: int
    login_networks: int
    hold_suspect_logins: bool
    contact: str


class Facts(NamedTuple):
    # Immutable as a frozen dataclass, and a third of its cost to build: the
    # policy server builds one per message.
    status: str | None  # the subscriber's status; None when the sender is unknown
    is_webmail: bool
    recipient_count: int
    window_messages: int  # in the burst window, this message included
    window_recipients: int
    login_networks: int  # distinct networks of the login in the last hour


@dataclass(frozen=True)
class Decision:
    action: Action
    rule: Rule
    text: str = ""
    is_suspect: bool = False

    @property
    def postfix_action(self) -> str:
        """The reply for Postfix, without the trace header a pass gets."""
        word = self.action.value.upper()
        return f"{word} {self.text}" if self.text else word


STATUS_REFUSALS = {
    "suspended": "5.7.1 Sending from this account is suspended because of "
    "complaints about its mail. To have it restored, contact {contact}.",
    "terminated": "5.7.1 This account is closed and can no longer send mail. "
    "For questions, contact {contact}.",
    "restricted": "5.7.1 This account must reset its password before it can "
    "send mail again: it may have been used by someone else. Reset it, or "
    "contact {contact}.",
}


# Most messages pass: their decisions are made once (Decision is frozen).
PASS = Decision(Action.DUNNO, Rule.PASS)
PASS_SUSPECT = Decision(Action.DUNNO, Rule.PASS, is_suspect=True)


# Most messages pass: their decisions are made once (Decision is frozen).
PASS = Decision(Action.DUNNO, Rule.PASS)
PASS_SUSPECT = Decision(Action.DUNNO, Rule.PASS, is_suspect=True)


def decide(facts: Facts, limits: Limits) -> Decision:
    refusal = STATUS_REFUSALS.get(facts.status or "")
    if refusal:
        return Decision(
            Action.REJECT, Rule.STATUS, refusal.format(contact=limits.contact)
        )
    if facts.is_webmail and facts.recipient_count > limits.webmail_cap:
        return Decision(
            Action.REJECT,
            Rule.WEBMAIL_CAP,
            f"5.5.3 Too many recipients: webmail sends one message to at most "
            f"{limits.webmail_cap}. Break the list into groups of "
            f"{limits.webmail_cap} or less and send each group separately.",
        )
    is_suspect = facts.login_networks > limits.login_networks
    if is_suspect and limits.hold_suspect_logins:
        return Decision(
            Action.HOLD,
            Rule.SUSPECT_LOGIN,
            f"held for review: login used from {facts.login_networks} networks "
            "within an hour",
            is_suspect=True,
        )
    if (
        facts.window_messages > limits.burst_messages
        or facts.window_recipients > limits.burst_recipients
    ):
        return Decision(
            Action.HOLD,
            Rule.BURST,
            f"held for review: {facts.window_messages} messages to "
            f"{facts.window_recipients} recipients within {limits.burst_minutes} "
            "minutes",
            is_suspect=is_suspect,
        )
    return PASS_SUSPECT if is_suspect else PASS
