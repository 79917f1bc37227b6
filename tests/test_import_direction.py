"""STYLE.md's import rule, read from the source: ``complaints`` may import
``accounts``, never the reverse; neither imports ``outbound``; the simulator
imports nothing of the desk."""

import ast
from pathlib import Path

import pytest
from django.conf import settings

FORBIDDEN = {
    "accounts": {"complaints", "outbound", "abusedesk.demo"},
    "complaints": {"outbound", "abusedesk.demo"},
    "simulator": {"accounts", "complaints", "outbound", "abusedesk", "django"},
}


def _imported(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
    return names


def _breaks(name: str, forbidden: set[str]) -> bool:
    return any(name == f or name.startswith(f + ".") for f in forbidden)


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_imports_go_one_way(package):
    found = [
        f"{path.relative_to(settings.BASE_DIR)} imports {name}"
        for path in sorted((Path(settings.BASE_DIR) / package).rglob("*.py"))
        if "migrations" not in path.parts
        for name in sorted(_imported(path))
        if _breaks(name, FORBIDDEN[package])
    ]
    assert found == []
