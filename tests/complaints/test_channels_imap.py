"""IMAP polling against a real Dovecot, started by the test as an unprivileged
process on a free loopback port, with a Maildir in a temporary directory.

Skipped when Dovecot is not installed, unless ABUSE_REQUIRE_DOVECOT=1 (CI).
"""

import grp
import imaplib
import io
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from complaints import jobs
from complaints.models import InboundMessage
from complaints.services import inbound_store
from complaints.services.imap import PollResult, imap_poll

# imap_poll refuses to run inside a transaction: it marks after each commit.
pytestmark = pytest.mark.django_db(transaction=True)

USER = "abuse"
PASSWORD = "imap-test-password"
DONE = "Done"

DOVECOT_CONF = """\
protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
# Loopback only, for a test: no TLS, passwords in the clear.
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
# Refuse a wrong password at once; the default 2 s delay only slows the tests.
auth_failure_delay = 0
default_internal_user = {user}
default_internal_group = {group}
default_login_user = {user}
mail_location = maildir:{root}/mail/%u/Maildir
{extra}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/mail/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
"""


def _dovecot_binary() -> str | None:
    return shutil.which("dovecot") or shutil.which("dovecot", path="/usr/sbin:/sbin")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for_port(port: int, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"dovecot exited: {log.read_text() if log.exists() else ''}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    pytest.fail("dovecot did not start listening within 15 s")


class Dovecot:
    """A running Dovecot and an imaplib session factory for its one user."""

    def __init__(self, port: int):
        self.port = port

    def settings(self, *, done_folder: str = DONE) -> dict:
        return {
            "host": "127.0.0.1",
            "port": self.port,
            "use_ssl": False,
            "user": USER,
            "password": PASSWORD,
            "folder": "INBOX",
            "done_folder": done_folder,
        }

    def session(self) -> imaplib.IMAP4:
        imap = imaplib.IMAP4("127.0.0.1", self.port, timeout=10)
        imap.login(USER, PASSWORD)
        return imap

    def append(self, *messages: bytes, folder: str = "INBOX") -> None:
        imap = self.session()
        for message in messages:
            assert imap.append(folder, None, None, message)[0] == "OK"
        imap.logout()

    def messages(self, folder: str = "INBOX") -> list[tuple[bytes, bytes]]:
        """(flags, bytes) of every message in ``folder``, in order."""
        imap = self.session()
        status, _ = imap.select(f'"{folder}"', readonly=True)
        if status != "OK":
            imap.logout()
            return []
        found = []
        for uid in imap.uid("SEARCH", "ALL")[1][0].split():
            _, data = imap.uid("FETCH", uid, "(FLAGS BODY.PEEK[])")
            envelope, raw = data[0]
            flags = envelope.split(b"FLAGS (")[1].split(b")")[0]
            found.append((flags, raw))
        imap.logout()
        return found


def _start_dovecot(extra_conf: str = ""):
    binary = _dovecot_binary()
    if binary is None:
        if os.environ.get("ABUSE_REQUIRE_DOVECOT") == "1":
            pytest.fail("dovecot is not installed but ABUSE_REQUIRE_DOVECOT=1")
        pytest.skip("dovecot is not installed (apt-get install dovecot-imapd)")
    # As root, run it as nobody; otherwise as the current user. Either way the
    # directory must be the server's own, outside root's private pytest tree.
    account = pwd.getpwnam("nobody") if os.geteuid() == 0 else pwd.getpwuid(os.getuid())
    root = Path(tempfile.mkdtemp(prefix="abusedesk-dovecot-"))
    for sub in ("run", "state", "mail"):
        (root / sub).mkdir()
    port = _free_port()
    (root / "passwd").write_text(f"{USER}:{{PLAIN}}{PASSWORD}\n")
    conf = root / "dovecot.conf"
    conf.write_text(
        DOVECOT_CONF.format(
            root=root,
            user=account.pw_name,
            group=grp.getgrgid(account.pw_gid).gr_name,
            uid=account.pw_uid,
            gid=account.pw_gid,
            port=port,
            extra=extra_conf,
        )
    )
    drop_root = {}
    if os.geteuid() == 0:
        for path in [root, *root.rglob("*")]:
            os.chown(path, account.pw_uid, account.pw_gid)
        drop_root = {
            "user": account.pw_uid,
            "group": account.pw_gid,
            "extra_groups": [],
        }
    process = subprocess.Popen(
        [binary, "-F", "-c", str(conf)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        **drop_root,
    )
    try:
        _wait_for_port(port, process, root / "dovecot.log")
    except BaseException:
        _stop_dovecot(process, root)
        raise
    return Dovecot(port), process, root


def _stop_dovecot(process: subprocess.Popen, root: Path) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def dovecot():
    server, process, root = _start_dovecot()
    yield server
    _stop_dovecot(process, root)


def message(n: int) -> bytes:
    return (
        f"From: victim{n}@example.org\r\nTo: abuse@example.com\r\n"
        f"Subject: Complaint {n}\r\nMessage-ID: <imap-{n}@example.org>\r\n"
        f"\r\nSpam number {n} from your customer.\r\n"
    ).encode()


def test_poll_stores_messages_and_moves_them_to_the_done_folder(dovecot, ingest_queue):
    dovecot.append(message(1), message(2), message(3))
    result = imap_poll(**dovecot.settings())
    assert result == PollResult(fetched=3, stored=3, already_stored=0, failed=0)
    assert sorted(bytes(row.raw) for row in InboundMessage.objects.all()) == [
        message(1),
        message(2),
        message(3),
    ]
    assert {row.channel for row in InboundMessage.objects.all()} == {"imap"}
    assert dovecot.messages("INBOX") == []
    assert sorted(raw for _, raw in dovecot.messages(DONE)) == [
        message(1),
        message(2),
        message(3),
    ]
    # Three arrivals, one wake-up: the drainer takes all three.
    assert ingest_queue.count == 1


def test_second_poll_stores_nothing_new(dovecot):
    dovecot.append(message(1), message(2))
    imap_poll(**dovecot.settings())
    assert imap_poll(**dovecot.settings()) == PollResult()
    dovecot.append(message(3))
    assert imap_poll(**dovecot.settings()).stored == 1
    assert InboundMessage.objects.count() == 3
    assert len(dovecot.messages(DONE)) == 3


def test_without_done_folder_messages_are_flagged_seen_and_skipped(dovecot):
    dovecot.append(message(1), message(2))
    assert imap_poll(**dovecot.settings(done_folder="")).stored == 2
    left = dovecot.messages("INBOX")
    assert [raw for _, raw in left] == [message(1), message(2)]
    assert all(b"\\Seen" in flags and b"\\Deleted" not in flags for flags, _ in left)
    assert imap_poll(**dovecot.settings(done_folder="")) == PollResult()
    assert InboundMessage.objects.count() == 2


def test_message_already_stored_elsewhere_is_counted_and_moved(dovecot):
    inbound_store(raw=message(1), channel=InboundMessage.Channel.PIPE)
    dovecot.append(message(1))
    result = imap_poll(**dovecot.settings())
    assert result == PollResult(fetched=1, stored=0, already_stored=1, failed=0)
    assert dovecot.messages("INBOX") == []
    assert InboundMessage.objects.get().channel == InboundMessage.Channel.PIPE


def test_message_that_cannot_be_stored_stays_untouched(dovecot):
    dovecot.append(b"\r\n", message(2))  # a blank message: EmptyMessageError
    result = imap_poll(**dovecot.settings())
    assert result == PollResult(fetched=2, stored=1, already_stored=0, failed=1)
    [(flags, raw)] = dovecot.messages("INBOX")
    assert raw == b"\r\n"
    assert b"\\Seen" not in flags and b"\\Deleted" not in flags
    assert [raw for _, raw in dovecot.messages(DONE)] == [message(2)]


@pytest.mark.parametrize(
    "capabilities",
    ["IMAP4rev1 UIDPLUS", "IMAP4rev1"],
    ids=["copy-uid-expunge", "copy-expunge"],
)
def test_servers_without_move_get_copy_delete_expunge(capabilities):
    server, process, root = _start_dovecot(f"imap_capability = {capabilities}")
    try:
        server.append(message(1), message(2))
        assert imap_poll(**server.settings()).stored == 2
        assert server.messages("INBOX") == []
        assert sorted(raw for _, raw in server.messages(DONE)) == [
            message(1),
            message(2),
        ]
        assert imap_poll(**server.settings()) == PollResult()
    finally:
        _stop_dovecot(process, root)


def test_wrong_password_stores_nothing(dovecot):
    dovecot.append(message(1))
    with pytest.raises(imaplib.IMAP4.error):
        imap_poll(**{**dovecot.settings(), "password": "wrong"})
    # Not logging in again to look: Dovecot delays logins after a failure.
    assert not InboundMessage.objects.exists()


def _use_settings(settings, server: Dovecot) -> None:
    config = server.settings()
    settings.ABUSE_IMAP_HOST = config["host"]
    settings.ABUSE_IMAP_PORT = config["port"]
    settings.ABUSE_IMAP_SSL = False
    settings.ABUSE_IMAP_USER = USER
    settings.ABUSE_IMAP_PASSWORD = PASSWORD
    settings.ABUSE_IMAP_FOLDER = "INBOX"
    settings.ABUSE_IMAP_DONE_FOLDER = DONE


def test_poll_imap_command_polls_once(dovecot, settings):
    _use_settings(settings, dovecot)
    dovecot.append(message(1))
    out = io.StringIO()
    call_command("poll_imap", "--once", stdout=out)
    assert out.getvalue().startswith("Fetched 1: stored 1,")
    assert InboundMessage.objects.count() == 1


def test_poll_imap_command_reports_a_failed_poll(dovecot, settings):
    _use_settings(settings, dovecot)
    settings.ABUSE_IMAP_PASSWORD = "wrong"
    with pytest.raises(CommandError, match="Poll failed"):
        call_command("poll_imap", "--once", stdout=io.StringIO())


def test_poll_imap_command_refuses_without_host(settings):
    settings.ABUSE_IMAP_HOST = ""
    with pytest.raises(CommandError, match="ABUSE_IMAP_HOST"):
        call_command("poll_imap", "--once")


def test_imap_poll_job_polls_the_configured_mailbox_and_is_safe_twice(
    dovecot, settings
):
    _use_settings(settings, dovecot)
    dovecot.append(message(1), message(2))
    jobs.imap_poll_job()
    jobs.imap_poll_job()
    assert InboundMessage.objects.count() == 2
    assert len(dovecot.messages(DONE)) == 2
