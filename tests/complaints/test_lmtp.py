"""The LMTP server in this process, over a real socket, against the test database:
one reply per recipient, 250 only once the row is committed, 552 and 554 for what
no retry could fix."""

import asyncio
import hashlib
import socket
import threading

import psycopg
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.lmtp import LMTP
from django.conf import settings as django_settings

from complaints.lmtp import ServerConfig, serve
from complaints.models import InboundMessage
from tests.complaints.lmtp_client import LmtpClient
from tests.complaints.mail import arf_report

pytestmark = pytest.mark.django_db(transaction=True)

RECIPIENTS = ["abuse@isp.example", "bounces@isp.example"]
# The brief's spare loopback ports for this work's private servers.
SPARE_PORTS = range(25000, 25100)


def spare_port() -> int:
    for port in SPARE_PORTS:
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no spare port left in 25000-25099")


class RunningServer:
    """serve() on its own event loop in a thread, stopped by the fixture."""

    def __init__(self) -> None:
        self.port = spare_port()
        self.bound = threading.Event()
        self.loop: asyncio.AbstractEventLoop | None = None
        self.stop: asyncio.Event | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        async def main() -> None:
            self.loop = asyncio.get_running_loop()
            self.stop = asyncio.Event()
            await serve(
                ServerConfig(host="127.0.0.1", port=self.port, threads=2),
                ready=lambda _bound: self.bound.set(),
                stop=self.stop,
                handle_signals=False,
            )

        asyncio.run(main())

    def start(self) -> "RunningServer":
        self.thread.start()
        assert self.bound.wait(10), "the LMTP server did not start"
        return self

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.stop.set)
        self.thread.join(30)

    def client(self, **kwargs) -> LmtpClient:
        return LmtpClient("127.0.0.1", self.port, **kwargs)


@pytest.fixture
def lmtp(ingest_queue):
    server = RunningServer().start()
    yield server
    server.close()


def _dsn() -> str:
    db = django_settings.DATABASES["default"]
    return (
        f"host={db['HOST'] or '127.0.0.1'} port={db['PORT'] or 5432} "
        f"user={db['USER']} dbname={db['NAME']}"
    )


def _committed(raw: bytes) -> bool:
    """Whether another connection sees the row: it is committed."""
    with psycopg.connect(_dsn(), autocommit=True) as other:
        row = other.execute(
            f"SELECT 1 FROM {InboundMessage._meta.db_table} WHERE sha256 = %s",  # noqa: S608
            [hashlib.sha256(raw).hexdigest()],
        ).fetchone()
    return row is not None


def test_each_recipient_gets_250_and_the_row_is_committed_when_it_arrives(lmtp):
    raw = arf_report()
    client = lmtp.client()
    replies = client.send(raw, RECIPIENTS)
    # The first 250 is read before anything else: the row must already be there.
    assert _committed(raw)
    client.close()
    assert [r[:9] for r in replies] == ["250 2.0.0", "250 2.0.0"]
    inbound = InboundMessage.objects.get()
    assert replies[0] == f"250 2.0.0 Stored as #{inbound.pk}"
    assert bytes(inbound.raw) == raw
    assert inbound.channel == InboundMessage.Channel.LMTP
    assert inbound.state == InboundMessage.State.PENDING


def test_pipelining_is_offered_and_pipelined_deliveries_get_every_reply(lmtp):
    """RFC 2920, as Postfix's LMTP client uses it: envelopes in one write, a
    message's content in the same write as the next envelope; the replies come
    back in order, one per command and one per recipient after each dot."""
    raws = [arf_report(message_id=f"<pipe.{n}@example.net>") for n in range(3)]
    client = lmtp.client()
    assert "250-PIPELINING" in client.lhlo
    replies = client.send_pipelined(raws, RECIPIENTS)
    # A plain command after the pipelined ones is still answered at once.
    assert client.command("NOOP").startswith("250")
    client.close()
    codes = [r[:3] for r in replies]
    assert codes == ["250", "250", "250", "354"] + (
        ["250", "250", "250", "250", "250", "354"] * 2
    ) + ["250", "250"]
    stored = [r for r in replies if "Stored as" in r]
    assert len(stored) == 6
    assert InboundMessage.objects.count() == 3
    assert all(_committed(raw) for raw in raws)


