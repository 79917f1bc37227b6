"""Running a PolicyServer until SIGTERM or SIGINT, with the status cache loaded
when it starts and reloaded every few minutes."""

import asyncio
import logging
import signal
import time

from accounts.status_cache import status_cache_load
from outbound.policy.server import PolicyConfig, PolicyServer

logger = logging.getLogger(__name__)

RELOAD_SECONDS = 300


def run(coroutine):
    """Run ``coroutine`` on uvloop when it is installed (a faster socket layer),
    else on asyncio's own loop."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coroutine)
    return uvloop.run(coroutine)


def parse_listen(value: str) -> tuple[str, int]:
    """``HOST:PORT``, ``[v6]:PORT`` or ``v6:addr:PORT``."""
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(f"--listen {value!r}: expected HOST:PORT")
    return host.strip("[]") or "127.0.0.1", int(port)


async def _reload_loop() -> None:
    while True:
        try:
            count = await asyncio.to_thread(status_cache_load, now=time.time())
            logger.info("status cache loaded: %s logins", count)
        except Exception:  # Redis or PostgreSQL down: the misses fall back
            logger.exception("status cache not loaded")
        await asyncio.sleep(RELOAD_SECONDS)


async def serve(
    config: PolicyConfig,
    listens: list[tuple[str, int]],
    *,
    load_cache: bool = True,
    ready=None,
) -> PolicyServer:
    server = PolicyServer(config)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    bound = await server.start(listens)
    reload = asyncio.ensure_future(_reload_loop()) if load_cache else None
    for host, port in bound:
        logger.info("policy server listening on %s port %s", host, port)
    if ready is not None:
        ready(bound)
    await stop.wait()
    logger.info("policy server stopping")
    if reload is not None:
        reload.cancel()
    await server.stop()
    logger.info(
        "policy server stopped: %s decisions, %s answered without a decision",
        server.stats.decisions,
        server.stats.failures,
    )
    return server
