"""A real Postfix from Debian, run by a test in a private configuration and
queue directory on a free loopback port, relaying everything to a local SMTP
sink (aiosmtpd) the test starts, or delivering it over LMTP to a port the test
names (as an ISP's Postfix hands the abuse mailbox to the desk). Needs root (Postfix's master starts as root
and drops to the postfix user); skipped when Postfix is missing unless
ABUSE_REQUIRE_POSTFIX=1."""

import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

POSTFIX = "/usr/sbin/postfix"
MASTER_CF = """\
{smtpd_port} inet n - n - - smtpd
pickup unix n - n 60 1 pickup
cleanup unix n - n - 0 cleanup
qmgr unix n - n 300 1 qmgr
rewrite unix - - n - - trivial-rewrite
bounce unix - - n - 0 bounce
defer unix - - n - 0 bounce
trace unix - - n - 0 bounce
verify unix - - n - 1 verify
flush unix n - n 1000? 0 flush
proxymap unix - - n - - proxymap
smtp unix - - n - - smtp
lmtp unix - - n - - lmtp
relay unix - - n - - smtp
showq unix n - n - - showq
error unix - - n - - error
retry unix - - n - - error
discard unix - - n - - discard
anvil unix - - n - 1 anvil
scache unix - - n - 1 scache
postlog unix-dgram n - n - 1 postlogd
"""
MAIN_CF = """\
compatibility_level = 3.6
queue_directory = {root}/queue
data_directory = {root}/data
command_directory = /usr/sbin
daemon_directory = /usr/lib/postfix/sbin
meta_directory = /etc/postfix
shlib_directory = /usr/lib/postfix
mail_owner = postfix
setgid_group = postdrop
myhostname = relay.test
mydomain = test
myorigin = relay.test
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
# 192.0.2.0/24 stands for the webmail servers and the subscribers' clients that
# XCLIENT makes the sessions come from.
mynetworks = 127.0.0.0/8 192.0.2.0/24
smtpd_authorized_xclient_hosts = 127.0.0.0/8
{delivery}
smtp_dns_support_level = disabled
maillog_file_prefixes = {root}
maillog_file = {root}/maillog
alias_maps =
alias_database =
queue_run_delay = 1s
minimal_backoff_time = 1s
maximal_backoff_time = 2s
"""
POLICY_CF = """\
smtpd_data_restrictions =
    check_policy_service {{ inet:127.0.0.1:{policy_port}, default_action=DUNNO, timeout=10s }}
"""


def require_postfix() -> None:
    if os.path.exists(POSTFIX) and os.geteuid() == 0:
        return
    reason = "Postfix is not installed (apt-get install postfix) or not running as root"
    if os.environ.get("ABUSE_REQUIRE_POSTFIX") == "1":
        pytest.fail(f"{reason}, but ABUSE_REQUIRE_POSTFIX=1")
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Sink:
    """Keeps every message it is handed."""

    def __init__(self):
        self.messages: list[bytes] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        self.messages.append(envelope.content)
        return "250 OK"

    def wait_for(self, count: int, timeout: float = 30) -> list[bytes]:
        deadline = time.monotonic() + timeout
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.1)
        return self.messages


class PrivatePostfix:
    def __init__(self, *, policy_port: int | None = None, lmtp_port: int | None = None):
        # Not under pytest's tmp_path: the postfix user must be able to reach it.
        self.root = Path(tempfile.mkdtemp(prefix="abusedesk-postfix-"))
        self.root.chmod(0o755)
        self.conf = self.root / "conf"
        self.conf.mkdir()
        (self.root / "queue").mkdir()
        (self.root / "data").mkdir()
        shutil.chown(self.root / "data", "postfix")
        self.sink = Sink()
        self.sink_port = free_port()
        self.controller = Controller(
            self.sink, hostname="127.0.0.1", port=self.sink_port
        )
        self.controller.start()
        self.port = free_port()
        if lmtp_port is None:
            delivery = f"relayhost = [127.0.0.1]:{self.sink_port}"
        else:
            delivery = f"default_transport = lmtp:inet:127.0.0.1:{lmtp_port}"
        main_cf = MAIN_CF.format(root=self.root, delivery=delivery)
        if policy_port is not None:
            main_cf += POLICY_CF.format(policy_port=policy_port)
        (self.conf / "main.cf").write_text(main_cf)
        (self.conf / "master.cf").write_text(
            MASTER_CF.format(smtpd_port=f"127.0.0.1:{self.port}")
        )
        self.postfix("start")
        self._wait_listening()

    def postfix(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [POSTFIX, "-c", str(self.conf), *args],
            capture_output=True,
            check=True,
            timeout=60,
        )

    def _wait_listening(self) -> None:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"postfix did not listen: {self.log()}")

    def queue(self) -> list[dict]:
        out = subprocess.run(
            ["/usr/sbin/postqueue", "-c", str(self.conf), "-j"],
            capture_output=True,
            check=True,
            timeout=30,
        ).stdout
        return [json.loads(line) for line in out.splitlines() if line.strip()]

    def log(self) -> str:
        path = self.root / "maillog"
        return path.read_text() if path.exists() else ""

    def stop(self) -> None:
        try:
            subprocess.run(
                [POSTFIX, "-c", str(self.conf), "abort"],
                capture_output=True,
                timeout=30,
            )
        finally:
            self.controller.stop()
            shutil.rmtree(self.root, ignore_errors=True)


class PrivateRedis:
    """A redis-server of the test's own on a free loopback port; stop() and
    start() again on the same port stand for an outage."""

    def __init__(self):
        self.dir = Path(tempfile.mkdtemp(prefix="abusedesk-redis-"))
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = None
        self.start()

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.dir),
            ],
            stdout=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
