/**
 * The Lua scripts of the transport, each touching one stream key (so each
 * runs on one Redis Cluster slot). They make a check and its action one step
 * on the server: a settle acts only while the entry is still in this
 * consumer's pending list, so a consumer that lost its lease never acks or
 * renews what another consumer now holds (ADR 011).
 */
import type { Redis } from "ioredis";

/** `redis.call('XPENDING', …)` for one id: the owner and delivery count, or nil when not pending. */
const OWNER = `
local function owner(stream, group, id)
  local p = redis.call('XPENDING', stream, group, id, id, 1)
  if #p == 0 then return nil, 0 end
  return p[1][2], p[1][4]
end
`;

/**
 * Settles of one turn on one stream (settle-batch.ts). KEYS[1] stream,
 * KEYS[2] the group's starts hash, KEYS[3…] key lists; ARGV group,
 * consumer, delete (1: also XDEL), the lowest and the highest id of the
 * batch, then the entries in one argument, space-separated, each
 * `<id>:<code>` (or the ids alone, followed by the one code they all have),
 * the code being the index into KEYS of its key list (0 when
 * in none) times 4, plus 2 when no start of the entry was counted before
 * its one handler start (attempt 1), plus 1 when its handler started in the
 * same turn (that start was not sent on its own). Which entries are still
 * this consumer's comes from one XPENDING scan of its pending entries
 * between the lowest and highest id, not one XPENDING per entry. An entry's
 * member in the hash and lists is `<id> <stream>` (names.ts entryMember),
 * made here rather than sent. When every entry was acked, their count (a
 * drain's usual reply, one integer rather than one per entry); otherwise,
 * per entry, 1 when acked and 0 when not this consumer's (or named twice:
 * the first one settles), its start of this turn then counted as it would
 * have been on its own. An acked entry
 * leaves its key list, so the key's next entry is its head, and its count
 * in the starts hash, unless it can have none: its one start rode with
 * this settle (2 + 1) and the group delivered it once (no other consumer
 * held it since it was read, so none counted a start of it); most entries
 * of a drain, whose member and HDEL are then work for nothing.
 */
const SETTLE_MANY = `
local held = {}
local from = ARGV[4]
while true do
  local page = redis.call('XPENDING', KEYS[1], ARGV[1], from, ARGV[5], 1000, ARGV[2])
  for i = 1, #page do
    local p = page[i]
    held[p[1]] = p[4]
  end
  if #page < 1000 then break end
  from = '(' .. page[#page][1]
end
local ours, members, out = {}, {}, {}
local acked, named, counted = 0, 0, 0
local suffix = ' ' .. KEYS[1]
-- One code for every entry (ARGV[7]): the ids alone, the second capture a position (a number, no string made).
local every, pattern = tonumber(ARGV[7]), '([^ :]+):(%d+)'
if every then pattern = '([^ ]+)()' end
for id, code in string.gmatch(ARGV[6], pattern) do
  code = every or tonumber(code)
  named = named + 1
  local count = held[id]
  if count then
    held[id] = nil
    acked = acked + 1
    ours[acked] = id
    out[named] = 1
    if code ~= 3 or count > 1 then
      if code % 4 ~= 3 or count > 1 then
        counted = counted + 1
        members[counted] = id .. suffix
      end
      if code >= 4 then redis.call('LREM', KEYS[(code - code % 4) / 4], 1, id .. suffix) end
    end
  else
    if code % 2 == 1 then redis.call('HINCRBY', KEYS[2], id .. suffix, 1) end
    out[named] = 0
  end
end
if acked > 0 then
  redis.call('XACK', KEYS[1], ARGV[1], unpack(ours))
  if ARGV[3] == '1' then redis.call('XDEL', KEYS[1], unpack(ours)) end
  if counted > 0 then redis.call('HDEL', KEYS[2], unpack(members)) end
end
if acked == named then return acked end
return out
`;

/**
 * A publish (publisher.ts): KEYS[1] the stream; ARGV[1] the entries' fields,
 * packed (entry-pack.ts). When every entry was added, their count: the
 * client has nothing to learn from the entry ids, and a reply of hundreds
 * of them cost both ends a bulk string each. Otherwise, per entry in order,
 * what its own `XADD … NOMKSTREAM *` replied: 1 when added, nil when the
 * stream does not exist (no group bound: unroutable), or the error the
 * server refused it with as a one-element array (that entry alone: the rest
 * are still added; an error nested in a reply would reach ioredis as a
 * plain string).
 */
const PUBLISH_MANY = `
local out = {}
local all = true
for i, fields in ipairs(cmsgpack.unpack(ARGV[1])) do
  local ok, reply = pcall(redis.call, 'XADD', KEYS[1], 'NOMKSTREAM', '*', unpack(fields))
  if not ok then
    out[i] = {reply.err or tostring(reply)}
    all = false
  elseif reply then
    out[i] = 1
  else
    out[i] = false
    all = false
  end
end
if all then return #out end
return out
`;

