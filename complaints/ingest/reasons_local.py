"""Failure wording in languages other than English, for ``reasons``.

GMX, Yandex, Mail.ru and many company gateways explain a failure only in
their own language. These phrases are tried only when the English rules name
nothing. Phrases open with words rare in English mail, which keeps the
``prefilter`` check effective. Japanese, Chinese and Korean phrases have no
word boundaries between characters and are tried last, only on text that is
not plain ASCII.
"""

from __future__ import annotations

import re

from .prefilter import Starts

_LOCAL_SPEC: tuple[tuple[str, str, str], ...] = (
    # Domain phrases first: "die Domain existiert nicht" is no unknown user.
    (
        "bad_domain",
        "1.2",
        r"domain\w* (existiert nicht|nicht gefunden)|domaine (inconnu|inexistant"
        r"|introuvable)|dominio (desconocido|inexistente|no existe)"
        r"|домен\w* не (существует|найден)",
    ),
    (
        "mailbox_full",
        "2.2",
        r"(postfach|speicherplatz)\w* (ist )?(voll|überfüllt|erschöpft)|boîte.{0,40}"
        r"pleine|buz[oó]n.{0,20}lleno|casella.{0,30}piena|caixa.{0,30}cheia"
        r"|переполнен|превышен\w* (квот|лимит|объ)",
    ),
    (
        "suspended",
        "2.1",
        r"(konto|postfach|benutzer)\w* (ist |wurde )?(deaktiviert|gesperrt)"
        r"|compte.{0,20}(désactivé|suspendu)|cuenta.{0,20}(desactivada"
        r"|suspendida|deshabilitada)|(ящик|аккаунт|учетн\w* запис\w*) (заблокирован"
        r"|отключен)",
    ),
    (
        "user_unknown",
        "1.1",
        r"(benutzer|empfänger|postfach)\w* (ist )?unbekannt|unbekannte[rs]? (benutzer"
        r"|empfänger|adresse)|existiert nicht|gibt es nicht|(utilisateur"
        r"|destinataire) inconnu|adresse inconnue|n'existe pas|inexistant"
        r"|(usuario|destinatario) desconocido|(usuario|cuenta|buzón|destinatario)\w*"
        r" no existe|(utente|destinatario) sconosciuto|(utente|casella|destinatario)"
        r"\w* non esiste|inesistente|(usuário|utilizador) desconhecido|não existe"
        r"|onbekende (gebruiker|ontvanger)|bestaat niet|не существует|(пользовател"
        r"|адресат|получател|адрес|ящик)\w* не найден|нет такого|неизвестн\w*"
        r" (пользовател|адресат|получател)|(konto|postfach)\w* (wurde )?gelöscht"
        r"|compte.{0,20}supprimé|(ящик|аккаунт) удален",
    ),
)
_LOCAL = tuple(
    (reason, detail, compiled, Starts(compiled))
    for reason, detail, pattern in _LOCAL_SPEC
    for compiled in (re.compile(rf"\b(?:{pattern})"),)
)
_CJK_SPEC: tuple[tuple[str, str, str], ...] = (
    ("bad_domain", "1.2", r"ドメインが?(存在しません|見つかりません)|域名不存在"),
    ("mailbox_full", "2.2", r"容量.{0,10}(超|オーバー|不足)|満杯|邮箱已满|空间不足"),
    (
        "suspended",
        "2.1",
        r"(アカウント|メールボックス)が?.{0,6}(停止|無効)"
        r"|(账户|帐户|邮箱).{0,6}(停用|冻结|禁用)",
    ),
    (
        "user_unknown",
        "1.1",
        r"存在しません|存在しない|見つかりません|不存在|查无此人|존재하지 않",
    ),
)
_CJK = tuple((reason, detail, re.compile(p)) for reason, detail, p in _CJK_SPEC)


def match_local(text: str, starts: set[str]) -> tuple[str, str] | None:
    """``(reason, detail)`` for localised wording in lowercased ``text``."""
    for reason, detail, pattern, phrase_starts in _LOCAL:
        if phrase_starts.may_match(starts) and pattern.search(text):
            return reason, detail
    if text.isascii():
        return None
    return next(((r, d) for r, d, p in _CJK if p.search(text)), None)
