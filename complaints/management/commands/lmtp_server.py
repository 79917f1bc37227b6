"""``manage.py lmtp_server --listen 127.0.0.1:2424``: the LMTP channel, for an MTA
to deliver the abuse and bounce addresses to (see complaints/lmtp.py and the
README's "How mail gets in"). Runs until SIGTERM or SIGINT."""

import os
import socket

from django.core.management.base import BaseCommand, CommandError

from complaints.lmtp import ServerConfig, parse_listen, run, serve

# libpq waits for ever for an unreachable server by default; a delivery must
# get its 451 in seconds instead, and the MTA retries later.
CONNECT_TIMEOUT_SECONDS = "10"


class Command(BaseCommand):
    help = (
        "Accept mail over LMTP: 250 per recipient once the message is committed, "
        "451 when it cannot be stored, 552 when too large."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--listen",
            default="127.0.0.1:2424",
            help="HOST:PORT to listen on (default 127.0.0.1:2424; port 0 picks one).",
        )
        parser.add_argument(
            "--threads",
            type=int,
            default=1,
            help="Transactions storing at once, each thread with its own database "
            "connection (default 1: arrivals meanwhile share the next commit, "
            "and more threads cost CPU in lock contention; raise it for a "
            "database far away).",
        )
        parser.add_argument(
            "--timeout",
            type=float,
            default=300.0,
            help="Seconds an idle client keeps its connection (default 300).",
        )

    def handle(self, *args, listen: str, threads: int, timeout: float, **options):
        try:
            host, port = parse_listen(listen)
        except ValueError as error:
            raise CommandError(str(error)) from error
        os.environ.setdefault("PGCONNECT_TIMEOUT", CONNECT_TIMEOUT_SECONDS)
        config = ServerConfig(
            host=host,
            port=port,
            threads=threads,
            timeout=timeout,
            hostname=socket.getfqdn(),
        )

        def ready(bound: tuple[str, int]) -> None:
            self.stdout.write(f"lmtp server listening on {bound[0]}:{bound[1]}")
            self.stdout.flush()

        try:
            run(serve(config, ready=ready))
        except OSError as error:
            raise CommandError(f"Cannot listen on {listen}: {error}") from error
