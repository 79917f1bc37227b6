"""Compile the parser's modules with Cython: ``python -m abusedesk.compile_parser``.

The modules of ``complaints/ingest`` are compiled as they are written (plain
Python; type annotations are not used as C types, so the compiled code
accepts exactly what the source does) into ``complaints/ingest/_compiled/``,
with a manifest of the sources' hashes. ``complaints.ingest.compiled``
imports them only while that manifest matches the sources; the pure-Python
modules stay the reference and the fallback. ``make`` runs it with
``--if-stale`` before the targets that parse mail (the same check the import
makes, so an up-to-date build costs a second of hashing); ``make run`` adds
``--optional``, which lets the desk start as pure Python where no compiler
is. It needs a C compiler and Python's headers (Debian: ``gcc``,
``python3-dev``); the build happens in a temporary directory and replaces the
previous one only once it is complete.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = Path("complaints") / "ingest"
# Plain Python semantics, compiled: annotations stay documentation.
DIRECTIVES = {"language_level": 3, "annotation_typing": False, "binding": True}


def build(jobs: int) -> tuple[int, float]:
    """Compile every module; returns how many, and the seconds it took."""
    from Cython.Build import cythonize
    from setuptools import Distribution, Extension
    from setuptools.command.build_ext import build_ext

    from complaints.ingest import compiled

    started = time.monotonic()
    package_dir = ROOT / PACKAGE
    names = compiled.compiled_module_names(package_dir)
    # The hashes are taken before compiling: a module edited meanwhile then
    # no longer matches, and its stale build is never imported.
    recorded = compiled.manifest(package_dir, names)
    os.chdir(ROOT)  # Cython names each module from its package path
    with tempfile.TemporaryDirectory(prefix="compile-parser-") as scratch:
        work = Path(scratch)
        extensions = cythonize(
            [
                Extension(
                    f"complaints.ingest.{name}",
                    [str(PACKAGE / f"{name}.py")],
                    # The generated C warns of what is fine in it.
                    extra_compile_args=["-w"],
                )
                for name in names
            ],
            build_dir=str(work / "c"),
            compiler_directives=DIRECTIVES,
            nthreads=jobs,
            quiet=True,
        )
        command = build_ext(Distribution({"ext_modules": extensions}))
        command.build_lib = str(work / "lib")
        command.build_temp = str(work / "temp")
        command.parallel = jobs
        command.ensure_finalized()
        command.run()
        # Beside the target, so that putting it in place is a rename; named
        # apart, so that two builds at once do not write into one directory.
        fresh = Path(tempfile.mkdtemp(prefix="_compiled.new-", dir=package_dir))
        for library in (work / "lib" / PACKAGE).iterdir():
            shutil.copy2(library, fresh / library.name)
        (fresh / compiled.MANIFEST_NAME).write_text(json.dumps(recorded, indent=1))
        _put_in_place(fresh, package_dir / compiled.COMPILED_DIR_NAME)
    return len(names), time.monotonic() - started


def _put_in_place(fresh: Path, target: Path) -> None:
    """Replace ``target`` with ``fresh``. A running process keeps the files it
    loaded; processes started afterwards load the new ones. When another build
    put its own in place meanwhile, that one stays and this one is dropped."""
    old = target.with_name(f"{fresh.name}.old")
    try:
        target.rename(old)
    except FileNotFoundError:
        pass
    try:
        fresh.rename(target)
    except OSError:  # another build's directory is there now
        shutil.rmtree(fresh, ignore_errors=True)
    shutil.rmtree(old, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument(
        "--if-stale",
        action="store_true",
        help="only when the build is missing or stale",
    )
    parser.add_argument(
        "--optional", action="store_true", help="a failed build is a warning"
    )
    options = parser.parse_args(argv)
    # setuptools logs every compiler command line; only trouble is news.
    logging.basicConfig(level=logging.WARNING)
    sys.path.insert(0, str(ROOT))
    # The pure-Python package decides nothing here; importing it must not
    # pick up the build being replaced.
    os.environ["ABUSE_PARSER_COMPILED"] = "0"
    from complaints.ingest import compiled

    if options.if_stale:
        found, reason = compiled.usable_compiled_dir(ROOT / PACKAGE, {})
        if found is not None:
            return 0
        sys.stdout.write(
            f"compile_parser: {reason}; compiling the parser (about a minute, once)\n"
        )
    try:
        count, seconds = build(options.jobs)
    except Exception as exc:  # noqa: BLE001 - any build failure is reported the same way
        sys.stderr.write(
            f"compile_parser: the build failed ({type(exc).__name__}: {exc}). The "
            "parser runs as pure Python, slower. It needs a C compiler and "
            "Python's headers (Debian: apt-get install gcc python3-dev).\n"
        )
        return 0 if options.optional else 1
    sys.stdout.write(
        f"compile_parser: {count} modules of {PACKAGE} compiled in {seconds:.0f} s\n"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
