-- expand: an expander node (a runtime fan-out) rendered its items into members; write them,
-- make the nodes after its step wait for every one of them, and end the expander.
-- KEYS: the workflow keys (see _common.lua).
-- ARGV: 1 wf, 2 now, 3 lease, 4 node, 5 token, 6 the members as JSON [[id, spec JSON], ...],
--       7 the group they form (the step id), 8 the expander's detail line
-- Returns {'stale'} when the token is outdated or the node not running (expanded already by
-- an earlier run, or re-sent meanwhile: nothing changed), {'invalid', id} when a member's id
-- is taken (nothing changed), {'cancelled', ...} when the workflow stopped meanwhile (the
-- expander is cancelled, no member written), else {'ok', node1, token1, ...}: the messages
-- the caller must send.
-- All or nothing in one script: a worker killed before it runs leaves no member (the lease
-- brings the expander back and it expands again); after it, every member exists once.
local node, tok = ARGV[4], ARGV[5]
if redis.call('HGET', K_TOKEN, node) ~= tok or redis.call('HGET', K_STATE, node) ~= S.RUNNING
        or is_waiting(node) or redis.call('HEXISTS', K_MEMBERS, node) == 1 then
    return {R.STALE}
end
if not accepting(node) then return refuse_stopped(node) end
local join = redis.call('HGET', K_FANIN, node)
if not join then return {R.INVALID, node} end
local members = cjson.decode(ARGV[6])
local group = ARGV[7]
for _, m in ipairs(members) do
    if redis.call('HEXISTS', K_STATE, m[1]) == 1 then return {R.INVALID, m[1]} end
end

local cleanup = is_cleanup(node)
local limited = redis.call('HEXISTS', K_GLIMIT, group) == 1
local up, down = 'xp:' .. node, 'xc:' .. node
redis.call('HSET', K_EDGES, up, cjson.encode({node}), down, cjson.encode({join}))
local ids, batch = {node}, {}
for _, m in ipairs(members) do
    local id = m[1]
    redis.call('HSET', K_SPEC, id, m[2])
    redis.call('HSET', K_STATE, id, S.PENDING)
    redis.call('HSET', K_DEPS, id, 0)
    redis.call('HSET', K_PARENTS, id, up)
    redis.call('HSET', K_CHILDREN, id, down)
    if limited then redis.call('HSET', K_GROUP, id, group) end
    if cleanup then redis.call('HSET', K_CLEANUP, id, 1) end
    table.insert(ids, id)
    table.insert(batch, id)
    if #batch == 1000 then
        redis.call('RPUSH', K_ORDER, unpack(batch)); batch = {}
    end
end
if #batch > 0 then redis.call('RPUSH', K_ORDER, unpack(batch)) end
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
                              'detail', ARGV[8]})
redis.call('HSET', K_DETAIL, node, ARGV[8])
count_end(node)
release_and_ready(node, sends)
for _, id in ipairs(ids) do make_ready(id, sends) end
advance(sends)
local out = {R.OK}
for _, v in ipairs(sends) do table.insert(out, v) end
return out
