"""Sliding-window counters and the account status, in one Redis script call per
batch of decisions.

Per account (the login, or the client address when there is none) one string
key holds the burst window as buckets of ``window / 60`` (10 seconds for a
10-minute window), each with its message and recipient counts, and for a login
the client networks of the last hour with the time each was last seen. The
window slides a bucket at a time: a message counts for between 59/60 of the
window and the whole window. One GET and one SET per decision is what keeps the
script cheap for Redis; a sorted set per account with a member per message cost
a dozen Redis calls per decision.

The script also answers the account status for the logins the server does not
hold in memory (``StatusMemory``). The status cache's writers bump a version
number with every change (``accounts.status_cache``); the script reads it in the
same atomic call as the counters, and when it differs from the version the
server's memory was filled at, it answers every login of the batch and the
server forgets the rest. A suspension therefore refuses the very next message,
on every server, with no extra round trip.

Requests that arrive together are sent as one call (``Batcher``): while one call
is in flight the next requests gather, so at 50 busy connections one call
carries dozens of decisions.
"""

import asyncio
import hashlib
from collections.abc import Callable
from typing import NamedTuple

from accounts.status_cache import LOGIN_KEY, STATUS_KEY, VERSION_KEY
from outbound.policy.resp import RespClient, RespError

PREFIX = "abusedesk:outbound"
COUNTER_PREFIX = f"{PREFIX}:c:"
BUCKETS_PER_WINDOW = 60

