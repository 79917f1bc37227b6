"""The reason classes a failure is sorted into, and the wording that names them.

Owns the phrase table: what servers write when an address does not exist,
a mailbox is full, a message is refused for its content or its sender's
reputation, and so on. ``status`` combines the reason a diagnostic's wording
names with the RFC 3463 code it quotes.

The English table runs first: nearly every server quotes its SMTP reply in
English, even inside a localised notice. When it names nothing, a smaller
table of localised phrases is tried (only for text that is not plain ASCII),
because some systems explain a failure only in their own language.
"""

from __future__ import annotations

import re

from .prefilter import Starts, word_starts

USER_UNKNOWN = "user_unknown"
BAD_DOMAIN = "bad_domain"
BAD_SYNTAX = "bad_syntax"
MAILBOX_DISABLED = "mailbox_disabled"
MAILBOX_FULL = "mailbox_full"
MESSAGE_TOO_LARGE = "message_too_large"
CONTENT_REJECTED = "content_rejected"
POLICY = "policy"
REPUTATION = "reputation"
RATE_LIMITED = "rate_limited"
TEMPORARY = "temporary"
OTHER = "other"

# The reason classes in words, for staff reading a mailing's bounces.
DESCRIPTIONS = {
    USER_UNKNOWN: "address does not exist",
    BAD_DOMAIN: "domain does not exist or takes no mail",
    BAD_SYNTAX: "malformed address",
    MAILBOX_DISABLED: "mailbox disabled",
    MAILBOX_FULL: "mailbox full",
    MESSAGE_TOO_LARGE: "message too large",
    CONTENT_REJECTED: "refused for its content",
    POLICY: "refused by the receiver's policy",
    REPUTATION: "refused for the sender's reputation",
    RATE_LIMITED: "too much mail at once",
    TEMPORARY: "temporary failure",
    OTHER: "other failure",
}

REASONS = (
    USER_UNKNOWN,
    BAD_DOMAIN,
    BAD_SYNTAX,
    MAILBOX_DISABLED,
    MAILBOX_FULL,
    MESSAGE_TOO_LARGE,
    CONTENT_REJECTED,
    POLICY,
    REPUTATION,
    RATE_LIMITED,
    TEMPORARY,
    OTHER,
)
# Reasons meaning the address can never receive mail (DESIGN: "hard").
HARD_REASONS = frozenset({USER_UNKNOWN, BAD_DOMAIN, BAD_SYNTAX, MAILBOX_DISABLED})

