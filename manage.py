#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""

import os
import secrets
import sys

# Commands that never touch the database or sign anything: they run in a
# bare checkout, so a throwaway key stands in for DJANGO_SECRET_KEY.
OFFLINE_COMMANDS = frozenset({"parse_report", "bench_parse"})


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "abusedesk.settings")
    if len(sys.argv) > 1 and sys.argv[1] in OFFLINE_COMMANDS:
        os.environ.setdefault("DJANGO_SECRET_KEY", secrets.token_urlsafe(50))
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