/** The start of a script's read of new entries: KEYS the streams; ARGV group, consumer, count. Leaves the XREADGROUP reply in `reply`. */
const READ_NEW = `
local args = {'GROUP', ARGV[1], ARGV[2], 'COUNT', ARGV[3], 'STREAMS'}
for i = 1, #KEYS do args[#args + 1] = KEYS[i] end
for i = 1, #KEYS do args[#args + 1] = '>' end
local reply = redis.call('XREADGROUP', unpack(args))
`;

/**
 * A read that does not block, packed (read-unpack.ts): KEYS the streams;
 * ARGV group, consumer, count. Each new entry as a MessagePack string of its
 * own, `[[stream, [[id, fields]]]]` (what unpackRead takes), or nil when there
 * is none. A string per entry, not one for the read: a string spanning the
 * client's socket reads is copied into the reply parser's module-wide pool
 * (redis-parser: three times the string, replaced when full, kept whole by
 * any view into it), and reads of 20-90 KB kept such pools past the
 * scavenges they should have died in (100,000-message drain: arrayBuffers
 * peak 8-21 MB and RSS growth 5-14 MB with one string, 1.5-1.6 MB and
 * 0-0.6 MB with one per entry). An entry's few hundred bytes fit in the read
 * they came in, or take that much of the pool.
 */
export const READ_PACKED = `${READ_NEW}if not reply then return false end
local out = {}
for _, s in ipairs(reply) do
  for _, e in ipairs(s[2]) do out[#out + 1] = cmsgpack.pack({{s[1], {e}}}) end
end
return out
`;

/** KEYS[1] the group's starts hash; ARGV the stream, then its entry ids space-separated. One handler start more for each (attempts, ADR 011). */
const STARTS = `
local n = 0
for id in string.gmatch(ARGV[2], '[^ ]+') do
  redis.call('HINCRBY', KEYS[1], id .. ' ' .. ARGV[1], 1)
  n = n + 1
end
return n
`;

/**
 * An ordered group's read (ADR 011, key order across processes). KEYS the
 * streams; ARGV group, consumer, count, key-list prefix. XREADGROUP of new
 * entries and, in the same step, each keyed entry appended to its key's
 * list, so every list holds the group's unsettled entries of a key in the
 * order the group read them, whichever consumer read them. A script cannot
 * block: with nothing new it returns each stream's last id, for an XREAD
 * BLOCK that wakes the reader when an entry comes. The list keys are made
 * from the entries (one node; Redis Cluster would need them hash-tagged).
 */
const READ_ORDERED = `${READ_NEW}if not reply then
  local last = {}
  for i = 1, #KEYS do
    local top = redis.call('XREVRANGE', KEYS[i], '+', '-', 'COUNT', 1)
    if #top > 0 then last[i] = top[1][1] else last[i] = '0-0' end
  end
  return {{}, last}
end
for _, s in ipairs(reply) do
  for _, e in ipairs(s[2]) do
    local f = e[2]
    for j = 1, #f, 2 do
      if f[j] == 'ce-key' then
        redis.call('RPUSH', ARGV[4] .. f[j + 1], e[1] .. ' ' .. s[1])
        break
      end
    end
  end
end
return {reply, {}}
`;

/**
 * KEYS one key list per candidate; ARGV group, consumer, then each
 * candidate's member. Per candidate: 1 when it is its key's head (may be
 * handed out), 0 when an earlier entry of its key is still unsettled in the
 * group (wait), -1 when it is no longer this consumer's (lease lost).
 * Heads no longer pending (acked by a plain client, trimmed) are dropped on
 * the way, so a list never blocks its key on an entry that is gone.
 */
const HEADS = `
local function holder(member)
  local sp = string.find(member, ' ', 1, true)
  local id, stream = string.sub(member, 1, sp - 1), string.sub(member, sp + 1)
  local ok, p = pcall(redis.call, 'XPENDING', stream, ARGV[1], id, id, 1)
  if not ok or #p == 0 then return nil end
  return p[1][2]
end
local out = {}
for i = 1, #KEYS do
  local member = ARGV[i + 2]
  if holder(member) ~= ARGV[2] then
    out[i] = -1
  else
    out[i] = 0
    while true do
      local head = redis.call('LINDEX', KEYS[i], 0)
      if not head or head == member then
        out[i] = 1
        break
      end
      if holder(head) then break end
      redis.call('LPOP', KEYS[i])
    end
  end
end
return out
`;

/**
 * KEYS[1] stream; ARGV group, consumer, idle ms, id. Gives an entry back
 * without counting it: still pending under this consumer, made idle for
 * long enough that the next XAUTOCLAIM of any consumer takes it, and its
 * delivery count set one lower, so the claim's increment brings it back to
 * what it was. The entry keeps its place in the stream. 1 when done, 0 when not ours.
 */
const RELEASE = `${OWNER}
local who, count = owner(KEYS[1], ARGV[1], ARGV[4])
if who ~= ARGV[2] then return 0 end
local before = count - 1
if before < 0 then before = 0 end
redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[4], 'IDLE', ARGV[3], 'RETRYCOUNT', before, 'JUSTID')
return 1
`;

