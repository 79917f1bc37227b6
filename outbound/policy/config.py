"""A PolicyServer configured from the settings (read when the server starts),
with the database lookups behind cache misses and the drain trigger."""

import asyncio
import logging
import socket

import django_rq
from django.conf import settings
from django.db import close_old_connections
from django.utils import timezone

from accounts.status_cache import status_cache_accounts_sync
from outbound import selectors
from outbound.policy.counters import PREFIX
from outbound.policy.decide import Limits
from outbound.policy.protocol import parse_networks
from outbound.policy.server import PolicyConfig
from outbound.trace import trace_key

logger = logging.getLogger(__name__)

DRAIN_FLAG = f"{PREFIX}:drain-scheduled"


def _login_lookup(login: str) -> tuple[int | None, str | None]:
    close_old_connections()
    found = selectors.account_by_login(login=login)
    if found[0] is not None:
        # Written back so other servers, and the next message, hit the cache.
        status_cache_accounts_sync(subscriber_ids=[found[0]])
    return found


def _address_lookup(address: str) -> tuple[int | None, str | None]:
    close_old_connections()
    return selectors.account_by_address(address=address, at=timezone.now())


def _enqueue_drain() -> None:
    from outbound.jobs import submissions_drain_job

    django_rq.get_queue("default").enqueue(submissions_drain_job)


def policy_config(*, relay_host: str = "", enqueue_drain: bool = True) -> PolicyConfig:
    config = PolicyConfig(
        limits=Limits(
            webmail_cap=settings.ABUSE_WEBMAIL_RECIPIENT_CAP,
            burst_messages=settings.ABUSE_BURST_MESSAGES,
            burst_recipients=settings.ABUSE_BURST_RECIPIENTS,
            burst_minutes=settings.ABUSE_BURST_WINDOW_MINUTES,
            login_networks=settings.ABUSE_LOGIN_NETWORKS_PER_HOUR,
            hold_suspect_logins=settings.ABUSE_HOLD_SUSPECT_LOGINS,
            contact=settings.ABUSE_POLICY_CONTACT,
        ),
        webmail_networks=parse_networks(settings.ABUSE_WEBMAIL_CLIENTS),
        fail_action=settings.ABUSE_POLICY_FAIL_ACTION,
        trace_header=settings.ABUSE_TRACE_HEADER,
        trace_key=trace_key(),
        relay_host=relay_host or socket.getfqdn(),
        redis_url=settings.REDIS_URL,
        login_lookup=_login_lookup,
        address_lookup=_address_lookup,
    )
    if enqueue_drain:
        config.on_flushed = drain_trigger
    return config


async def drain_trigger(client) -> None:
    """After records reach the stream, enqueue one drain job per second at most
    (across every policy server: the flag lives in Redis)."""
    try:
        if await client.set(DRAIN_FLAG, "1", nx=True, px=1000):
            await asyncio.to_thread(_enqueue_drain)
    except Exception:  # a failed enqueue: the next flush tries again
        logger.exception("drain job not enqueued")