def test_no_250_before_the_commit(lmtp):
    """While another transaction blocks the insert, the client waits; the 250
    comes once the row is in, never before."""
    raw = arf_report()
    client = lmtp.client()
    replies: list[str] = []
    delivery = threading.Thread(
        target=lambda: replies.extend(client.send(raw, RECIPIENTS[:1]))
    )
    with psycopg.connect(_dsn()) as blocker:
        blocker.execute(f"LOCK TABLE {InboundMessage._meta.db_table} IN SHARE MODE")
        delivery.start()
        delivery.join(1.5)
        assert delivery.is_alive(), f"answered before the commit: {replies}"
        assert not _committed(raw)
        blocker.rollback()
    delivery.join(30)
    assert replies[0].startswith("250 2.0.0 Stored as #")
    assert _committed(raw)
    client.close()


def test_messages_arriving_while_the_threads_commit_share_the_next_commit(lmtp):
    """Two store threads blocked on a lock, three more messages waiting: once
    the lock goes, the three are committed in one transaction (one time)."""
    raws = [arf_report() for _ in range(5)]
    clients = [lmtp.client() for _ in raws]
    replies: list[str] = []
    deliveries = [
        threading.Thread(
            target=lambda c=client, r=raw: replies.extend(c.send(r, RECIPIENTS[:1]))
        )
        for client, raw in zip(clients, raws, strict=True)
    ]
    with psycopg.connect(_dsn()) as blocker:
        blocker.execute(f"LOCK TABLE {InboundMessage._meta.db_table} IN SHARE MODE")
        for delivery in deliveries:
            delivery.start()
        deliveries[0].join(1.5)
        assert not replies
        blocker.rollback()
    for delivery in deliveries:
        delivery.join(30)
    for client in clients:
        client.close()
    assert [r[:9] for r in replies] == ["250 2.0.0"] * 5
    assert all(_committed(raw) for raw in raws)
    commits = InboundMessage.objects.values("received_at").distinct().count()
    assert commits < 5


def test_dots_at_line_starts_and_8bit_bytes_are_stored_as_sent(lmtp):
    raw = (
        b"From: someone@example.net\r\nSubject: caf\xc3\xa9\r\n\r\n"
        b".a line that starts with a dot\r\n..two dots\r\nbody\r\n"
    )
    client = lmtp.client()
    assert client.send(raw, RECIPIENTS[:1])[0].startswith("250")
    client.close()
    assert bytes(InboundMessage.objects.get().raw) == raw


def test_lines_ending_in_a_dot_do_not_end_the_data(lmtp):
    # The server reads up to each ".CRLF"; only one on a line of its own ends it.
    raw = (
        b"Subject: stop.\r\n\r\nPlease stop.\r\nA line.\r\n.\r\n"
        b"What looked like the end above was a dot line sent as two dots.\r\n"
    )
    client = lmtp.client()
    assert client.send(raw, RECIPIENTS[:1])[0].startswith("250")
    assert client.send(arf_report(), RECIPIENTS[:1])[0].startswith("250")
    client.close()
    assert bytes(InboundMessage.objects.order_by("pk").first().raw) == raw


def test_a_message_longer_than_the_read_buffer_without_dot_lines_is_whole(lmtp):
    # Past the stream's buffer limit the server takes what is buffered and reads
    # on; the message must come out byte for byte.
    line = b"y" * 998 + b"\r\n"
    raw = b"Subject: long\r\n\r\n" + line * 1_500
    client = lmtp.client()
    assert client.send(raw, RECIPIENTS[:1])[0].startswith("250")
    client.close()
    assert bytes(InboundMessage.objects.get().raw) == raw


@pytest.mark.parametrize(
    "sender",
    ["", "bounce+x=y@lists.example.org", '"quoted local"@example.net'],
    ids=["null path", "plain", "quoted local part"],
)
def test_senders_mtas_send_are_accepted(lmtp, sender):
    client = lmtp.client()
    replies = client.send(arf_report(), RECIPIENTS[:1], sender=sender)
    client.close()
    assert replies[0].startswith("250"), replies


def test_the_same_message_delivered_again_is_250_and_one_row(lmtp):
    raw = arf_report()
    client = lmtp.client()
    first = client.send(raw, RECIPIENTS[:1])
    again = client.send(raw, RECIPIENTS)
    client.close()
    pk = InboundMessage.objects.get().pk
    assert first == [f"250 2.0.0 Stored as #{pk}"]
    assert again == [f"250 2.0.0 Already stored as #{pk}"] * 2


