"""Poll an IMAP mailbox (RFC 3501) for complaints and bounces.

Each message is fetched with BODY.PEEK[] (which does not set \\Seen), stored with
``inbound_store`` and only then, once the row is committed, marked on the server.
A message that could not be stored stays untouched and is fetched again on the
next poll; a message stored but not yet marked (a dropped connection) is fetched
again too, and ``inbound_store`` finds the row it already has.

How a stored message is marked:

- with a done folder, it is moved there: UID MOVE (RFC 6851) when the server
  offers it, else UID COPY + \\Deleted + expunge (UID EXPUNGE, RFC 4315, when
  offered). The poll looks at every message not flagged \\Deleted;
- without one, it is flagged \\Seen and the poll looks only at UNSEEN messages.
  The mailbox must then be read by this desk alone: a person who opens a message
  in a mail client marks it seen and the desk skips it. Prefer a done folder.

Folder names are sent quoted and must be ASCII (no modified UTF-7 encoding).
"""

import imaplib
import logging
import re
import ssl
from dataclasses import dataclass

from django.conf import settings
from django.db import DatabaseError, transaction

from complaints.exceptions import IngestError
from complaints.models import InboundMessage
from complaints.services.ingest import inbound_store

logger = logging.getLogger(__name__)

# Seconds to wait for the server before giving up (connect and each read).
TIMEOUT_SECONDS = 60
_UID = re.compile(rb"\bUID (\d+)")


@dataclass(frozen=True)
class PollResult:
    """What one poll did. ``failed`` messages were left untouched on the server."""

    fetched: int = 0
    stored: int = 0
    already_stored: int = 0
    failed: int = 0


class ImapPollError(Exception):
    """The server refused a command the poll needs (login, select, marking)."""


