"""Parse email files with the ingest parser and print what it found.

``manage.py parse_report [--json] [--trace-header NAME] PATH...``: each PATH
is a message file, an mbox file (every message in it), a Maildir folder
(``cur/`` and ``new/``) or a directory (every file below it, sorted). With
``--json`` each message is one line carrying its ``file`` and its ``index``
within that file (0 for a single message). Nothing is stored: the command
never touches the database, so it is safe on production data, and
``manage.py`` lets it run without ``DJANGO_SECRET_KEY``.
"""

from __future__ import annotations

import json
import mailbox
import sys
from collections.abc import Iterator
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


def _is_maildir(path: Path) -> bool:
    return (path / "cur").is_dir() and (path / "new").is_dir()


def _is_mbox(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(5) == b"From "


def _mbox_messages(path: Path) -> Iterator[bytes]:
    box = mailbox.mbox(path, factory=None, create=False)
    try:
        for key in box.iterkeys():
            raw = box.get_bytes(key)
            # In a CRLF mbox the separating blank line stays on the message.
            yield raw[:-2] if raw.endswith(b"\r\n\r\n") else raw
    finally:
        box.close()


def iter_messages(paths: list[str]) -> Iterator[tuple[Path, int, bytes | OSError]]:
    """Every message named by ``paths``: (file, index in it, bytes or error)."""
    for name in paths:
        path = Path(name)
        if path.is_dir() and _is_maildir(path):
            box = mailbox.Maildir(path, factory=None, create=False)
            for index, key in enumerate(sorted(box.iterkeys())):
                yield path, index, box.get_bytes(key)
            continue
        for file in iter_paths([name]):
            try:
                if not _is_mbox(file):
                    yield file, 0, file.read_bytes()
                    continue
                for index, raw in enumerate(_mbox_messages(file)):
                    yield file, index, raw
            except OSError as exc:
                yield file, 0, exc


def report_for(raw: bytes | OSError, trace_header: str) -> Report:
    """Classify one message; an unreadable file becomes an ``other`` report."""
    if isinstance(raw, OSError):
        return Report(kind=Kind.OTHER, error=f"unreadable: {raw.strerror or raw}")
    return classify(raw, trace_header=trace_header)


def json_line(path: Path, index: int, report: Report) -> str:
    data = {"file": str(path), "index": index, **report.to_json_dict()}
    return json.dumps(data, ensure_ascii=False)


def human_summary(path: Path, index: int, report: Report) -> str:
    where = f"{path}[{index}]" if index else str(path)
    lines = [f"{where}: {report.kind}"]
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
            "--json", action="store_true", help="one JSON line per message"
        )
        parser.add_argument(
            "--trace-header",
            default="X-Abuse-Trace",
            help="header the ISP stamps on outgoing mail (default: X-Abuse-Trace)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            for path, index, raw in iter_messages(options["paths"]):
                report = report_for(raw, options["trace_header"])
                if options["json"]:
                    self.stdout.write(json_line(path, index, report))
                else:
                    self.stdout.write(human_summary(path, index, report) + "\n")
        except BrokenPipeError:
            # Piped into head or a pager that quit: stop quietly, as Unix tools do.
            sys.stderr.close()
