"""Putting a finished parser build in place (the build itself runs in every
``make test``, which then requires the suite to run on it)."""

from abusedesk.compile_parser import _put_in_place


def _build_dir(parent, name, marker):
    directory = parent / name
    directory.mkdir()
    (directory / "SOURCES.json").write_text(marker)
    return directory


def test_a_new_build_replaces_the_old_one(tmp_path):
    target = _build_dir(tmp_path, "_compiled", "old")
    fresh = _build_dir(tmp_path, "_compiled.new-a", "new")
    _put_in_place(fresh, target)
    assert (target / "SOURCES.json").read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["_compiled"]


def test_the_first_build_is_put_in_place(tmp_path):
    fresh = _build_dir(tmp_path, "_compiled.new-a", "new")
    _put_in_place(fresh, tmp_path / "_compiled")
    assert (tmp_path / "_compiled" / "SOURCES.json").read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["_compiled"]
