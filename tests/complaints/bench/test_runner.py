"""The benchmark runner's small helpers (the processes themselves are run by
``make bench-linking``)."""

from complaints.bench import runner


def test_bench_database_sits_beside_the_configured_one():
    url = "postgres://postgres@127.0.0.1:5432/abusedesk_sim"
    assert runner.bench_database_url(url) == (
        "postgres://postgres@127.0.0.1:5432/abusedesk_sim_bench_linking"
    )


def test_a_bench_database_url_is_used_as_it_is():
    url = "postgres://postgres@127.0.0.1:5432/abusedesk_bench_linking"
    assert runner.bench_database_url(url) == url


def test_env_file_lines_become_variables(tmp_path):
    path = tmp_path / "isp.env"
    path.write_text("# comment\nABUSE_TRACE_HEADER=X-VL-Trace\n\nA=b=c\n")
    assert runner.read_env_file(path) == {
        "ABUSE_TRACE_HEADER": "X-VL-Trace",
        "A": "b=c",
    }


def test_files_come_in_maildir_key_order_reversed_or_shuffled(tmp_path):
    for sub, name in (("new", "3.x"), ("cur", "1.x:2,S"), ("new", "2.x")):
        (tmp_path / sub).mkdir(exist_ok=True)
        (tmp_path / sub / name).write_text("x")
    names = [p.name for p in runner.ordered_files(tmp_path, "maildir", 1)]
    assert names == ["1.x:2,S", "2.x", "3.x"]
    assert [p.name for p in runner.ordered_files(tmp_path, "reversed", 1)] == names[
        ::-1
    ]
    shuffled = [p.name for p in runner.ordered_files(tmp_path, "shuffled", 1)]
    assert sorted(shuffled) == sorted(names)
    assert shuffled == [p.name for p in runner.ordered_files(tmp_path, "shuffled", 1)]
