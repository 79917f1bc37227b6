"""The compiled parser: used only when built from the source beside it, and
reporting exactly what the pure-Python modules report."""

import json
import os
import random
import subprocess
import sys
from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path

import pytest

import complaints.ingest
from complaints.ingest import compiled

ROOT = Path(__file__).resolve().parents[3]
PACKAGE_DIR = ROOT / "complaints" / "ingest"
SAMPLE_DIRS = [
    ROOT / "tests" / "fixtures" / "emails",
    ROOT / "tests" / "fixtures" / "corpus" / "messages",
    ROOT / ".samples" / "flufl",
    ROOT / ".samples" / "bounceparser",
]
REQUIRED = os.environ.get("ABUSE_REQUIRE_COMPILED_PARSER") == "1"


def _package(tmp_path: Path, names=("alpha", "beta")) -> Path:
    package = tmp_path / "pkg"
    package.mkdir()
    for name in ("__init__", "report", *names):
        (package / f"{name}.py").write_text(f"# {name}\n")
    return package


def _build(package: Path, names=("alpha", "beta")) -> Path:
    built = package / compiled.COMPILED_DIR_NAME
    built.mkdir()
    for name in names:
        (built / f"{name}{EXTENSION_SUFFIXES[0]}").write_bytes(b"")
    manifest = compiled.manifest(package, list(names))
    (built / compiled.MANIFEST_NAME).write_text(json.dumps(manifest))
    return built


def test_a_build_matching_its_sources_is_used(tmp_path):
    package = _package(tmp_path)
    built = _build(package)
    assert compiled.usable_compiled_dir(package, {}) == (built, "compiled")
    path = [str(package)]
    assert compiled.choose(path, {}) == "compiled"
    assert path == [str(built), str(package)]


def test_no_build_means_the_pure_modules():
    package = Path("/nonexistent/pkg")
    assert compiled.usable_compiled_dir(package, {}) == (None, "not built")


@pytest.mark.parametrize("value", ["0", "false", "no", "off", " OFF "])
def test_the_build_is_not_used_when_turned_off(tmp_path, value):
    package = _package(tmp_path)
    _build(package)
    found, reason = compiled.usable_compiled_dir(
        package, {"ABUSE_PARSER_COMPILED": value}
    )
    assert found is None and "turned off" in reason


def test_an_edited_module_makes_the_whole_build_stale(tmp_path, caplog):
    package = _package(tmp_path)
    _build(package)
    (package / "beta.py").write_text("# beta, edited\n")
    path = [str(package)]
    reason = compiled.choose(path, {})
    assert reason == "stale: beta.py changed since it was compiled"
    assert path == [str(package)]
    assert "not used" in caplog.text and "rebuilds it" in caplog.text


def test_a_module_added_since_the_build_makes_it_stale(tmp_path):
    package = _package(tmp_path)
    _build(package)
    (package / "gamma.py").write_text("# gamma\n")
    assert compiled.usable_compiled_dir(package, {})[0] is None


def test_a_missing_library_makes_the_build_incomplete(tmp_path):
    package = _package(tmp_path)
    built = _build(package)
    (built / f"alpha{EXTENSION_SUFFIXES[0]}").unlink()
    assert compiled.usable_compiled_dir(package, {}) == (
        None,
        "incomplete: alpha is missing",
    )


def test_a_build_for_another_interpreter_is_not_used(tmp_path):
    package = _package(tmp_path)
    built = _build(package)
    manifest = json.loads((built / compiled.MANIFEST_NAME).read_text())
    manifest["extension_suffix"] = ".cpython-39-x86_64-linux-gnu.so"
    (built / compiled.MANIFEST_NAME).write_text(json.dumps(manifest))
    assert compiled.usable_compiled_dir(package, {}) == (
        None,
        "built for another interpreter",
    )


def test_an_unreadable_manifest_is_not_trusted(tmp_path):
    package = _package(tmp_path)
    built = _build(package)
    (built / compiled.MANIFEST_NAME).write_text("{not json")
    found, reason = compiled.usable_compiled_dir(package, {})
    assert found is None and reason.startswith("unreadable manifest")


def test_the_modules_left_pure_are_never_compiled(tmp_path):
    package = _package(tmp_path, names=("alpha", "compiled", "scoring"))
    assert compiled.compiled_module_names(package) == ["alpha"]


def test_make_test_runs_the_compiled_parser():
    # `make test` builds it first and sets ABUSE_REQUIRE_COMPILED_PARSER.
    if not REQUIRED:
        pytest.skip("ABUSE_REQUIRE_COMPILED_PARSER is not set")
    assert complaints.ingest.COMPILED
    assert complaints.ingest.parse.__file__.endswith(EXTENSION_SUFFIXES[0])


def _reports(paths: list[Path], *, compiled_parser: bool) -> list[dict]:
    """parse_report --json over ``paths`` in a bare environment."""
    env = {
        "PATH": os.environ["PATH"],
        "ABUSE_PARSER_COMPILED": "1" if compiled_parser else "0",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "parse_report", "--json", *map(str, paths)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr.decode()[-2000:]
    return [json.loads(line) for line in result.stdout.splitlines()]


def _require_build() -> None:
    if not compiled.usable_compiled_dir(PACKAGE_DIR, {})[0]:
        if REQUIRED:
            pytest.fail("the compiled parser is not built or is stale")
        pytest.skip("the compiled parser is not built or is stale (make builds it)")


def _assert_same(paths: list[Path]) -> None:
    pure = _reports(paths, compiled_parser=False)
    fast = _reports(paths, compiled_parser=True)
    assert len(pure) == len(fast) > 0
    differing = [p["file"] for p, f in zip(pure, fast, strict=True) if p != f]
    # Cython's strictness about types would show here as an error report
    # the pure modules do not give.
    assert differing == []


def test_compiled_and_pure_parsers_report_the_same_on_every_sample():
    _require_build()
    _assert_same([path for path in SAMPLE_DIRS if path.exists()])


def _mutated(raw: bytes, rng: random.Random) -> bytes:
    """``raw`` broken the ways hostile mail is: bytes flipped, inserted, cut
    or repeated, controls and stray boundaries put in."""
    data = bytearray(raw)
    nasty = [b"\x00", b"\r", b"\xff\xfe", b"=?utf-8?q?x", b"\n--\n", b"; charset*="]
    for _ in range(rng.randint(1, 6)):
        at = rng.randrange(len(data) or 1)
        action = rng.choice(["insert", "flip", "cut", "repeat", "nasty"])
        if action == "insert":
            data[at:at] = rng.randbytes(rng.randint(1, 40))
        elif action == "flip" and data:
            data[at] = rng.randrange(256)
        elif action == "cut":
            del data[at : at + rng.randint(1, 200)]
        elif action == "repeat":
            data[at:at] = data[at : at + rng.randint(1, 200)] * rng.randint(2, 5)
        else:
            data[at:at] = rng.choice(nasty)
    return bytes(data)


def test_compiled_and_pure_parsers_report_the_same_on_mutated_samples(tmp_path):
    _require_build()
    rng = random.Random(20261204)
    samples = sorted(
        path
        for directory in SAMPLE_DIRS
        if directory.exists()
        for path in directory.iterdir()
        if path.is_file() and path.suffix not in (".json", ".md", ".py")
    )
    for index, path in enumerate(rng.sample(samples, min(400, len(samples)))):
        (tmp_path / f"{index:04d}.eml").write_bytes(_mutated(path.read_bytes(), rng))
    _assert_same([tmp_path])
