-- resume: re-run a failed or cancelled workflow from its failed and cancelled nodes; nodes
-- that succeeded (or were skipped) are kept, except redo_on_resume ones that a re-run node
-- comes after (what they set up, the finally nodes undid); the finally nodes run again.
-- KEYS: the workflow keys (see _common.lua).
-- ARGV: 1 wf, 2 now, 3 lease, 4 user
-- Returns {'invalid', state}, {'held', lock, holder} or {'ok', node1, token1, ...}.
local st = wf_state()
if not st then return {R.INVALID, R.UNKNOWN} end
if st ~= W.FAILED and st ~= W.CANCELLED then return {R.INVALID, st} end
local locks = cjson.decode(redis.call('HGET', K_META, 'locks') or '[]')
for _, name in ipairs(locks) do
    local holder = redis.call('GET', K_LOCK .. name)
    if holder and holder ~= WF then return {R.HELD, name, holder} end
end
for _, name in ipairs(locks) do redis.call('SET', K_LOCK .. name, WF) end
-- running again: its keys no longer expire (finish sets the retention anew)
for _, k in ipairs(workflow_keys()) do redis.call('PERSIST', k) end

local states = redis.call('HGETALL', K_STATE)
local done = {}
local open_main, open_cleanup = 0, 0
local reset = {}
for i = 1, #states, 2 do
    local node, s = states[i], states[i + 1]
    if is_cleanup(node) then
        open_cleanup = open_cleanup + 1
        table.insert(reset, node)
    elseif s == S.SUCCEEDED or s == S.SKIPPED then
        done[node] = true
    else
        open_main = open_main + 1
        table.insert(reset, node)
    end
end
local lists = {}
local function parents_of(node)
    local id = redis.call('HGET', K_PARENTS, node)
    if not id then return {} end
    if not lists[id] then lists[id] = cjson.decode(redis.call('HGET', K_EDGES, id)) end
    return lists[id]
end
-- A succeeded redo_on_resume node (a silence, noout: undone by the finally steps) that a
-- re-run node comes after runs again too, before it. Found by walking up from the re-run
-- nodes, each ancestor once; skipped when the workflow has no such node.
local redo = {}
for _, id in ipairs(cjson.decode(redis.call('HGET', K_META, 'redo') or '[]')) do redo[id] = true end
redis.call('DEL', K_RELAY)
local relay = {}
if next(redo) ~= nil then
    local stack, seen, redone = {}, {}, {}
    for _, node in ipairs(reset) do
        if not is_cleanup(node) then table.insert(stack, node) end
    end
    while #stack > 0 do
        for _, p in ipairs(parents_of(table.remove(stack))) do
            if not seen[p] then
                seen[p] = true
                if redo[p] and done[p] and redis.call('HGET', K_STATE, p) == S.SUCCEEDED then
                    done[p] = nil
                    open_main = open_main + 1
                    table.insert(reset, p)
                    table.insert(redone, p)
                end
                table.insert(stack, p)
            end
        end
    end
    -- Kept nodes between a redone node and a re-run node (set -> drain -> restart: drain)
    -- do not run again but relay the redone node's end, so the re-run node waits for it.
    local down, visited = redone, {}
    while #down > 0 do
        local id = redis.call('HGET', K_CHILDREN, table.remove(down))
        local kids = {}
        if id then
            if not lists[id] then lists[id] = cjson.decode(redis.call('HGET', K_EDGES, id)) end
            kids = lists[id]
        end
        for _, c in ipairs(kids) do
            if not visited[c] then
                visited[c] = true
                if redis.call('HEXISTS', K_JOINS, c) == 1 then
                    table.insert(down, c)
                elseif done[c] and seen[c] then
                    relay[c] = true
                    table.insert(down, c)
                end
            end
        end
    end
    for c in pairs(relay) do done[c] = nil end