# ARGV: window_ms, network_window_ms, bucket_ms, the status version the
# caller's memory holds, then every request as one line of tab-separated
# fields: "1" when the caller needs the login's status (else "0"), login,
# account key, client network, recipient count. One string in and one out keeps
# the encoding and parsing to a single value per batch, whatever its size.
#
# A counter key's value: "messages:recipients|" (the window's totals), then the
# older buckets oldest first, "bucket:messages:recipients,...", then "|" and
# "network=last_seen_s;..." (networks hold ":" and "/", never "=" or ";"), then
# "|" and the newest bucket. The totals are kept, so a decision touches only the
# buckets leaving the window (at the front) and the newest one (a field of its
# own: finding the last of 60 buckets by a pattern anchored at the end made Lua
# try every position of the string, 265 us of Redis CPU per decision at a full
# window). The clock is Redis's own, the same for every server.
SCRIPT = """
local win, netwin, step = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local now_s = tonumber(clock[1])
local now_str = clock[1]
local version = redis.call('GET', KEYS[3]) or '0'
local refresh = version ~= ARGV[4]
local current = math.floor(now / step)
local oldest = math.floor((now - win) / step) + 1
local netcut = now_s - math.floor(netwin / 1000)
local out = {version}
local needs, logins, nets_of, rcpts_of, keys = {}, {}, {}, {}, {}
for line in string.gmatch(ARGV[5], '[^\\n]+') do
  local need, login, who, net, rcpt = string.match(
    line, '^(%d)\\t([^\\t]*)\\t([^\\t]*)\\t([^\\t]*)\\t(%d+)$')
  local i = #keys + 1
  needs[i], logins[i], nets_of[i], rcpts_of[i] = need, login or '', net, rcpt
  keys[i] = KEYS[4] .. (who or '')
end
-- One MGET for the batch's counters instead of a GET per decision (each
-- redis.call costs more than the rest of a decision's arithmetic).
local states = #keys > 0 and redis.call('MGET', unpack(keys)) or {}
-- A key's state as this batch left it, for an account seen twice in one batch.
local written = {}
for i, key in ipairs(keys) do
  local need, login, net = needs[i], logins[i], nets_of[i]
  local rcpt = tonumber(rcpts_of[i]) or 0
  local sid, status = '', ''
  if login ~= '' and (refresh or need == '1') then
    sid = redis.call('HGET', KEYS[1], login) or ''
    if sid ~= '' then status = redis.call('HGET', KEYS[2], sid) or '' end
  end
  local state = written[key]
  if state == nil then state = states[i] end
  local msgs, rcpts, older, nets, nb, nm, nr = 0, 0, '', '', nil, 0, 0
  if state then
    local m, r, o, n, b, bm, br = string.match(state,
      '^(%d+):(%d+)|([^|]*)|([^|]*)|(%d+):(%d+):(%d+)$')
    if m then
      msgs, rcpts, older, nets = tonumber(m), tonumber(r), o, n
      nb, nm, nr = tonumber(b), tonumber(bm), tonumber(br)
    else
      -- Written before the newest bucket had a field of its own (read once).
      m, r, o, n = string.match(state, '^(%d+):(%d+)|([^|]*)|(.*)$')
      if m then
        msgs, rcpts, nets = tonumber(m), tonumber(r), n
        local at, lb, lm, lr = string.match(o, '()(%d+):(%d+):(%d+)$')
        if at then
          older = string.sub(o, 1, math.max(0, at - 2))
          nb, nm, nr = tonumber(lb), tonumber(lm), tonumber(lr)
        end
      end
    end
  end
  if not nb or nb < oldest then
    -- The newest bucket has left the window, and every older one with it.
    msgs, rcpts, older, nb, nm, nr = 0, 0, '', current, 0, 0
  else
    while older ~= '' do
      local b, m, r, after = string.match(older, '^(%d+):(%d+):(%d+),?()')
      if not b or tonumber(b) >= oldest then break end
      msgs, rcpts = msgs - tonumber(m), rcpts - tonumber(r)
      older = string.sub(older, after)
    end
    if nb < current then
      local done = string.format('%d:%d:%d', nb, nm, nr)
      older = older == '' and done or older .. ',' .. done
      nb, nm, nr = current, 0, 0
    end
  end
  msgs, rcpts, nm, nr = msgs + 1, rcpts + rcpt, nm + 1, nr + rcpt
  -- The TTL as the caller's text: a Lua number passed to redis.call is
  -- written with %.14g first, a good part of a SET's cost.
  local netcount, ttl = 0, ARGV[1]
  if login ~= '' then
    if net ~= '' and (nets == '' or string.match(nets, '^([^=;]+)=%d+$') == net) then
      -- The common case, a login seen from this one network only: no table.
      nets, netcount = net .. '=' .. now_str, 1
    else
      local seen, fresh = {}, false
      for n, ts in string.gmatch(nets, '([^=;]+)=(%d+)') do
        if n == net then ts, fresh = now_str, true end
        if tonumber(ts) > netcut then seen[#seen + 1] = n .. '=' .. ts end
      end
      if net ~= '' and not fresh then seen[#seen + 1] = net .. '=' .. now_str end
      if net ~= '' then netcount = #seen end
      nets = table.concat(seen, ';')
    end
    if nets ~= '' and netwin > win then ttl = ARGV[2] end
  end
  state = string.format('%d:%d|%s|%s|%d:%d:%d', msgs, rcpts, older, nets, nb,
    nm, nr)
  written[key] = state
  redis.call('SET', key, state, 'PX', ttl)
  out[#out + 1] = string.format('%s\\t%s\\t%d\\t%d\\t%d', sid, status, msgs,
    rcpts, netcount)
end
return table.concat(out, '\\n')
"""


class Count(NamedTuple):
    subscriber_id: int | None
    status: str | None
    messages: int
    recipients: int
    networks: int


class CountRequest(NamedTuple):
    login: str
    account: str
    network: str
    recipients: int


# Called with the count, or with None and the error that failed the batch.
Done = Callable[[Count | None, Exception | None], None]


class StatusMemory:
    """The statuses of logins this server has asked Redis about, valid for one
    version of the status cache. Unknown logins are remembered as (None, None)
    too, so the database lookup behind them is not asked again per message."""

    MAX_ENTRIES = 1_000_000

    def __init__(self) -> None:
        self.version = ""
        self.entries: dict[str, tuple[int | None, str | None]] = {}

    def get(self, login: str) -> tuple[int | None, str | None] | None:
        return self.entries.get(login)

    def renew(self, version: str) -> None:
        if version != self.version:
            self.version = version
            self.entries.clear()

    def put(self, login: str, subscriber_id: int | None, status: str | None) -> None:
        if len(self.entries) >= self.MAX_ENTRIES:
            self.entries.clear()
        self.entries[login] = (subscriber_id, status)


