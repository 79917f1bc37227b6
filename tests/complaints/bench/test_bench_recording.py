"""``manage.py bench_recording`` measures the pipeline and leaves nothing behind."""

import json
from io import StringIO

import pytest
from django.core.management import call_command

from complaints.models import Complaint, InboundMessage, Mailing

pytestmark = pytest.mark.django_db(transaction=True)


def test_it_prints_its_figures_writes_decisions_and_rolls_back(tmp_path):
    out = StringIO()
    decisions = tmp_path / "decisions.jsonl"
    call_command(
        "bench_recording",
        "--messages=40",
        "--subscribers=20",
        "--mailings=5",
        f"--decisions={decisions}",
        stdout=out,
    )
    printed = out.getvalue()
    assert "{'processed': 40}" in printed
    assert "linking_recording_cpu_us_per_message=" in printed.splitlines()[-1]
    lines = [json.loads(line) for line in decisions.read_text().splitlines()]
    assert sum(1 for line in lines if line.get("state") == "processed") == 40
    assert all(line.get("mailing") for line in lines if "link_note" in line)
    assert not InboundMessage.objects.exists()
    assert not Complaint.objects.exists()
    assert not Mailing.objects.exists()
