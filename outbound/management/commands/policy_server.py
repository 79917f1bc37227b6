"""Run the Postfix policy service: ``manage.py policy_server --listen
127.0.0.1:10040 [--listen [::1]:10040]``. SIGTERM finishes the requests in
flight, writes the buffered records and exits."""

import sys

from django.core.management.base import BaseCommand, CommandError

from outbound.policy.config import policy_config
from outbound.policy.run import parse_listen, run, serve, serve_processes


class Command(BaseCommand):
    help = "Run the Postfix policy delegation service (smtpd_data_restrictions)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--listen",
            action="append",
            default=[],
            help="HOST:PORT to listen on (IPv4 or [IPv6]); repeat for several",
        )
        parser.add_argument(
            "--relay-host",
            default="",
            help="name of the relay this server decides for (default: this host)",
        )
        parser.add_argument(
            "--no-drain-jobs",
            action="store_true",
            help="do not enqueue drain jobs (drain the stream some other way)",
        )
        parser.add_argument(
            "--processes",
            type=int,
            default=1,
            help="server processes sharing the ports (SO_REUSEPORT); 1 runs in "
            "this process",
        )
        parser.add_argument(
            "--no-cache-load",
            action="store_true",
            help="do not load the account-status cache at start",
        )

    def handle(self, *args, **options):
        try:
            listens = [
                parse_listen(v) for v in options["listen"] or ["127.0.0.1:10040"]
            ]
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        config = policy_config(
            relay_host=options["relay_host"],
            enqueue_drain=not options["no_drain_jobs"],
        )

        def ready(bound):
            for host, port in bound:
                self.stdout.write(f"listening on {host} port {port}")
            sys.stdout.flush()

        load_cache = not options["no_cache_load"]
        if options["processes"] > 1:
            sys.exit(
                serve_processes(
                    config,
                    listens,
                    processes=options["processes"],
                    load_cache=load_cache,
                    ready=ready,
                )
            )
        run(serve(config, listens, load_cache=load_cache, ready=ready))