end
local join_open = {}
-- A runtime fan-out's expander stays succeeded while its members run again: for the nodes
-- after it (whose parents lists name it) it has ended only once its fan-in has, the
-- expander and every member done; for its members (parents list 'xp:<expander>', written
-- by expand.lua) it has ended. Its fan-in's parents are nodes, so it is counted first.
local open_fanin = {}
local fanin = redis.call('HGETALL', K_FANIN)
for i = 1, #fanin, 2 do
    local expander, j = fanin[i], fanin[i + 1]
    local remaining = 0
    for _, p in ipairs(parents_of(j)) do
        if not done[p] then remaining = remaining + 1 end
    end
    redis.call('HSET', K_DEPS, j, remaining)
    join_open[j] = remaining > 0
    if remaining > 0 then open_fanin[expander] = true end
end
-- Does `node` (a node or a join) still wait for its parent `p`?
local function waits_for(node, p)
    if not done[p] then return true end
    return open_fanin[p] == true and redis.call('HGET', K_PARENTS, node) ~= 'xp:' .. p
end
for _, j in ipairs(redis.call('HKEYS', K_JOINS)) do
    if join_open[j] == nil then  -- a fan-in is counted already
        local remaining = 0
        for _, p in ipairs(parents_of(j)) do
            if waits_for(j, p) then remaining = remaining + 1 end
        end
        redis.call('HSET', K_DEPS, j, remaining)
        join_open[j] = remaining > 0
    end
end
for c in pairs(relay) do
    local remaining = 0
    local j = redis.call('HGET', K_JOIN_OF, c)
    if j then
        if join_open[j] then remaining = 1 end
    else
        for _, p in ipairs(parents_of(c)) do
            if waits_for(c, p) then remaining = remaining + 1 end
        end
    end
    redis.call('HSET', K_DEPS, c, remaining)
    redis.call('HSET', K_RELAY, c, 1)
end
local ready = {}
for _, node in ipairs(reset) do
    local remaining = 0
    local j = redis.call('HGET', K_JOIN_OF, node)
    if j then
        if join_open[j] then remaining = 1 end
    else
        for _, p in ipairs(parents_of(node)) do
            if waits_for(node, p) then remaining = remaining + 1 end
        end
    end
    redis.call('HSET', K_DEPS, node, remaining)
    redis.call('HSET', K_STATE, node, S.PENDING)
    for _, k in ipairs({K_ATTEMPT, K_STARTED, K_ENDED, K_ERROR, K_WAITING, K_TOKEN, K_DETAIL,
                         K_RESENT}) do
        redis.call('HDEL', k, node)
    end
    -- a gate that runs again asks again: the decision of its last run is not carried over
    redis.call('HDEL', K_FACTS, 'approval:' .. node)
    event(E.NODE_STATE, node, {'state', S.PENDING})
    if remaining == 0 and not is_cleanup(node) then table.insert(ready, node) end
end
for _, g in ipairs(redis.call('HKEYS', K_GLIMIT)) do
    redis.call('HSET', K_GACTIVE, g, 0)
    redis.call('DEL', K_GREADY .. g)
end
redis.call('HDEL', K_META, 'failed_node', 'error', 'cleanup_failed', 'ended_at')
redis.call('HSET', K_META, 'state', W.RUNNING, 'phase', P.MAIN, 'open_main', open_main,
           'open_cleanup', open_cleanup)
redis.call('HSET', K_AUDIT, 'outcome', W.RUNNING, 'resumed_by', ARGV[4],
           'resumed_at', tostring(NOW))
redis.call('HINCRBY', K_AUDIT, 'resumes', 1)
event(E.WORKFLOW_STATE, nil, {'state', W.RUNNING, 'detail', 'resumed by ' .. ARGV[4]})
local sends = {}
for _, node in ipairs(ready) do
    if redis.call('HGET', K_STATE, node) == S.PENDING then make_ready(node, sends) end
end
advance(sends)
local out = {R.OK}
for _, v in ipairs(sends) do table.insert(out, v) end
return out
