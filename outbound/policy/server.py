"""The asyncio policy server: connections, one decision per request, shutdown.

Each connection carries many requests, answered in order. A request that is too
long, or a client that goes away mid-request, closes that connection only. The
common case touches Redis once (counters and cached status in one script call,
batched with the other connections' requests) and never PostgreSQL; a login the
cache does not know is looked up in the database once and written back.

When Redis or PostgreSQL fails, the answer is the configured fail action
(``ABUSE_POLICY_FAIL_ACTION``, DUNNO by default so mail flows), the failure is
logged and counted, and the decision is still recorded once Redis is back.
"""

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from json.encoder import encode_basestring_ascii as _json_str

import redis.asyncio as aioredis

from abusedesk.tracetoken import sign_fields
from outbound.policy import protocol
from outbound.policy.connection import PolicyConnection
from outbound.policy.counters import Batcher, Count, CountRequest
from outbound.policy.decide import Action, Facts, Limits, decide
from outbound.policy.recorder import Recorder
from outbound.policy.resp import RespClient

logger = logging.getLogger(__name__)

# A lookup for what the cache does not know: login -> (subscriber id, status),
# or client address -> the same; runs in a thread (it may query PostgreSQL).
Lookup = Callable[[str], tuple[int | None, str | None]]
NEGATIVE_SECONDS = 300
ADDRESS_SECONDS = 60
BREAKER_SECONDS = 1.0
# smtpd_data_restrictions run at DATA, and at the first BDAT of a CHUNKING client.
DECISION_STATES = frozenset({"DATA", "BDAT"})


@dataclass
class PolicyConfig:
    limits: Limits
    webmail_networks: tuple
    fail_action: str
    trace_header: str
    trace_key: bytes
    relay_host: str
    redis_url: str
    idle_timeout: float = 600.0
    login_lookup: Lookup | None = None
    address_lookup: Lookup | None = None
    on_flushed: Callable[[aioredis.Redis], Awaitable[None]] | None = None


@dataclass
class Stats:
    decisions: int = 0
    failures: int = 0
    closed_bad: int = 0
    by_action: dict[str, int] = field(default_factory=dict)