_RULES_SPEC: tuple[tuple[str, str, str], ...] = (
    # The receiver refused the *sender* (RFC 3463 X.1.7, X.1.8; Postfix
    # "Sender address rejected", Exim "Sender verify failed"). Whatever the
    # text says next ("Domain not found", "No such user") is about the
    # sender's address, never the recipient's: it must not count as hard.
    (
        POLICY,
        "7.1",
        r"sender (address |domain )?(rejected|refused|denied|blocked|(is )?(unknown"
        r"|invalid)|(not found|does not exist|must (exist|resolve)))"
        r"|(sender|envelope|callout) verif|verification failed for|envelope sender",
    ),
    # RFC 7505: a domain publishing a null MX accepts no mail at all.
    (BAD_DOMAIN, "1.10", r"null ?mx|domain does not accept (e-?)?mail"),
    (
        BAD_SYNTAX,
        "1.3",
        r"address syntax|syntax (error|illegal)?\s?in (mailbox|address|recipient"
        r"|parameters)|malformed (e-?mail |recipient )?address|invalid address"
        r" (format|syntax)|badly formatted (e-?mail )?address|illegal (e-?mail )?"
        r"address|not a valid rfc.?822 address|incomplete address|unbalanced"
        r"|improperly formatted|address (is )?(not|in)valid(ly)? formatted",
    ),
    # Outbound sending quotas must win over the mailbox "quota" below.
    (
        RATE_LIMITED,
        "7.0",
        r"(sending|daily|hourly|outbound|user) (sending )?(quota|limit)"
        r"|rate ?-?limit|too many (messages|connections|mails|e-?mails|concurrent"
        r"|recipients|sessions|errors)|throttl|unusual rate|unexpected volume"
        r"|(sending|message|connection) rate|receiving mail at a rate|too fast"
        r"|slow down|exceeded (the |a |your )?(sending |message |connection )?rate",
    ),
    (
        MAILBOX_FULL,
        "2.2",
        r"mail ?box (is |was |seems |appears )?(to be )?full|full mail ?box"
        r"|inbox is full|account is full|mailfolder is full|(over|exceed\w*)"
        r" (the |their |his |her |its )?(storage |disk |mailbox )?(quota|storage"
        r" allocation|allotted)|quota (exceeded|full|exceed)|overquota|disk quota"
        r"|mail ?box.{0,40}(exceed|over|reached).{0,25}(quota|limit|size|storage"
        r"|capacity)|insufficient (disk |system |storage )?(space|storage)"
        r"|(not|no) enough (disk |storage )?space|out of (disk |storage )?space"
        r"|storage (space )?(is )?full|user is over|too much mail"
        r"|mailbox size limit|exceeded storage|\bquota\b",
    ),
    (
        MESSAGE_TOO_LARGE,
        "3.4",
        r"message (size |length )?(exceeds|is too (large|big)|too (large|big))"
        r"|too (large|big)|size limit|exceeds? (the )?(maximum|fixed|allowed)"
        r" (message )?size|maximum (allowed )?(message )?size|length limit",
    ),
    (
        MAILBOX_DISABLED,
        "2.1",
        r"(account|mail ?box|user|address|recipient)( has been| is| was|'s"
        r" account has been)? (disabled|deactivated|suspended|inactive|closed"
        r"|locked|expired|frozen|terminated|discontinued)|(disabled|inactive"
        r"|closed|suspended|deactivated|expired|dormant) (e-?mail )?(account"
        r"|mail ?box|user)|no longer (active|in use|available|exists|with)"
        r"|(account|mail ?box) (is )?(no longer|not) (active|accepting)"
        r"|not accepting (any )?(mail|messages)(?! from)|has been disabled",
    ),
    (
        USER_UNKNOWN,
        "1.1",
        r"no longer valid|is wrong",
    ),
    (
        BAD_DOMAIN,
        "4.4",
        r"host or domain name not found|unrouteable|unroutable|unable to route"
        r"|no route to (host|domain)|all relevant mx records point to",
    ),
    (
        BAD_DOMAIN,
        "1.2",
        r"domain (name )?(not found|does not exist|doesn't exist|is not valid"
        r"|unknown|invalid|nonexistent)|(no such|unknown|invalid|non-?existent)"
        r" (domain|host)|host unknown|host not found|name service error|nxdomain"
        r"|no mx\b|no (valid )?(mx|mail exchanger)s?( records?)?"
        r" (for|found)|couldn'?t find any host|could not find any host"
        r"|domain (name )?lookup failed|bad destination system address"
        r"|(isn't|is not|not) (a )?(valid|known|local|hosted) domain"
        r"|does not resolve|dns (error|failure)",
    ),
    (
        USER_UNKNOWN,
        "1.1",
        r"user (name )?(is )?unknown|unknown (user|recipient|mail ?box|local.?part"
        r"|address|alias|addressee|e-?mail)|no such (user|recipient|mail ?box"
        r"|person|account|address|local user)|(user|recipient|mail ?box|address"
        r"|account|addressee|e-?mail)( address)?( name)? (does not|doesn't|did not"
        r"|didn't|not) exists?|(user|recipient|mail ?box|account|address|alias)"
        r" (was |is )?not (found|known|valid|recogni[sz]ed|listed)|recipient"
        r" (address )?(unknown|not found|invalid)|invalid (recipient|mail ?box"
        r"|user|e-?mail|address|addressee)|not a valid (user|recipient|mail ?box)"
        r"|mail ?box (currently )?(unavailable|not available)|no mail ?box"
        r"|bad destination mail ?box|addressee unknown|recipnotfound"
        r"|(doesn'?t|does not) have an? [\w.-]+ account|not our customer"
        r"|undeliverable address|no valid recipients|name is not recogni[sz]ed"
        r"|in (virtual|local|relay) (alias|mailbox|recipient) table|address"
        r" rejected: undeliverable|access denied\. as\(\d|5\.4\.1 .{0,80}address"
        r" rejected: access denied|(account|mailbox|recipient)"
        r" does not exist|address unknown|not a known user|user not local"
        r"|not listed in (the )?(domino )?(public )?directory|unknown or illegal"
        r"|does not exist|doesn't exist|no such",
    ),
    (REPUTATION, "7.26", r"\bdmarc\b"),
    (REPUTATION, "7.23", r"\bspf\b|sender policy framework"),
    (REPUTATION, "7.25", r"reverse dns|\brdns\b|\bptr\b|reverse (lookup|dns)"),
    (
        REPUTATION,
        "7.1",
        r"blocked using|(listed|blacklisted|blocklisted) (in|on|at|by)"
        r"|black ?list|block ?list|\bdnsbl\b|\brbl\b|spamhaus|spamcop|sorbs"
        r"|barracuda ?(central|reputation)|uceprotect|reputation|client host"
        r" \S* ?(rejected|blocked)|(your|sending|sender|the) (ip|server|host"
        r"|mail server)( address)?.{0,40}(blocked|banned|listed|block)"
        r"|\bblocked\b.{0,40}\b(ip|host)\b|not authori[sz]ed to send|\bdkim\b"
        r"|from this ip|ip address.{0,40}(block|reject|not accepted|denied)",
    ),
    (
        CONTENT_REJECTED,
        "7.1",
        r"spam|virus|malware|infected|phish|content|suspicious|junk"
        r"|bulk (e-?)?mail|unsolicited|dangerous|attachment|message (looks|appears)"
        r"|(message|mail) (was )?(rejected|blocked|refused) (as|because|due)",
    ),
    (
        POLICY,
        "7.1",
        r"relay|authenticat|access denied|permission denied|not authori[sz]ed"
        r"|administrative prohibition|polic|prohibit|not allowed|refused|denied"
        r"|rejected by|restricted|blocked|forbidden|not accepting (mail|messages) from",
    ),
    # Exim: "retry time not reached for any host ... after a long failure period".
    (
        TEMPORARY,
        "4.7",
        r"expired|too long|time exceeded|retry timeout|gave up|long failure period"
        r"|retry time not reached",
    ),
    (
        TEMPORARY,
        "4.1",
        r"timed? ?out|timeout|connection refused|no answer|not responding"
        r"|unable to connect|could not connect|connect to .{1,80} failed",
    ),
    (TEMPORARY, "4.2", r"lost connection|connection (reset|closed|dropped)"),
    (
        TEMPORARY,
        "0.0",
        r"try again|temporar|deferr|delayed|will (be )?retr|greylist|graylist"
        r"|still trying|service (not |un)available|resources|retry",
    ),
)
# Patterns are matched against lowercased text: cheaper than re.IGNORECASE.
# Every phrase starts at a word boundary; saying so lets the regex engine
# skip positions inside words, and lets ``prefilter`` skip whole rules whose
# phrases cannot start anywhere in the text (most of them, for any text).
_RULES = tuple(
    (reason, detail, compiled, Starts(compiled))
    for reason, detail, pattern in _RULES_SPEC
    for compiled in (re.compile(rf"\b(?:{pattern})"),)
)


