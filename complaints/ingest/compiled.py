"""Which copy of this package's modules is imported: compiled or pure Python.

``make`` compiles the parser's modules with Cython (``abusedesk.compile_parser``)
into ``_compiled/`` beside them: the same source, at about 15 % less CPU a
message (``bench_parse``). That directory goes first on the package's ``__path__`` only
when every module in it was compiled from the source that is beside it now,
for this interpreter; an edited module thus never runs as its older compiled
self. Otherwise, and with ``ABUSE_PARSER_COMPILED=0``, the pure-Python modules
are imported, which behave the same (a test compares the two on the corpus).

The check is all or nothing, and costs about a millisecond at import: one
hash of each module's source.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping
from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path

COMPILED_DIR_NAME = "_compiled"
MANIFEST_NAME = "SOURCES.json"
# Not compiled: this module (it decides), the package's ``__init__``, the
# report dataclasses (pickled into jobs; nothing there runs per message) and
# the corpus scoring of the benchmarks and tests.
PURE_MODULES = frozenset({"__init__", "compiled", "report", "scoring"})

logger = logging.getLogger("complaints.ingest")


def compiled_module_names(package_dir: Path) -> list[str]:
    """The package's modules that are compiled, by name."""
    return sorted(
        path.stem for path in package_dir.glob("*.py") if path.stem not in PURE_MODULES
    )


def source_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def manifest(package_dir: Path, names: list[str]) -> dict[str, object]:
    """What a build records of the sources it compiled and the interpreter."""
    return {
        "extension_suffix": EXTENSION_SUFFIXES[0],
        "modules": {name: source_digest(package_dir / f"{name}.py") for name in names},
    }


def usable_compiled_dir(
    package_dir: Path, environ: Mapping[str, str]
) -> tuple[Path | None, str]:
    """The compiled directory to import from, or None, with the reason."""
    if environ.get("ABUSE_PARSER_COMPILED", "1").strip().lower() in (
        "0",
        "false",
        "no",
        "off",
    ):
        return None, "turned off by ABUSE_PARSER_COMPILED"
    compiled_dir = package_dir / COMPILED_DIR_NAME
    try:
        recorded = json.loads((compiled_dir / MANIFEST_NAME).read_text())
    except FileNotFoundError:
        return None, "not built"
    except (OSError, ValueError) as exc:
        return None, f"unreadable manifest ({exc})"
    if recorded.get("extension_suffix") != EXTENSION_SUFFIXES[0]:
        return None, "built for another interpreter"
    modules = recorded.get("modules") or {}
    if sorted(modules) != compiled_module_names(package_dir):
        return None, "stale: the package's modules changed"
    for name, digest in modules.items():
        source = package_dir / f"{name}.py"
        if source_digest(source) != digest:
            return None, f"stale: {name}.py changed since it was compiled"
        if not (compiled_dir / f"{name}{EXTENSION_SUFFIXES[0]}").exists():
            return None, f"incomplete: {name} is missing"
    return compiled_dir, "compiled"


def choose(package_path: list[str], environ: Mapping[str, str]) -> str:
    """Put the compiled directory first on ``package_path`` when usable; the
    reason is returned (``"compiled"`` when it is used)."""
    package_dir = Path(package_path[-1])
    compiled_dir, reason = usable_compiled_dir(package_dir, environ)
    if compiled_dir is not None:
        package_path.insert(0, str(compiled_dir))
    elif reason.startswith(("stale", "incomplete", "built for", "unreadable")):
        logger.warning(
            "the compiled parser is not used (%s): running the pure-Python "
            "modules, slower; `make` or `python -m abusedesk.compile_parser` "
            "rebuilds it",
            reason,
        )
    return reason
