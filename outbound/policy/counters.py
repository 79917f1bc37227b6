"""Sliding-window counters and the status lookup, in one atomic Redis script.

Per account (the login, or the client address when there is none) a sorted set
holds this window's messages scored by time, with a running sum of their
recipients beside it; per login a sorted set holds the client networks of the
last hour. The script trims what has left the window, adds the message and
returns the counts, with the cached subscriber id and status, in one round trip,
so several policy servers on several hosts share exact counts.

Requests that arrive together are sent as one script call (``Batcher``): at 50
concurrent connections one call carries dozens of decisions, which is what keeps
the common case well under a millisecond.
"""

import asyncio
import hashlib
import time
from dataclasses import dataclass

from accounts.status_cache import LOGIN_KEY, STATUS_KEY
from outbound.policy.resp import RespClient, RespError

PREFIX = "abusedesk:outbound"
GATHER_SECONDS = 0.0005

# ARGV: now_ms, window_ms, network_window_ms, then every request as one line of
# tab-separated fields: login, account key, client network, recipient count,
# unique member. One string in and one out keeps the client's encoding and
# parsing to a single value per batch, whatever its size.
SCRIPT = """
local now, win, netwin = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local out = {}
for line in string.gmatch(ARGV[4], '[^\\n]+') do
  local login, who, net, rcpt, member = string.match(
    line, '^([^\\t]*)\\t([^\\t]*)\\t([^\\t]*)\\t(%d+)\\t([^\\t]*)$')
  rcpt = tonumber(rcpt) or 0
  local sid, status = false, false
  if login ~= '' then
    sid = redis.call('HGET', KEYS[1], login)
    if sid then status = redis.call('HGET', KEYS[2], sid) end
  end
  local zk = KEYS[3] .. ':m:' .. who
  local sk = KEYS[3] .. ':r:' .. who
  local expired = redis.call('ZRANGEBYSCORE', zk, '-inf', now - win)
  if #expired > 0 then
    local gone = 0
    for _, m in ipairs(expired) do
      gone = gone + (tonumber(string.match(m, '|(%d+)$')) or 0)
    end
    redis.call('ZREMRANGEBYSCORE', zk, '-inf', now - win)
    redis.call('DECRBY', sk, gone)
  end
  redis.call('ZADD', zk, now, member .. '|' .. rcpt)
  local rcpts = redis.call('INCRBY', sk, rcpt)
  local msgs = redis.call('ZCARD', zk)
  redis.call('PEXPIRE', zk, win)
  redis.call('PEXPIRE', sk, win)
  local nets = 0
  if login ~= '' and net ~= '' then
    local nk = KEYS[3] .. ':n:' .. login
    redis.call('ZADD', nk, now, net)
    redis.call('ZREMRANGEBYSCORE', nk, '-inf', now - netwin)
    nets = redis.call('ZCARD', nk)
    redis.call('PEXPIRE', nk, netwin)
  end
  table.insert(out, (sid or '') .. '\\t' .. (status or '') .. '\\t' .. msgs
    .. '\\t' .. rcpts .. '\\t' .. nets)
end
return table.concat(out, '\\n')
"""


@dataclass(frozen=True)
class Count:
    subscriber_id: int | None
    status: str | None
    messages: int
    recipients: int
    networks: int


@dataclass(frozen=True)
class CountRequest:
    login: str
    account: str
    network: str
    recipients: int
    member: str


class Batcher:
    """Coalesces the count requests of one event-loop turn into one script call.

    At most ``max_in_flight`` calls run at once; requests arriving meanwhile wait
    for the next call. A Redis error fails every request of its call (the server
    then answers the fail action).
    """

    def __init__(
        self,
        client: RespClient,
        *,
        window_ms: int,
        network_window_ms: int = 3_600_000,
        max_batch: int = 256,
        max_in_flight: int = 1,
    ) -> None:
        self.client = client
        self.window_ms = window_ms
        self.network_window_ms = network_window_ms
        self.max_batch = max_batch
        self.sha = hashlib.sha1(SCRIPT.encode()).hexdigest()  # noqa: S324 - Redis's script id
        self._pending: list[tuple[CountRequest, asyncio.Future]] = []
        self._slots = asyncio.Semaphore(max_in_flight)
        self._scheduled = False
        self._tasks: set[asyncio.Task] = set()

    async def _script(self, *args):
        keys = (LOGIN_KEY, STATUS_KEY, f"{PREFIX}:w")
        try:
            return await self.client.call("EVALSHA", self.sha, len(keys), *keys, *args)
        except RespError as exc:
            if not str(exc).startswith("NOSCRIPT"):
                raise
            await self.client.call("SCRIPT", "LOAD", SCRIPT)
            return await self.client.call("EVALSHA", self.sha, len(keys), *keys, *args)

    async def count(self, request: CountRequest) -> Count:
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._pending.append((request, future))
        if not self._scheduled:
            self._scheduled = True
            # A short gathering delay: requests arriving within it share one call.
            loop.call_later(GATHER_SECONDS, self._launch)
        return await future

    def _launch(self) -> None:
        self._scheduled = False
        while self._pending:
            batch = self._pending[: self.max_batch]
            del self._pending[: self.max_batch]
            task = asyncio.ensure_future(self._run(batch))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _run(self, batch: list[tuple[CountRequest, asyncio.Future]]) -> None:
        async with self._slots:
            now_ms = int(time.time() * 1000)
            lines = "\n".join(
                f"{_clean(r.login)}\t{_clean(r.account)}\t{r.network}\t"
                f"{r.recipients}\t{r.member}"
                for r, _future in batch
            )
            args = [now_ms, self.window_ms, self.network_window_ms, lines]
            try:
                flat = await self._script(*args)
            except (RespError, OSError) as exc:
                for _request, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                return
        rows = flat.decode().split("\n") if flat else []
        for (_request, future), row in zip(batch, rows, strict=False):
            sid, status, msgs, rcpts, nets = row.split("\t")
            if not future.done():
                future.set_result(
                    Count(
                        subscriber_id=int(sid) if sid else None,
                        status=status or None,
                        messages=int(msgs),
                        recipients=int(rcpts),
                        networks=int(nets),
                    )
                )


def _clean(value: str) -> str:
    # Tabs and line breaks separate the script's fields and requests.
    return value.replace("\t", " ").replace("\n", " ")
