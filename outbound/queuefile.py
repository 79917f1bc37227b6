"""Reading what ``postcat -ehq`` prints about a queued message (pure): the
envelope recipients, else the To/Cc header addresses, and the subject."""

import email.utils
from dataclasses import dataclass
from email.header import decode_header, make_header


@dataclass(frozen=True)
class QueueHeaders:
    subject: str
    recipients: tuple[str, ...]


def _decoded(value: str) -> str:
    try:
        return str(make_header(decode_header(value)))
    except (ValueError, LookupError):
        return value


def parse_queue_headers(output: bytes) -> QueueHeaders:
    text = output.decode("utf-8", "replace")
    envelope, headers, current = [], {}, None
    for line in text.splitlines():
        if line.startswith("*** "):
            current = None
            continue
        if line.startswith("recipient: "):
            envelope.append(line[len("recipient: ") :].strip())
            continue
        if line[:1] in (" ", "\t") and current:
            headers[current] += " " + line.strip()
            continue
        name, sep, value = line.partition(":")
        if sep and name and " " not in name:
            current = name.lower()
            headers.setdefault(current, "")
            headers[current] = (
                headers[current] + ", " if headers[current] else ""
            ) + value.strip()
    recipients = envelope or [
        address
        for _name, address in email.utils.getaddresses(
            [headers.get("to", ""), headers.get("cc", "")]
        )
        if address
    ]
    return QueueHeaders(
        subject=_decoded(headers.get("subject", "")),
        recipients=tuple(dict.fromkeys(recipients)),
    )
