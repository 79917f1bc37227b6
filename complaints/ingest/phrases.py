"""Phrase lists shared by several rules of ``reasons``.

Each is a tuple of regular expressions, lowercase, each opening at a word
start: what servers write when they refuse the sender, when an address does
not exist, when a filtering product speaks, and when "try again" is advice
to fix an address rather than a deferral.
"""

# Words that say a refusal is about the *sender* (RFC 3463 X.1.7, X.1.8).
SENDER_WORDS = (
    r"sender (address |domain )?(rejected|refused|denied|blocked|is (unknown|invalid)"
    r"|unknown|invalid|not found|does not exist|must (exist|resolve))",
    r"(sender|envelope|callout|return.path) verif",
    r"verification failed for",
    r"envelope sender",
    r"(your|the) (sender|from) (address|domain)",
    r"sender address has null mx",
    r"(helo|ehlo)( command| name| hostname)? (rejected|refused|invalid|not)",
    r"(invalid|bad|unknown) (helo|ehlo)",
    r"(helo|ehlo).{0,40}(rejected|refused|not a fqdn|invalid|forged)",
    r"reverse path",
    r"mail from (address )?(rejected|refused|not accepted)",
)
UNKNOWN_USER_WORDS = (
    r"user (name )?(is )?unknown",
    r"unknown (user|recipient|mail ?box|local.?part|address|alias|addressee|e-?mail)",
    r"no such (user|recipient|mail ?box|person|account|address|local user)",
    r"(user|recipient|mail ?box|address|account|addressee|e-?mail)( address)?( name)?"
    r" (does not|doesn't|did not|didn't|not) exists?",
    r"(user|recipient|mail ?box|account|address|alias) (was |is )?not (found|known"
    r"|valid|recogni[sz]ed|listed)",
    r"recipient (address )?(unknown|not found|invalid)",
    r"invalid (recipient|mail ?box|user|e-?mail|address|addressee|final delivery)",
    r"not a valid (user|recipient|mail ?box)",
    r"mail ?box (currently )?(unavailable|not available)",
    r"no mail ?box",
    r"bad destination mail ?box",
    r"addressee unknown",
    r"recipnotfound|recipientnotfound",
    r"(doesn'?t|does not) have an? [\w.-]+ account",
    r"not our customer",
    r"undeliverable address",
    r"no valid recipients",
    r"name is not recogni[sz]ed",
    r"in (virtual|local|relay) (alias|mailbox|recipient) table",
    r"address rejected: undeliverable",
    r"access denied\. as\(\d",
    r"5\.4\.1 .{0,80}address rejected: access denied",
    r"address unknown",
    r"not a known user",
    r"user not local",
    r"not listed in (the )?(domino )?(public )?directory",
    r"unknown or illegal",
    r"does not exist|doesn't exist|no such",
    r"no longer (valid|exists)",
    r"(address|account|recipient)( you entered| you specified| you sent to)?"
    r" (couldn't|could not|can't|cannot) be found",
    r"(wasn't|was not|isn't|is not) found at",
    r"(couldn't|could not|can't|cannot) find (the|this|that) (e-?mail )?(address|recipient)",
    r"check (if|that|whether) the (e-?mail )?address is (correct|spelled)",
    r"double.check(ing)? the recipient",
    r"(address|recipient) (is )?wrong|is wrong",
    r"final delivery userid",
    r"bad[_ -]?recipient",
    r"no (e-?mail )?account (by|with|of|under) (that|this) name",
    r"invalid (\S+ ){0,3}user ?name",
    r"not an? (active|valid|known) (e-?mail )?(address|user|recipient|mail ?box)",
    r"deleted (account|mail ?box|user)|(account|mail ?box|user) (has been |was )deleted",
)
FILTER_PRODUCTS = (
    r"mimecast|proofpoint|pphosted|barracuda|ironport|cisco (secure )?e?mail security",
    r"messagelabs|symantec|trend ?micro|sophos|fortimail|fortiguard|spamtitan",
    r"mailmarshal|mailscanner|spamassassin|hornet ?security|forcepoint|trustwave",
    r"appriver|mxlogic|postini|vipre|spamexperts|mailchannels|cloudmark|mailroute",
    r"(content|spam|mail|e-?mail) ?(filter|firewall|gateway|security|scann)",
    r"filter(ed|ing)\b",
)
# What a scanning service or a company appends to every message it passes
# ("... has been scanned for all viruses by <product>", a disclaimer): no
# failure's reason, and a product named there is no gateway's verdict.
SCANNING_BANNER = (
    r"(?:has been|was|were) (?:scanned|checked|swept)\b|scanned (?:for|by)\b"
    r"|virus[ -]?(?:checked|scanned|free)\b|this (?:e-?mail|message) has come from"
    r"|\bdisclaimer\b|\bconfidential(?:ity)?\b.{0,60}\b(?:intended|addressee|notice)"
)
# Replies whose "try again" is advice to the reader, not a deferral.
TRY_AGAIN_ADVICE = (
    r"(check|correct|fix|verify) .{0,60}(and|then) (try|send) again",
    r"try (again )?(double.?checking|checking|re-?typing)",
    r"(address|recipient) .{0,40}(couldn't|could not|can't|cannot) be found",
)
