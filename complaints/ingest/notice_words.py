"""Wording of whole failure notices, for ``nonstandard``: who sends them,
their subjects, the sentences only a failure notice contains, and the words
that tell a delay warning from a final failure."""

import re

# Display names and local parts that mark an automatic delivery report.
BOUNCE_SENDER_RE = re.compile(
    r"mailer[-_ ]?daemon|postmaster|mail ?delivery|delivery ?(sub)?system"
    r"|mail ?administrator|system ?administrator|post ?office|mail ?system"
    r"|mailsystem|mail ?router|microsoftexchange|bounce|mdaemon|nobody@",
    re.I,
)
BOUNCE_SUBJECT_RE = re.compile(
    r"undeliver|undelivered|not (been )?delivered|non[- ]?deliver|delivery"
    r" (status|failure|failed|report|problem|notification|has failed|error)"
    r"|returned mail|failure notice|mail delivery|could not (be )?deliver"
    r"|delivery failed|mail (system )?error|returned to sender|non remis"
    r"|unzustellbar|nicht zustellbar|non recapitabile|onbestelbaar|no entregado"
    r"|non distribu|ikke levert|olevererbart|niet afgeleverd|échec de la remise"
    r"|failed delivery|mail failure|delayed mail|warning: could not|failed mail"
    r"|mail failed|user unknown|rejected|processing error|\bnon-?remis"
    r"|message status|delivery notification|permanent error|\bbounce",
)
# The patterns below are only ever asked whether they occur. Each branch
# opens with a literal character (a leading group spelled out, "(^|\s)5" as
# "5" with a look-behind, "#?5.x.x" found by its "5.x.x"): ``re`` then skips
# to the characters the branches open with instead of trying every branch at
# every position of the notice.
# Sentences that only a delivery failure notice contains.
FAILURE_TEXT_RE = re.compile(
    r"this is the qmail-send program|created automatically by mail delivery"
    r"|could not be delivered|couldn'?t be delivered|was not delivered"
    r"|wasn'?t delivered|did not reach|delivery (to the following|has failed"
    r"|failed|to these)|permanent fatal errors|permanent error|unable to deliver"
    r"|undeliverable|not be delivered|could not deliver|delivery failure"
    r"|failed to deliver|following (recipients?|address(es)?|destinations?)"
    r"|message you sent .{0,40}(rejected|failed|could not)|returned to sender"
    r"|i'?m afraid i wasn'?t able to deliver|delivery status notification"
    r"|ne peut pas|konnte nicht|non (è|e') stato|no se pudo|message not delivered"
    r"|rejected your message|was (automatically )?rejected|been (automatically )?rejected"
    r"|recipient.{0,40}(rejected|failed)|mailbox unavailable"
    r"|has not (yet )?been delivered|delivery attempts|will keep trying"
    r"|delivery (is|was) delayed|still trying|delayed|delivery problems",
)
_WARNING_RE = re.compile(
    r"warning|delayed|delay\b|not yet been delivered|will (keep|continue)"
    r" (trying|to try)|still trying|will (be )?retr|retrying|this is not a fatal"
    r"|no action is required|has not yet been delivered|temporary",
)
# Phrases that settle it: the notice is only a warning, delivery goes on.
_SURE_WARNING_RE = re.compile(
    r"attempts will continue|delivery will continue|will (keep|continue) (trying|to try"
    r"|to attempt)|this is (just |only )?a warning|not yet been delivered"
    r"|no action is required|will (be )?retried|still being retried"
    r"|delivery (is|has been) delayed|will try again",
)
_GAVE_UP_RE = re.compile(r"permanent|gave up|giving up|failed permanently")
_FATAL_RE = re.compile(
    r"permanent|fatal|gave up|giving up|failed permanently|could not be delivered"
    r"|was not delivered|undeliverable|did not reach|delivery has failed"
    r"|5(?<!\S5)\d\d[\s-]|5\.\d{1,3}\.\d{1,3}",
)
