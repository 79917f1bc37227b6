"""complaints.ingest.evidence: the IPv4 pattern finds what its former form did."""

import re

from complaints.ingest import evidence

from .conftest import same_matches


def test_the_ipv4_pattern_finds_what_its_look_behind_form_found(probe_texts):
    old = re.compile(r"(?<![\d.])(\d{1,3}(?:\.\d{1,3}){3})(?![\d.])")
    for text in probe_texts("0129..... x[]"):
        assert same_matches(old, evidence._IPV4_RE, text), repr(text)