# Localised wording, for notices that explain a failure only in another
# language (GMX, Yandex, Mail.ru and many company gateways). Tried only when
# the English table names nothing, so an English reply quoted in the same
# text decides. Phrases open with words rare in English mail, which keeps
# ``prefilter`` effective.
_LOCAL_RULES_SPEC: tuple[tuple[str, str, str], ...] = (
    # Domain phrases first: "die Domain existiert nicht" is no unknown user.
    (
        BAD_DOMAIN,
        "1.2",
        r"domain\w* (existiert nicht|nicht gefunden)|domaine (inconnu|inexistant"
        r"|introuvable)|dominio (desconocido|inexistente|no existe)"
        r"|домен\w* не (существует|найден)",
    ),
    (
        MAILBOX_FULL,
        "2.2",
        r"(postfach|speicherplatz)\w* (ist )?(voll|überfüllt|erschöpft)|boîte.{0,40}"
        r"pleine|buz[oó]n.{0,20}lleno|casella.{0,30}piena|caixa.{0,30}cheia"
        r"|переполнен|превышен\w* (квот|лимит|объ)",
    ),
    (
        MAILBOX_DISABLED,
        "2.1",
        r"(konto|postfach|benutzer)\w* (ist |wurde )?(deaktiviert|gesperrt|gelöscht)"
        r"|compte.{0,20}(désactivé|suspendu|supprimé)|cuenta.{0,20}(desactivada"
        r"|suspendida|deshabilitada)|(ящик|аккаунт|учетн\w* запис\w*) (заблокирован"
        r"|отключен|удален)",
    ),
    (
        USER_UNKNOWN,
        "1.1",
        r"(benutzer|empfänger|postfach)\w* (ist )?unbekannt|unbekannte[rs]? (benutzer"
        r"|empfänger|adresse)|existiert nicht|gibt es nicht|(utilisateur"
        r"|destinataire) inconnu|adresse inconnue|n'existe pas|inexistant"
        r"|(usuario|destinatario) desconocido|(usuario|cuenta|buzón|destinatario)\w* no existe|(utente"
        r"|destinatario) sconosciuto|(utente|casella|destinatario)\w* non esiste"
        r"|inesistente|(usuário|utilizador) desconhecido|não existe|onbekende"
        r" (gebruiker|ontvanger)|bestaat niet|не существует|(пользовател|адресат"
        r"|получател|адрес|ящик)\w* не найден|нет такого|неизвестн\w* (пользовател"
        r"|адресат|получател)",
    ),
)
_LOCAL_RULES = tuple(
    (reason, detail, compiled, Starts(compiled))
    for reason, detail, pattern in _LOCAL_RULES_SPEC
    for compiled in (re.compile(rf"\b(?:{pattern})"),)
)
# Japanese, Chinese and Korean wording (NTT, QQ, Naver), without ``\b``:
# these scripts have no word boundaries between characters. Tried last, and
# only on text that is not plain ASCII.
_CJK_RULES_SPEC: tuple[tuple[str, str, str], ...] = (
    (BAD_DOMAIN, "1.2", r"ドメインが?(存在しません|見つかりません)|域名不存在"),
    (MAILBOX_FULL, "2.2", r"容量.{0,10}(超|オーバー|不足)|満杯|邮箱已满|空间不足"),
    (
        MAILBOX_DISABLED,
        "2.1",
        r"(アカウント|メールボックス)が?.{0,6}(停止|無効)"
        r"|(账户|帐户|邮箱).{0,6}(停用|冻结|禁用)",
    ),
    (
        USER_UNKNOWN,
        "1.1",
        r"存在しません|存在しない|見つかりません|不存在|查无此人|존재하지 않",
    ),
)
_CJK_RULES = tuple(
    (reason, detail, re.compile(pattern)) for reason, detail, pattern in _CJK_RULES_SPEC
)


def _first_rule(
    rules: tuple[tuple[str, str, re.Pattern[str], Starts], ...],
    text: str,
    starts: set[str],
) -> tuple[str, str] | None:
    """The first of ``rules`` that ``text`` (lowercased, with ``starts``) matches."""
    for reason, detail, pattern, phrase_starts in rules:
        if phrase_starts.may_match(starts) and pattern.search(text):
            return reason, detail
    return None


def match_reason(text: str | None) -> tuple[str, str] | None:
    """Return ``(reason, subject.detail)`` for the first rule ``text`` matches."""
    if not text:
        return None
    text = text[:2000].lower()
    starts = word_starts(text)
    found = _first_rule(_RULES, text, starts) or _first_rule(_LOCAL_RULES, text, starts)
    if found or text.isascii():
        return found
    return next(((r, d) for r, d, p in _CJK_RULES if p.search(text)), None)