class Batcher:
    """Gathers count requests into script calls: a call is sent at once when
    none is in flight, else the requests wait for the reply and go in the next
    call. At most ``max_in_flight`` calls run at once. A Redis error fails every
    request of its call (the server then answers the fail action)."""

    def __init__(
        self,
        client: RespClient,
        *,
        window_ms: int,
        network_window_ms: int = 3_600_000,
        max_batch: int = 512,
        max_in_flight: int = 1,
    ) -> None:
        self.client = client
        self.window_ms = window_ms
        self.network_window_ms = network_window_ms
        self.bucket_ms = max(1, window_ms // BUCKETS_PER_WINDOW)
        self.max_batch = max_batch
        self.max_in_flight = max_in_flight
        self.statuses = StatusMemory()
        self.sha = hashlib.sha1(SCRIPT.encode()).hexdigest()  # noqa: S324 - Redis's script id
        self._pending: list[tuple[CountRequest, Done]] = []
        self._in_flight = 0
        self._scheduled = False
        self._tasks: set[asyncio.Task] = set()

    def submit(self, request: CountRequest, done: Done) -> None:
        self._pending.append((request, done))
        if not self._scheduled and self._in_flight < self.max_in_flight:
            self._scheduled = True
            # After this turn of the loop, so requests read together go together.
            asyncio.get_running_loop().call_soon(self._launch)

    def _launch(self) -> None:
        self._scheduled = False
        while self._pending and self._in_flight < self.max_in_flight:
            batch = self._pending[: self.max_batch]
            del self._pending[: self.max_batch]
            self._in_flight += 1
            task = asyncio.ensure_future(self._run(batch))
            self._tasks.add(task)
            task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        self._in_flight -= 1
        if self._pending and not self._scheduled:
            self._launch()

    async def _script(self, *args):
        keys = (LOGIN_KEY, STATUS_KEY, VERSION_KEY, COUNTER_PREFIX)
        try:
            return await self.client.call("EVALSHA", self.sha, len(keys), *keys, *args)
        except RespError as exc:
            if not str(exc).startswith("NOSCRIPT"):
                raise
            await self.client.call("SCRIPT", "LOAD", SCRIPT)
            return await self.client.call("EVALSHA", self.sha, len(keys), *keys, *args)

    async def _run(self, batch: list[tuple[CountRequest, Done]]) -> None:
        statuses = self.statuses
        asked_version = statuses.version
        # The loops below run for every decision: dict and tuple operations
        # only, no method or constructor calls written in Python.
        entries = statuses.entries
        needs = [bool(r[0]) and r[0] not in entries for r, _done in batch]
        lines = "\n".join(
            f"{'1' if need else '0'}\t{_clean(r[0])}\t{_clean(r[1])}\t{r[2]}\t{r[3]}"
            if "\t" in r[1] or "\n" in r[1]
            else f"{'1' if need else '0'}\t{r[0]}\t{r[1]}\t{r[2]}\t{r[3]}"
            for (r, _done), need in zip(batch, needs, strict=True)
        )
        args = (
            self.window_ms,
            self.network_window_ms,
            self.bucket_ms,
            asked_version,
            lines,
        )
        try:
            flat = await self._script(*args)
        except (RespError, OSError) as exc:
            for _request, done in batch:
                done(None, exc)
            return
        version, *rows = flat.decode().split("\n")
        refreshed = version != asked_version
        statuses.renew(version)
        entries = statuses.entries
        unknown = (None, None)
        for (request, done), need, row in zip(batch, needs, rows, strict=False):
            sid, status, msgs, rcpts, nets = row.split("\t")
            login = request[0]
            if not login:
                known = unknown
            elif need or refreshed:
                known = (int(sid) if sid else None, status or None)
                statuses.put(login, *known)
            else:
                known = entries.get(login) or unknown
            done(
                _new_count(Count, (*known, int(msgs), int(rcpts), int(nets))),
                None,
            )


# Count(...) runs a constructor written in Python; tuple.__new__ does the same
# in C.
_new_count = tuple.__new__


def _clean(value: str) -> str:
    # Tabs and line breaks separate the script's fields and requests.
    if "\t" in value or "\n" in value:
        return value.replace("\t", " ").replace("\n", " ")
    return value