class PolicyServer:
    def __init__(self, config: PolicyConfig) -> None:
        self.config = config
        self.stats = Stats()
        self.client = aioredis.Redis.from_url(
            config.redis_url,
            socket_timeout=0.5,
            socket_connect_timeout=0.5,
            max_connections=8,
        )
        self.hot = RespClient(config.redis_url, timeout=0.5)
        self.batcher = Batcher(self.hot, window_ms=config.limits.burst_minutes * 60_000)
        self.recorder = Recorder(self.client, on_flushed=config.on_flushed)
        self.servers: list[asyncio.base_events.Server] = []
        self.connections: set[PolicyConnection] = set()
        self._negative: dict[str, float] = {}
        self._by_address: dict[str, tuple] = {}
        self._webmail: dict[str, bool] = {}
        self._prepend = protocol.reply(f"PREPEND {config.trace_header}:")[:-2] + b" "
        self._redis_down_until = 0.0
        self._closing = False
        self._sweeper: asyncio.Task | None = None
        self._lookups: set[asyncio.Task] = set()

    async def start(
        self, listens: list[tuple[str, int]], *, sockets: list | None = None
    ) -> list[tuple[str, int]]:
        """Listen on every (host, port), port 0 picking a free one, or on the
        listening ``sockets`` given (bound by the caller). Returns the addresses
        actually bound."""
        loop = asyncio.get_running_loop()
        bound = []
        places = [{"sock": sock} for sock in sockets or []] or [
            {"host": host, "port": port} for host, port in listens
        ]
        for place in places:
            server = await loop.create_server(
                lambda: PolicyConnection(self), backlog=1024, **place
            )
            self.servers.append(server)
            bound += [sock.getsockname()[:2] for sock in server.sockets]
        self.recorder.start()
        self._sweeper = asyncio.ensure_future(self._sweep_idle())
        return bound

    async def _sweep_idle(self) -> None:
        """Close connections idle longer than the idle timeout (Postfix closes its
        own after smtpd_policy_service_max_idle; this catches the others)."""
        every = min(30.0, self.config.idle_timeout / 2)
        while True:
            await asyncio.sleep(every)
            cutoff = time.monotonic() - self.config.idle_timeout
            for connection in list(self.connections):
                if not connection.is_busy and connection.last_active < cutoff:
                    connection.transport.close()

    async def stop(self, *, grace: float = 5.0) -> None:
        """Stop accepting, let each connection finish the request it is on, then
        close them and write the buffered records. Postfix reconnects to the next
        server."""
        self._closing = True
        if self._sweeper is not None:
            self._sweeper.cancel()
        for server in self.servers:
            server.close()
        deadline = time.monotonic() + grace
        while any(c.is_busy for c in self.connections) and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        for connection in list(self.connections):
            connection.transport.close()
        await self.recorder.stop(timeout=grace)
        self.hot.close()
        await self.client.aclose()

    def submit(self, attrs: dict[str, str], connection, slot: list) -> None:
        """Decide one request; ``connection.answer(slot, action)`` is called with
        the action (without the ``action=``), now or when Redis has replied."""
        if attrs.get("request") != "smtpd_access_policy":
            connection.answer(slot, "DUNNO")
            return
        state = attrs.get("protocol_state", "")
        if state not in DECISION_STATES and state.upper() not in DECISION_STATES:
            # Decisions are per message, where the recipient count is known.
            connection.answer(slot, "DUNNO")
            return
        decided_at = time.time()
        if time.monotonic() < self._redis_down_until:
            error = aioredis.ConnectionError("Redis marked down")
            connection.answer(slot, self._fail(attrs, decided_at, error))
            return
        login = attrs.get("sasl_username", "")
        if login:
            login = login.strip().lower()
        client = attrs.get("client_address", "").strip()
        recipients = protocol.as_count(attrs.get("recipient_count"))
        request = _new_request(
            CountRequest,
            (
                login,
                f"l:{login}" if login else f"a:{client}",
                protocol.client_network(client),
                recipients,
            ),
        )
        sender = (attrs, decided_at, login, client, recipients)

        def counted(count: Count | None, error: Exception | None) -> None:
            try:
                if error is not None:
                    # Answer at once for a moment instead of every request
                    # timing out.
                    self._redis_down_until = time.monotonic() + BREAKER_SECONDS
                    connection.answer(slot, self._fail(attrs, decided_at, error))
                    return
                if login and count.subscriber_id is not None:
                    known = count.subscriber_id, count.status
                else:
                    known = self._known(login, client)
                    if known is None:
                        self._spawn(self._looked_up(sender, count, slot, connection))
                        return
                connection.answer_reply(slot, self._decided(sender, count, known))
            except Exception:  # one broken request must not take the server down
                connection.fail()

        self.batcher.submit(request, counted)

    def _spawn(self, coroutine) -> None:
        task = asyncio.ensure_future(coroutine)
        self._lookups.add(task)
        task.add_done_callback(self._lookups.discard)

    def _decided(
        self,
        sender: tuple,
        count: Count,
        known: tuple[int | None, str | None],
    ) -> bytes:
        """The reply for a request whose counts and sender are known; records
        the decision."""
        attrs, decided_at, login, client, recipients = sender
        decision = decide(
            Facts(
                status=known[1],
                is_webmail=self._is_webmail(client),
                recipient_count=recipients,
                window_messages=count.messages,
                window_recipients=count.recipients,
                login_networks=count.networks,
            ),
            self.config.limits,
        )
        # One policy server may serve several relays (see _relay_host).
        relay_host = (attrs.get("policy_context") or self.config.relay_host)[:255]
        subscriber_id = known[0]
        token = ""
        if decision.action is Action.DUNNO:
            token = sign_fields(
                relay_host,
                attrs.get("queue_id", ""),
                int(decided_at),
                subscriber_id,
                login,
                key=self.config.trace_key,
            )
            # The token is base64url: nothing in it for reply() to clean.
            answer = self._prepend + token.encode("ascii") + b"\n\n"
        else:
            answer = protocol.reply(decision.postfix_action)
        # The enums are str subclasses: no ``.value`` lookups (slow properties)
        # on the hot path; JSON writes them as their plain values.
        action = decision.action
        stats = self.stats
        stats.decisions += 1
        stats.by_action[action] = stats.by_action.get(action, 0) + 1
        self.recorder.add_encoded(
            record_json(
                attrs,
                relay_host,
                login,
                decided_at,
                subscriber_id,
                (action, decision.rule, decision.text),
                token,
                decision.is_suspect,
                recipients,
            )
        )
        return answer

    def _is_webmail(self, client: str) -> bool:
        webmail = self._webmail
        found = webmail.get(client)
        if found is None:
            if len(webmail) > 100_000:
                webmail.clear()
            found = webmail[client] = protocol.is_in_networks(
                client, self.config.webmail_networks
            )
        return found

    def _known(self, login: str, client: str) -> tuple[int | None, str | None] | None:
        """The sender's (subscriber id, status) from what is in memory, or None
        when the database must be asked (the counts had no subscriber)."""
        key, lookup = (
            (f"l:{login}", self.config.login_lookup)
            if login
            else (f"a:{client}", self.config.address_lookup)
        )
        now = time.monotonic()
        if lookup is None or self._negative.get(key, 0) > now:
            return None, None
        remembered = self._by_address.get(key)
        if remembered is not None and remembered[0] > now:
            return remembered[1]
        return None

    async def _looked_up(
        self,
        sender: tuple,
        count: Count,
        slot: list,
        connection,
    ) -> None:
        attrs, decided_at, login, client, _recipients = sender
        try:
            found = await self._lookup(login, client)
        except LookupFailedError as exc:
            connection.answer(slot, self._fail(attrs, decided_at, exc))
            return
        try:
            connection.answer_reply(slot, self._decided(sender, count, found))
        except Exception:  # one broken request must not take the server down
            connection.fail()

    async def _lookup(self, login: str, client: str) -> tuple[int | None, str | None]:
        key, lookup = (
            (f"l:{login}", self.config.login_lookup)
            if login
            else (f"a:{client}", self.config.address_lookup)
        )
        now = time.monotonic()
        try:
            found = await asyncio.to_thread(lookup, login or client)
        except Exception as exc:  # the database, whatever its driver raises
            raise LookupFailedError(str(exc)) from exc
        if len(self._negative) > 100_000 or len(self._by_address) > 100_000:
            self._negative.clear()
            self._by_address.clear()
        if found[0] is None:
            self._negative[key] = now + NEGATIVE_SECONDS
        elif not login:
            # Senders without a login (known by address) are few; a minute of
            # memory keeps each of their messages off PostgreSQL.
            self._by_address[key] = (now + ADDRESS_SECONDS, found)
        return found

    def _fail(self, attrs: dict[str, str], decided_at: float, exc: Exception) -> str:
        self.stats.failures += 1
        if self.stats.failures % 1000 == 1:
            logger.error(
                "policy: answering %s, dependency down (%s failures so far): %s",
                self.config.fail_action,
                self.stats.failures,
                exc,
            )
        self._count_action("fail")
        self.recorder.add_encoded(
            record_json(
                attrs,
                self._relay_host(attrs),
                attrs.get("sasl_username", "").strip().lower(),
                decided_at,
                None,
                ("fail", "fail_open", f"answered {self.config.fail_action}"),
                "",
                False,
            )
        )
        return self.config.fail_action

    def _count_action(self, action: str) -> None:
        self.stats.decisions += 1
        self.stats.by_action[action] = self.stats.by_action.get(action, 0) + 1

    def _relay_host(self, attrs: dict[str, str]) -> str:
        # One policy server may serve several relays; each names itself in its
        # check_policy_service policy_context (Postfix 3.1 and later).
        return (attrs.get("policy_context") or self.config.relay_host)[:255]