def test_oversize_message_gets_552_per_recipient_and_the_session_goes_on(
    settings, ingest_queue, caplog
):
    settings.ABUSE_INGEST_MAX_BYTES = 4096
    server = RunningServer().start()
    try:
        client = server.client()
        big = b"Subject: big\r\n\r\n" + b"x" * 70 + b"\r\n"
        replies = client.send(big * 100, RECIPIENTS)
        announced = client.send(big * 100, RECIPIENTS, size=7400)
        small = client.send(arf_report(), RECIPIENTS[:1])
        client.close()
    finally:
        server.close()
    too_big = "552 5.3.4 Message too big for the abuse desk (limit 4096 bytes)"
    assert replies == [too_big, too_big]
    assert announced[0].startswith("552"), "SIZE over the limit is refused at MAIL"
    assert small[0].startswith("250")
    assert InboundMessage.objects.count() == 1
    assert "lmtp refused 127.0.0.1: 552" in caplog.text


def test_empty_message_gets_a_clear_5xx_per_recipient(lmtp, caplog):
    client = lmtp.client()
    replies = client.send(b"", RECIPIENTS)
    client.close()
    assert replies == ["554 5.6.0 Empty message: nothing to store"] * 2
    assert not InboundMessage.objects.exists()
    assert "lmtp refused 127.0.0.1: 554 5.6.0" in caplog.text


def test_five_messages_in_a_row_wake_one_drainer(lmtp, ingest_queue):
    client = lmtp.client()
    for n in range(5):
        assert client.send(arf_report(), RECIPIENTS)[0].startswith("250"), n
    client.close()
    assert InboundMessage.objects.count() == 5
    assert [job.func_name for job in ingest_queue.jobs] == [
        "complaints.jobs.inbound_drain_job"
    ]


class _NoHooks:
    """A handler without hooks: aiosmtpd answers MAIL and RCPT by itself."""


class _ReferenceLMTP(Controller):
    """aiosmtpd's own LMTP, with the options serve() gives DeskLMTP."""

    def factory(self):
        return LMTP(
            self.handler,
            data_size_limit=django_settings.ABUSE_INGEST_MAX_BYTES,
            enable_SMTPUTF8=True,
            hostname="abusedesk",
        )


def _answers(port: int, lines: list[str], *, greet: bool = True) -> list[str]:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        file = sock.makefile("rb")
        replies = []

        def command(line: str | None) -> str:
            if line is not None:
                sock.sendall(line.encode() + b"\r\n")
            reply = []
            while (got := file.readline())[3:4] == b"-":
                reply.append(got)
            return b"".join([*reply, got]).decode()

        command(None)
        if greet:
            command("LHLO mta.isp.example")
        for line in lines:
            replies.append(command(line))
        return replies


@pytest.mark.parametrize(
    ("lines", "greet"),
    [
        (["MAIL FROM:<a@mx.example>"], False),
        (["RCPT TO:<abuse@isp.example>"], True),
        (["MAIL FROM:<a@mx.example>", "MAIL FROM:<b@mx.example>"], True),
        (["MAIL FROM:<>", "RCPT TO:<abuse@isp.example>", "RCPT TO:<>"], True),
        (["MAIL FROM:<a@mx.example> BODY=8BITMIME SIZE=10"], True),
        (
            ["MAIL FROM:<a@mx.example>", "RCPT TO:<abuse@isp.example> NOTIFY=NEVER"],
            True,
        ),
        (["MAIL FROM:<a@mx.example> FOO=1", "MAIL FROM:a@mx.example"], True),
        ([f"MAIL FROM:<{'l' * 65}@mx.example>", "MAIL FROM:<a@b@c>"], True),
        (["MAIL TO:<a@mx.example>", "MAIL FROM:", "MAIL", "RCPT TO:<a b@c>"], True),
        (["MAIL FROM:<a@mx.example>", "RCPT TO:<x@isp.example>", "RCPT TO:x"], True),
    ],
    ids=[
        "before LHLO",
        "RCPT first",
        "nested MAIL",
        "null paths",
        "parameters",
        "RCPT parameter",
        "unknown parameter, bare path",
        "long local part, two at signs",
        "syntax errors",
        "recipients",
    ],
)
def test_mail_and_rcpt_are_answered_as_aiosmtpd_answers_them(lmtp, lines, greet):
    reference = _ReferenceLMTP(_NoHooks(), hostname="127.0.0.1", port=spare_port())
    reference.start()
    try:
        expected = _answers(reference.port, lines, greet=greet)
    finally:
        reference.stop()
    assert _answers(lmtp.port, lines, greet=greet) == expected
