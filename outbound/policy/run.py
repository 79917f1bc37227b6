"""Running a PolicyServer until SIGTERM or SIGINT, with the status cache loaded
when it starts and reloaded every few minutes; or several of them, one per
process, on the same ports (SO_REUSEPORT: the kernel spreads the connections).
"""

import asyncio
import gc
import logging
import os
import signal
import socket
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
    sockets: list[socket.socket] | None = None,
) -> PolicyServer:
    server = PolicyServer(config)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    bound = await server.start(listens, sockets=sockets)
    _settle_garbage_collector()
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


def _settle_garbage_collector() -> None:
    """Move what start-up allocated (Django, the settings, the modules) out of
    the collector's sight, and let it run less often: a decision allocates
    thousands of short-lived objects but no cycles, and each collection of the
    youngest generation walks every one of them. Measured: about a twentieth
    of the server's CPU went to the collector before."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 50, 100)


def bind_listeners(listens: list[tuple[str, int]]) -> list[socket.socket]:
    """Listening sockets that other processes may bind to the same port too."""
    sockets = []
    for host, port in listens:
        family, kind, proto, _name, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        sock = socket.socket(family, kind, proto)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind(address)
        sock.listen(1024)
        sock.setblocking(False)
        sockets.append(sock)
    return sockets


def serve_processes(
    config: PolicyConfig,
    listens: list[tuple[str, int]],
    *,
    processes: int,
    load_cache: bool = True,
    ready=None,
) -> int:
    """Run ``processes`` servers, each a process of its own with its own event
    loop, Redis connections and record buffer, listening on the same ports.
    SIGTERM or SIGINT is passed to each, which stops as a single server does.
    Should one exit on its own, the others are stopped too and the exit status
    is 1, so the service manager restarts the whole set. Only the first loads
    the status cache (every load makes every server reread its statuses)."""
    first = bind_listeners(listens)
    bound = [sock.getsockname()[:2] for sock in first]
    children: list[int] = []
    stopping = False

    def forward(signum, _frame) -> None:
        nonlocal stopping
        stopping = True
        for pid in children:
            try:
                os.kill(pid, signum)
            except ProcessLookupError:
                pass

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, forward)
    for index in range(processes):
        pid = os.fork()
        if pid == 0:  # pragma: no branch - the child never returns
            _child(config, first, bound, index=index, load_cache=load_cache)
        children.append(pid)
    for sock in first:
        sock.close()
    if ready is not None:
        ready(bound)
    status = 0
    while children:
        pid, wait_status = os.wait()
        if pid not in children:
            continue
        children.remove(pid)
        if os.waitstatus_to_exitcode(wait_status) != 0 or not stopping:
            status = 1
            if not stopping:
                logger.error("policy server process %s exited; stopping the rest", pid)
                forward(signal.SIGTERM, None)
    return status


def _child(config, first, bound, *, index: int, load_cache: bool):
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, signal.SIG_DFL)
    code = 1
    try:
        if index == 0:
            sockets = first
        else:
            sockets = bind_listeners(bound)
            for sock in first:
                sock.close()
        run(serve(config, [], sockets=sockets, load_cache=load_cache and index == 0))
        code = 0
    except Exception:
        logger.exception("policy server process failed")
    finally:
        logging.shutdown()
        os._exit(code)
