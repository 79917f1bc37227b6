"""complaints.linking.trace: readable pairs and opaque tokens."""

import pytest

from complaints.linking.trace import read_trace


@pytest.mark.parametrize(
    ("value", "login", "account", "token"),
    [
        ("login=Bob; account=A1001", "bob", "A1001", "login=Bob;account=A1001"),
        ("user=carol", "carol", None, "user=carol"),
        (
            "9f2c4e7a1b3d5f60",
            "9f2c4e7a1b3d5f60",
            "9f2c4e7a1b3d5f60",
            "9f2c4e7a1b3d5f60",
        ),
        ("", None, None, None),
        (None, None, None, None),
    ],
)
def test_trace_header_gives_login_account_and_token(value, login, account, token):
    facts = read_trace(value)
    assert (facts.login, facts.account, facts.token) == (login, account, token)
