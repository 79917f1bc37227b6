"""Parse email files with the ingest parser and print what it found.

``manage.py parse_report [--json] [--trace-header NAME] PATH...``: each PATH
is a file or a directory (every file below it, sorted). Nothing is stored:
the command never touches the database, so it is safe on production data.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from complaints.ingest import Kind, Report, classify


def iter_paths(paths: list[str]) -> list[Path]:
    """Expand directories into the sorted files below them."""
    found: list[Path] = []
    for name in paths:
        path = Path(name)
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*") if p.is_file()))
        else:
            found.append(path)
    return found


def report_for(path: Path, trace_header: str) -> Report:
    """Classify one file; an unreadable file becomes an ``other`` report."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return Report(kind=Kind.OTHER, error=f"unreadable: {exc.strerror or exc}")
    return classify(raw, trace_header=trace_header)


def json_line(path: Path, report: Report) -> str:
    return json.dumps({"file": str(path), **report.to_json_dict()}, ensure_ascii=False)


def human_summary(path: Path, report: Report) -> str:
    lines = [f"{path}: {report.kind}"]
    details: dict[str, Any] = {
        "feedback type": report.feedback_type,
        "source": report.complaint_source,
        "reporter": report.reporter,
        "subject": report.subject,
        "error": report.error,
    }
    lines += [f"  {label}: {value}" for label, value in details.items() if value]
    for rcpt in report.recipients:
        hard = "hard" if rcpt.is_hard else "soft"
        lines.append(
            f"  - {rcpt.address} {rcpt.action or '-'} {rcpt.status or '-'} "
            f"{rcpt.reason} ({hard})"
        )
        if rcpt.diagnostic:
            lines.append(f"      {rcpt.diagnostic[:160]}")
    if report.original:
        for label, value in report.original.to_json_dict().items():
            if value:
                lines.append(f"  original {label}: {value}")
    return "\n".join(lines)


class Command(BaseCommand):
    help = "Parse email files (or directories of them) and print the reports."
    requires_system_checks: list[str] = []
    requires_migrations_checks = False

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("paths", nargs="+", metavar="PATH")
        parser.add_argument(
            "--json", action="store_true", help="one JSON line per file"
        )
        parser.add_argument(
            "--trace-header",
            default="X-Abuse-Trace",
            help="header the ISP stamps on outgoing mail (default: X-Abuse-Trace)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            for path in iter_paths(options["paths"]):
                report = report_for(path, options["trace_header"])
                if options["json"]:
                    self.stdout.write(json_line(path, report))
                else:
                    self.stdout.write(human_summary(path, report) + "\n")
        except BrokenPipeError:
            # Piped into head or a pager that quit: stop quietly, as Unix tools do.
            sys.stderr.close()