def _quote(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _check(response: tuple[str, list], what: str) -> list:
    status, data = response
    if status != "OK":
        detail = b" ".join(d for d in data if isinstance(d, bytes)).decode(
            "ascii", "replace"
        )
        raise ImapPollError(f"IMAP {what} failed: {status} {detail}")
    return data


def _connect(*, host: str, port: int, use_ssl: bool) -> imaplib.IMAP4:
    if use_ssl:
        return imaplib.IMAP4_SSL(
            host,
            port,
            ssl_context=ssl.create_default_context(),
            timeout=TIMEOUT_SECONDS,
        )
    return imaplib.IMAP4(host, port, timeout=TIMEOUT_SECONDS)


def imap_poll(
    *,
    host: str,
    port: int,
    use_ssl: bool,
    user: str,
    password: str,
    folder: str,
    done_folder: str,
) -> PollResult:
    """Store every waiting message of ``folder`` and mark it on the server.

    Must run outside a transaction: a message is marked only after its row is
    committed, which inside an outer transaction would not be true yet. Network
    and protocol errors (OSError, imaplib errors, ImapPollError) and database
    errors propagate and end the poll; what was stored stays stored, and the
    next poll carries on. Running it again stores nothing twice.
    """
    if transaction.get_connection().in_atomic_block:
        raise RuntimeError("imap_poll must not run inside a transaction")
    imap = _connect(host=host, port=port, use_ssl=use_ssl)
    try:
        _check(imap.login(user, password), "LOGIN")
        # Servers may announce more after login (Dovecot adds MOVE and UIDPLUS).
        announced = _check(imap.capability(), "CAPABILITY")
        capabilities = {name.upper() for line in announced for name in line.split()}
        if done_folder:
            # Fails harmlessly (NO [ALREADYEXISTS]) when the folder exists.
            imap.create(_quote(done_folder))
        _check(imap.select(_quote(folder)), f"SELECT {folder}")
        result = _poll_selected(
            imap, done_folder=done_folder, capabilities=capabilities
        )
    finally:
        # LOGOUT, not CLOSE: CLOSE would also expunge messages others flagged.
        try:
            imap.logout()
        except (OSError, imaplib.IMAP4.error):
            logger.debug("IMAP logout failed; the connection is closed anyway")
    logger.info(
        "imap poll: fetched %s, stored %s, already stored %s, failed %s",
        result.fetched,
        result.stored,
        result.already_stored,
        result.failed,
    )
    return result


def imap_poll_configured() -> PollResult | None:
    """Poll the mailbox the ABUSE_IMAP_* settings describe; None when
    ABUSE_IMAP_HOST is empty (IMAP is off)."""
    if not settings.ABUSE_IMAP_HOST:
        return None
    return imap_poll(
        host=settings.ABUSE_IMAP_HOST,
        port=settings.ABUSE_IMAP_PORT,
        use_ssl=settings.ABUSE_IMAP_SSL,
        user=settings.ABUSE_IMAP_USER,
        password=settings.ABUSE_IMAP_PASSWORD,
        folder=settings.ABUSE_IMAP_FOLDER,
        done_folder=settings.ABUSE_IMAP_DONE_FOLDER,
    )


def _poll_selected(
    imap: imaplib.IMAP4, *, done_folder: str, capabilities: set[bytes]
) -> PollResult:
    criteria = ["UNDELETED"] if done_folder else ["UNSEEN", "UNDELETED"]
    uids = _check(imap.uid("SEARCH", *criteria), "SEARCH")[0].split()
    counts = {"fetched": 0, "stored": 0, "already_stored": 0, "failed": 0}
    to_expunge: list[bytes] = []
    try:
        for uid in uids:
            raw = _fetch(imap, uid)
            if raw is None:
                continue  # expunged by someone else since the search
            counts["fetched"] += 1
            try:
                inbound, created = inbound_store(
                    raw=raw, channel=InboundMessage.Channel.IMAP
                )
            except IngestError as error:
                logger.warning("imap uid %s not stored: %s", uid.decode(), error)
                counts["failed"] += 1
                continue
            except DatabaseError:
                logger.warning("imap uid %s not stored: database error", uid.decode())
                raise
            counts["stored" if created else "already_stored"] += 1
            logger.debug("imap uid %s is inbound %s", uid.decode(), inbound.pk)
            if _mark_done(
                imap, uid, done_folder=done_folder, capabilities=capabilities
            ):
                to_expunge.append(uid)
    finally:
        # Expunge what was copied even when a later message failed, so the
        # next poll does not copy it to the done folder a second time.
        if to_expunge:
            _expunge(imap, to_expunge, capabilities=capabilities)
    return PollResult(**counts)


def _fetch(imap: imaplib.IMAP4, uid: bytes) -> bytes | None:
    data = _check(imap.uid("FETCH", uid, "(BODY.PEEK[])"), f"FETCH {uid!r}")
    for item in data:
        # A literal arrives as (b'<seq> (UID <uid> BODY[] {<size>}', <bytes>);
        # unsolicited FLAGS updates for other messages may come in between.
        if isinstance(item, tuple) and _uid_of(item[0]) in (uid, None):
            return item[1]
    return None


def _uid_of(envelope: bytes) -> bytes | None:
    match = _UID.search(envelope)
    return match.group(1) if match else None


def _mark_done(
    imap: imaplib.IMAP4, uid: bytes, *, done_folder: str, capabilities: set[bytes]
) -> bool:
    """Mark a stored message; return True when it still needs an expunge."""
    if not done_folder:
        _check(imap.uid("STORE", uid, "+FLAGS.SILENT", r"(\Seen)"), "STORE \\Seen")
        return False
    if b"MOVE" in capabilities:
        _check(imap.uid("MOVE", uid, _quote(done_folder)), f"MOVE to {done_folder}")
        return False
    _check(imap.uid("COPY", uid, _quote(done_folder)), f"COPY to {done_folder}")
    _check(imap.uid("STORE", uid, "+FLAGS.SILENT", r"(\Deleted)"), "STORE \\Deleted")
    return True


def _expunge(
    imap: imaplib.IMAP4, uids: list[bytes], *, capabilities: set[bytes]
) -> None:
    if b"UIDPLUS" in capabilities:
        # Removes only the messages this poll flagged, not others' \Deleted ones.
        _check(imap.uid("EXPUNGE", b",".join(uids).decode()), "UID EXPUNGE")
    else:
        _check(imap.expunge(), "EXPUNGE")
