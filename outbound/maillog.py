"""Submissions from an ISP's existing Postfix logs (pure): the smtpd line gives
the client and the SASL login of a queue id, the qmgr line its envelope sender,
size and recipient count. Classic syslog time stamps have no year, so the caller
gives it; RFC 3339 time stamps (rsyslog's default on Debian 12) carry their own.
"""

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

_CLASSIC = re.compile(
    r"^(?P<mon>[A-Z][a-z]{2}) +(?P<day>\d{1,2}) (?P<time>\d\d:\d\d:\d\d) (?P<host>\S+) "
)
_ISO = re.compile(
    r"^(?P<stamp>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d)?) (?P<host>\S+) "
)
_PROGRAM = re.compile(
    r"postfix[^\s\[]*/(?P<service>smtpd|qmgr)\[\d+\]: (?P<qid>[0-9A-Za-z]{5,20}): (?P<rest>.*)$"
)
_CLIENT = re.compile(r"client=[^\[\s]*\[(?P<address>[^\]]+)\]")
_LOGIN = re.compile(r"sasl_username=(?P<login>[^,\s]+)")
_FROM = re.compile(r"from=<(?P<sender>[^>]*)>")
_SIZE = re.compile(r"size=(?P<size>\d+)")
_NRCPT = re.compile(r"nrcpt=(?P<nrcpt>\d+)")
_MONTHS = {
    m: i
    for i, m in enumerate("Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split(), 1)
}


@dataclass(frozen=True)
class LoggedSubmission:
    relay_host: str
    queue_id: str
    at: datetime
    login: str
    client_address: str
    sender: str
    recipient_count: int
    size: int | None


def _stamp(line: str, year: int) -> tuple[datetime, str, str] | None:
    iso = _ISO.match(line)
    if iso:
        text = iso["stamp"].replace("Z", "+00:00")
        when = datetime.fromisoformat(text)
        when = when if when.tzinfo else when.replace(tzinfo=UTC)
        return when, iso["host"], line[iso.end() :]
    classic = _CLASSIC.match(line)
    if classic and classic["mon"] in _MONTHS:
        hour, minute, second = (int(x) for x in classic["time"].split(":"))
        when = datetime(
            year,
            _MONTHS[classic["mon"]],
            int(classic["day"]),
            hour,
            minute,
            second,
            tzinfo=UTC,
        )
        return when, classic["host"], line[classic.end() :]
    return None


def parse_maillog(lines: Iterable[str], *, year: int) -> Iterator[LoggedSubmission]:
    """Each queue id that has both its smtpd and qmgr lines, in log order."""
    open_ids: dict[tuple[str, str], dict] = {}
    for line in lines:
        stamped = _stamp(line, year)
        if stamped is None:
            continue
        when, host, rest = stamped
        found = _PROGRAM.search(rest)
        if not found:
            continue
        key = (host, found["qid"])
        text = found["rest"]
        if found["service"] == "smtpd":
            client = _CLIENT.search(text)
            if client:
                login = _LOGIN.search(text)
                open_ids[key] = {
                    "at": when,
                    "client": client["address"],
                    "login": login["login"].lower() if login else "",
                }
            continue
        sender = _FROM.search(text)
        seen = open_ids.pop(key, None)
        if sender is None or seen is None:
            continue
        size, nrcpt = _SIZE.search(text), _NRCPT.search(text)
        yield LoggedSubmission(
            relay_host=host,
            queue_id=found["qid"],
            at=seen["at"],
            login=seen["login"],
            client_address=seen["client"],
            sender=sender["sender"],
            recipient_count=int(nrcpt["nrcpt"]) if nrcpt else 0,
            size=int(size["size"]) if size else None,
        )