/**
 * KEYS[1] stream; ARGV group, consumer, id… Resets the idle time of the
 * entries still this consumer's (XCLAIM JUSTID counts no delivery); returns
 * the ids that are no longer its (lease lost, or acked by another holder).
 */
const RENEW = `${OWNER}
local lost = {}
for i = 3, #ARGV do
  local who = owner(KEYS[1], ARGV[1], ARGV[i])
  if who == ARGV[2] then
    redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[i], 'JUSTID')
  else
    lost[#lost + 1] = ARGV[i]
  end
end
return lost
`;

/** KEYS[1] stream; ARGV group. Removes the group; the stream goes with its last group, so publishing to it is unroutable again. */
const UNBIND = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('XGROUP', 'DESTROY', KEYS[1], ARGV[1])
if #redis.call('XINFO', 'GROUPS', KEYS[1]) == 0 then redis.call('DEL', KEYS[1]) end
return 1
`;

/**
 * KEYS[1] stream. Trims below the first entry some group still needs (its
 * first pending entry, or its last delivered one when none is pending):
 * Redis 7.0 has no acknowledgement-aware trimming. Returns the entries removed.
 */
const TRIM = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local function parse(id)
  local dash = string.find(id, '-', 1, true)
  return tonumber(string.sub(id, 1, dash - 1)), tonumber(string.sub(id, dash + 1))
end
local function less(a, b)
  local am, as = parse(a)
  local bm, bs = parse(b)
  return am < bm or (am == bm and as < bs)
end
local floor = nil
for _, g in ipairs(redis.call('XINFO', 'GROUPS', KEYS[1])) do
  local info = {}
  for i = 1, #g, 2 do info[g[i]] = g[i + 1] end
  local need = info['last-delivered-id']
  if info['pending'] > 0 then
    local first = redis.call('XPENDING', KEYS[1], info['name'], '-', '+', 1)
    if #first > 0 then need = first[1][1] end
  end
  if floor == nil or less(need, floor) then floor = need end
end
if floor == nil or floor == '0-0' then return 0 end
return redis.call('XTRIM', KEYS[1], 'MINID', floor)
`;

/**
 * KEYS[1] stream; ARGV group, consumer. Deletes the consumer only when it
 * has no pending entries: XGROUP DELCONSUMER drops a consumer's pending
 * entries with it, which would lose them for the group. 1 when deleted.
 */
const FORGET_CONSUMER = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local ok, pending = pcall(redis.call, 'XPENDING', KEYS[1], ARGV[1], '-', '+', 1, ARGV[2])
if not ok or #pending > 0 then return 0 end
redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], ARGV[2])
return 1
`;

export interface ScriptedRedis extends Redis {
  missivePublishMany(stream: string, packed: Buffer): Promise<unknown>;
  missiveStarts(hash: string, stream: string, ids: string): Promise<unknown>;
  missiveSettleMany(...args: Array<string | number>): Promise<unknown>;
  missiveReadOrderedBuffer(...args: Array<string | number>): Promise<[Array<[Buffer, Array<[Buffer, Buffer[]]>]>, Buffer[]]>;
  missiveHeads(...args: Array<string | number>): Promise<number[]>;
  missiveRelease(stream: string, group: string, consumer: string, idleMs: string, id: string): Promise<number>;
  missiveRenew(stream: string, group: string, consumer: string, ...ids: string[]): Promise<string[]>;
  missiveUnbind(stream: string, group: string): Promise<number>;
  missiveTrim(stream: string): Promise<number>;
  missiveForgetConsumer(stream: string, group: string, consumer: string): Promise<number>;
}

/** Define the scripts on `redis` (sent as EVALSHA, with EVAL when the server lost its script cache). */
export function withScripts(redis: Redis): ScriptedRedis {
  // Sent with a batch's other calls (publisher.ts, send-together.ts).
  redis.defineCommand("missivePublishMany", { numberOfKeys: 1, lua: PUBLISH_MANY });
  // Sent with a turn's other calls (settle-batch.ts); the settle takes its key count first.
  redis.defineCommand("missiveSettleMany", { lua: SETTLE_MANY });
  redis.defineCommand("missiveStarts", { numberOfKeys: 1, lua: STARTS });
  // Variable key counts: the caller passes the number of keys first.
  redis.defineCommand("missiveReadOrdered", { lua: READ_ORDERED });
  redis.defineCommand("missiveHeads", { lua: HEADS });
  redis.defineCommand("missiveRelease", { numberOfKeys: 1, lua: RELEASE });
  redis.defineCommand("missiveRenew", { numberOfKeys: 1, lua: RENEW });
  redis.defineCommand("missiveUnbind", { numberOfKeys: 1, lua: UNBIND });
  redis.defineCommand("missiveTrim", { numberOfKeys: 1, lua: TRIM });
  redis.defineCommand("missiveForgetConsumer", { numberOfKeys: 1, lua: FORGET_CONSUMER });
  return redis as ScriptedRedis;
}
