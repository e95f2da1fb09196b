-- expand: an expander node (a runtime fan-out) rendered its items into members; write them,
-- make the nodes after its step wait for every one of them, and end the expander.
-- KEYS: the workflow keys (see _common.lua).
-- ARGV: 1 wf, 2 lease, 3 node, 4 token, 5 the members as JSON [[id, spec JSON], ...],
--       6 the group they form (the step id), 7 the expander's detail line
-- Returns {'stale'} when the token is outdated or the node not running (expanded already by
-- an earlier run, or re-sent meanwhile: nothing changed), {'invalid', id} when a member's id
-- is taken (nothing changed), {'cancelled', ...} when the workflow stopped meanwhile (the
-- expander is cancelled, no member written), else {'ok', node1, token1, ...}: the messages
-- the caller must send.
-- All or nothing in one script: a worker killed before it runs leaves no member (the lease
-- brings the expander back and it expands again); after it, every member exists once.
local node, tok = ARGV[3], ARGV[4]
if redis.call('HGET', K_TOKEN, node) ~= tok or redis.call('HGET', K_STATE, node) ~= S.RUNNING
        or is_waiting(node) or redis.call('HEXISTS', K_MEMBERS, node) == 1 then
    return {R.STALE}
end
if not accepting(node) then return refuse_stopped(node) end
local join = redis.call('HGET', K_FANIN, node)
if not join then return {R.INVALID, node} end
local members = cjson.decode(ARGV[5])
local group = ARGV[6]
for _, m in ipairs(members) do
    if redis.call('HEXISTS', K_STATE, m[1]) == 1 then return {R.INVALID, m[1]} end
end

local cleanup = is_cleanup(node)
local limited = redis.call('HEXISTS', K_GLIMIT, group) == 1
local up, down = 'xp:' .. node, 'xc:' .. node
redis.call('HSET', K_EDGES, up, cjson.encode({node}), down, cjson.encode({join}))
-- written in batches of many fields per call: 100,000 members are a few hundred calls
-- (a member's dependency counter is not written: nothing counts it down, resume sets it)
local BATCH = 1000
local ids = {node}
local n = 0
local spec, state, links, grouped, cleanups, batch = {}, {}, {}, {}, {}, {}
local function flush()
    if n == 0 then return end
    redis.call('HSET', K_SPEC, unpack(spec))
    redis.call('HSET', K_STATE, unpack(state))
    redis.call('HSET', K_PARENTS, unpack(links))
    for i = 2, 2 * n, 2 do links[i] = down end
    redis.call('HSET', K_CHILDREN, unpack(links))
    if limited then redis.call('HSET', K_GROUP, unpack(grouped)) end
    if cleanup then redis.call('HSET', K_CLEANUP, unpack(cleanups)) end
    redis.call('RPUSH', K_ORDER, unpack(batch))
    n, spec, state, links, grouped, cleanups, batch = 0, {}, {}, {}, {}, {}, {}
end
for _, m in ipairs(members) do
    local id = m[1]
    local i = 2 * n
    spec[i + 1], spec[i + 2] = id, m[2]
    state[i + 1], state[i + 2] = id, S.PENDING
    links[i + 1], links[i + 2] = id, up
    if limited then grouped[i + 1], grouped[i + 2] = id, group end
    if cleanup then cleanups[i + 1], cleanups[i + 2] = id, 1 end
    n = n + 1
    batch[n] = id
    ids[#ids + 1] = id
    if n == BATCH then flush() end
end
flush()
-- the fan-in now counts the expander and every member down
redis.call('HSET', K_EDGES, 'xj:' .. node, cjson.encode(ids))
redis.call('HSET', K_PARENTS, join, 'xj:' .. node)
redis.call('HINCRBY', K_DEPS, join, #members)
table.remove(ids, 1)
redis.call('HSET', K_MEMBERS, node, cjson.encode(ids))
redis.call('HINCRBY', K_META, cleanup and 'open_cleanup' or 'open_main', #members)

local sends = {}
event(E.EXPANDED, node, {'detail', tostring(#members)})
set_state(node, S.SUCCEEDED, {'attempt', redis.call('HGET', K_ATTEMPT, node),
                              'detail', ARGV[7]})
redis.call('HSET', K_DETAIL, node, ARGV[7])
count_end(node)
release_and_ready(node, sends)
-- members the group's limit holds back go straight to its ready list, in batches
local free = #ids
if limited then
    local limit = tonumber(redis.call('HGET', K_GLIMIT, group))
    free = math.max(limit - tonumber(redis.call('HGET', K_GACTIVE, group) or '0'), 0)
end
for i, id in ipairs(ids) do
    if i > free then break end
    make_ready(id, sends)
end
for i = free + 1, #ids, BATCH do
    redis.call('RPUSH', K_GREADY .. group, unpack(ids, i, math.min(i + BATCH - 1, #ids)))
end
advance(sends)
local out = {R.OK}
for _, v in ipairs(sends) do table.insert(out, v) end
return out
