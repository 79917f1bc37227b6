"""Write a simulated ISP abuse mailbox and its ground truth (see ``simulator``).

Thin on purpose: the generator is a standalone package that imports nothing from
the desk; this command only passes the options on.
"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

import simulator


class Command(BaseCommand):
    help = (
        "Generate a realistic abuse mailbox with its truth, for the linking benchmark."
    )
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--out", type=Path, required=True)
        parser.add_argument("--scale", choices=simulator.SCALES, default="default")

    def handle(self, *args, seed: int, out: Path, scale: str, **options):
        try:
            counts = simulator.generate(seed=seed, out=out, scale=scale)
        except FileExistsError as error:
            raise CommandError(f"{error}; choose an empty directory.") from error
        self.stdout.write(
            f"wrote {counts['files']} messages and {counts['mailings']} true mailings "
            f"to {out} (seed {seed}, scale {scale})"
        )