# CountRequest(...) runs a constructor written in Python; tuple.__new__ does the
# same in C.
_new_request = tuple.__new__


class LookupFailedError(Exception):
    """The database lookup behind a cache miss failed."""


def record_json(
    attrs: dict[str, str],
    relay_host: str,
    login: str,
    decided_at: float,
    subscriber_id: int | None,
    outcome: tuple[str, str, str],
    token: str,
    is_suspect: bool,
    recipients: int | None = None,
) -> str:
    """A submission record as the JSON object the drain reads
    (outbound.services.drain), in its short keys: what ``json.dumps`` of the
    dict writes, without building the dict (a third of the recording's cost)."""
    action, rule, reason = outcome
    get = attrs.get
    return (
        f'{{"h":{_json_str(relay_host)},"q":{_json_str(get("queue_id", "")[:32])},'
        f'"t":{decided_at!r},"l":{_json_str(login[:254])},'
        f'"s":{"null" if subscriber_id is None else int(subscriber_id)},'
        f'"c":{_json_str(get("client_address", ""))},'
        f'"f":{_json_str(get("sender", "")[:254])},'
        f'"n":{protocol.as_count(get("recipient_count")) if recipients is None else recipients},'
        f'"z":{protocol.as_count(get("size"))},'
        f'"a":{_json_str(action)},"r":{_json_str(rule)},'
        f'"x":{_json_str(reason[:255])},"k":{_json_str(token)},'
        f'"p":{"true" if is_suspect else "false"}}}'
    )
