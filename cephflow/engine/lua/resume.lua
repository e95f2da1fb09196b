-- resume: run a stopped (or, from a step, an ended) workflow again. Which nodes run again
-- depends on the mode (scripts.Rerun, ARGV[4]):
--   M.STOPPED  plain resume: the failed and cancelled nodes;
--   M.STEP     from a step: those, and the seed nodes (ARGV[5]: a step's nodes) with every
--              node reachable from them through the children lists (joins walked through);
--              the workflow may have failed, been cancelled or succeeded;
--   M.RETRY    one failed step: the seed nodes (that step's failed and cancelled nodes, the
--              workflow failed), and the cancelled nodes after them whose every parent has
--              ended well or runs again; other failed and cancelled nodes are left as they
--              are, and a failed one kept makes the workflow end failed (meta 'failed_kept').
-- The set is computed here: the edges are in Redis and the workflow is not running, so one
-- walk in the script is cheaper than shipping them to the caller and back. Nodes that
-- succeeded (or were skipped) and are not in it are kept, except redo_on_resume ones that a
-- re-run node comes after (what they set up, the finally nodes undid); the finally nodes run
-- again. A node that had ended well and runs again starts afresh: its output, memo and once
-- markers go. An expander that runs again loses the members it wrote (it writes them anew).
-- KEYS: the workflow keys (see _common.lua).
-- ARGV: 1 wf, 2 lease, 3 user, 4 mode, 5 seed nodes (JSON list), 6 the step named
-- Returns {'invalid', state}, {'invalid', state, node, node state} (retry: a seed did not
-- fail), {'held', lock, holder}, {'full', limit, wf1, ...} (take_locks) or {'ok', node1, token1, ...}.
local mode = ARGV[4] or M.STOPPED
local seeds = cjson.decode(ARGV[5] or '[]')
local step = ARGV[6] or ''
local st = wf_state()
if not st then return {R.INVALID, R.UNKNOWN} end
if mode == M.RETRY then
    if st ~= W.FAILED then return {R.INVALID, st} end
    for _, n in ipairs(seeds) do
        local s = redis.call('HGET', K_STATE, n)
        if s ~= S.FAILED and s ~= S.CANCELLED then return {R.INVALID, st, n, s or R.UNKNOWN} end
    end
elseif mode == M.STEP then
    if st ~= W.FAILED and st ~= W.CANCELLED and st ~= W.SUCCEEDED then return {R.INVALID, st} end
elseif st ~= W.FAILED and st ~= W.CANCELLED then
    return {R.INVALID, st}
end
local refused = take_locks()
if refused[1] then return refused end
-- running again: its keys no longer expire (finish sets the retention anew)
for _, k in ipairs(workflow_keys()) do redis.call('PERSIST', k) end

local lists = {}
local function edge_list(id)
    if not id then return {} end
    if not lists[id] then lists[id] = cjson.decode(redis.call('HGET', K_EDGES, id)) end
    return lists[id]
end
local function parents_of(node) return edge_list(redis.call('HGET', K_PARENTS, node)) end
local function children_of(node) return edge_list(redis.call('HGET', K_CHILDREN, node)) end
local function is_join(id) return redis.call('HEXISTS', K_JOINS, id) == 1 end

local states = redis.call('HGETALL', K_STATE)
local state_of = {}
for i = 1, #states, 2 do state_of[states[i]] = states[i + 1] end
local function ended_well(node)
    local s = state_of[node]
    return s == S.SUCCEEDED or s == S.SKIPPED
end

-- The nodes this mode runs again besides (M.STEP) or instead of (M.RETRY) the stopped ones.
local picked = {}
if mode ~= M.STOPPED then
    local stack, visited = {}, {}
    for _, n in ipairs(seeds) do
        if state_of[n] and not is_cleanup(n) and not visited[n] then
            visited[n] = true
            picked[n] = true
            table.insert(stack, n)
        end
    end
    while #stack > 0 do
        for _, c in ipairs(children_of(table.remove(stack))) do
            if not visited[c] then
                visited[c] = true
                if is_join(c) then
                    table.insert(stack, c)
                elseif mode == M.STEP or state_of[c] == S.CANCELLED then
                    picked[c] = true
                    table.insert(stack, c)
                end
            end
        end
    end
    if mode == M.RETRY then
        -- a cancelled node that also waits for a node left failed or cancelled could never
        -- start: it stays cancelled, and so does what comes after it (until nothing changes)
        local seed = {}
        for _, n in ipairs(seeds) do seed[n] = true end
        local function blocks(p)
            if picked[p] or ended_well(p) then return false end
            if is_join(p) then
                for _, q in ipairs(parents_of(p)) do
                    if blocks(q) then return true end
                end
                return false
            end
            return true
        end
        local changed = true
        while changed do
            changed = false
            for n in pairs(picked) do
                if not seed[n] then
                    for _, p in ipairs(parents_of(n)) do
                        if blocks(p) then
                            picked[n] = nil
                            changed = true
                            break
                        end
                    end
                end
            end
        end
    end
end

local done = {}
local reset = {}
for i = 1, #states, 2 do
    local node, s = states[i], states[i + 1]
    if is_cleanup(node) or picked[node] then
        table.insert(reset, node)
    elseif s == S.SUCCEEDED or s == S.SKIPPED then
        done[node] = true
    elseif mode ~= M.RETRY then
        table.insert(reset, node)
    end
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
                if redo[p] and done[p] and state_of[p] == S.SUCCEEDED then
                    done[p] = nil
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
        for _, c in ipairs(children_of(table.remove(down))) do
            if not visited[c] then
                visited[c] = true
                if is_join(c) then
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
-- An expander that runs again writes its members anew (expand.lua refuses to write them
-- twice): the members of its last run go entirely, and its fan-in counts the expander alone
-- again, as at submit (parents list 'xp:<expander>', which expand.lua writes as [expander]).
local removed = {}
local node_hashes = {K_STATE, K_SPEC, K_DEPS, K_PARENTS, K_CHILDREN, K_GROUP, K_CLEANUP,
                     K_SKIP, K_JOIN_OF, K_TOKEN, K_ATTEMPT, K_STARTED, K_ENDED, K_ERROR,
                     K_DETAIL, K_RESULT, K_WAITING, K_RESENT, K_RELAY, K_PROGRESS}
for _, node in ipairs(reset) do
    local listed = redis.call('HGET', K_MEMBERS, node)
    if listed then
        for _, m in ipairs(cjson.decode(listed)) do
            removed[m] = true
            for _, k in ipairs(node_hashes) do redis.call('HDEL', k, m) end
            redis.call('DEL', K_MEMO .. m)
            redis.call('HDEL', K_FACTS, 'approval:' .. m)
            redis.call('LREM', K_ORDER, 1, m)
            unlease(m)
            done[m] = nil
            relay[m] = nil
        end
        redis.call('HDEL', K_MEMBERS, node)
        local j = redis.call('HGET', K_FANIN, node)
        if j then
            redis.call('HSET', K_EDGES, 'xp:' .. node, cjson.encode({node}))
            lists['xp:' .. node] = nil
            redis.call('HSET', K_PARENTS, j, 'xp:' .. node)
            redis.call('HSET', K_DEPS, j, 1)
        end
    end
end
if next(removed) ~= nil then
    local kept = {}
    for _, node in ipairs(reset) do
        if not removed[node] then table.insert(kept, node) end
    end
    reset = kept
end
-- A node that ended well and runs again starts afresh: what it kept of its last run goes
-- (output, memo, once markers "<node>|<key>"), and so do the removed members' markers.
local fresh = {}
for m in pairs(removed) do fresh[m] = true end
for _, node in ipairs(reset) do
    if ended_well(node) and not is_cleanup(node) then
        fresh[node] = true
        redis.call('HDEL', K_RESULT, node)
        redis.call('DEL', K_MEMO .. node)
    end
end
if next(fresh) ~= nil and redis.call('SCARD', K_ONCE) > 0 then
    for _, marker in ipairs(redis.call('SMEMBERS', K_ONCE)) do
        local at = string.find(marker, '|', 1, true)
        while at do  -- a node id may hold '|' too: try each split
            if fresh[string.sub(marker, 1, at - 1)] then
                redis.call('SREM', K_ONCE, marker)
                break
            end
            at = string.find(marker, '|', at + 1, true)
        end
    end
end
local join_open = {}
-- A runtime fan-out's expander stays succeeded while its members run again: for the nodes
-- after it (whose parents lists name it) it has ended only once its fan-in has, the
-- expander and every member done; for its members (parents list 'xp:<expander>', written
-- by expand.lua) it has ended. Its fan-in's parents are nodes, so it is counted first; a
-- join counted down to zero has ended, for whatever lists it among its parents.
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
    if remaining > 0 then open_fanin[expander] = true else done[j] = true end
end
-- Does `node` (a node or a join) still wait for its parent `p`?
local function waits_for(node, p)
    if not done[p] then return true end
    return open_fanin[p] == true and redis.call('HGET', K_PARENTS, node) ~= 'xp:' .. p
end
-- How many parents `node` still waits for.
local function waited_parents(node)
    local remaining = 0
    for _, p in ipairs(parents_of(node)) do
        if waits_for(node, p) then remaining = remaining + 1 end
    end
    return remaining
end
-- A node's count: 1 while its join (the stage before it) is open, else its waited parents.
local function remaining_of(node)
    local j = redis.call('HGET', K_JOIN_OF, node)
    if j then return join_open[j] and 1 or 0 end
    return waited_parents(node)
end
for _, j in ipairs(redis.call('HKEYS', K_JOINS)) do
    if join_open[j] == nil then  -- a fan-in is counted already
        local remaining = waited_parents(j)
        redis.call('HSET', K_DEPS, j, remaining)
        join_open[j] = remaining > 0
        if remaining == 0 then done[j] = true end
    end
end
for c in pairs(relay) do
    redis.call('HSET', K_DEPS, c, remaining_of(c))
    redis.call('HSET', K_RELAY, c, 1)
end
local ready = {}
local open_main, open_cleanup = 0, 0
for _, node in ipairs(reset) do
    local remaining = remaining_of(node)
    redis.call('HSET', K_DEPS, node, remaining)
    redis.call('HSET', K_STATE, node, S.PENDING)
    for _, k in ipairs({K_ATTEMPT, K_STARTED, K_ENDED, K_ERROR, K_WAITING, K_TOKEN, K_DETAIL,
                         K_RESENT, K_PROGRESS}) do
        redis.call('HDEL', k, node)
    end
    -- a gate that runs again asks again: the decision of its last run is not carried over
    redis.call('HDEL', K_FACTS, 'approval:' .. node)
    event(E.NODE_STATE, node, {'state', S.PENDING})
    if is_cleanup(node) then
        open_cleanup = open_cleanup + 1
    else
        open_main = open_main + 1
        if remaining == 0 then table.insert(ready, node) end
    end
end
for _, g in ipairs(redis.call('HKEYS', K_GLIMIT)) do
    redis.call('HSET', K_GACTIVE, g, 0)
    redis.call('DEL', K_GREADY .. g)
end
-- retry: a failed node left as it is still fails the workflow when the rest has run
-- (finish reads 'failed_kept'; the one the workflow failed with is named when it is kept)
local kept_failed = nil
if mode == M.RETRY then
    local named = redis.call('HGET', K_META, 'failed_node')
    for i = 1, #states, 2 do
        local node, s = states[i], states[i + 1]
        if s == S.FAILED and not picked[node] and not removed[node] and not is_cleanup(node)
                and (kept_failed == nil or node == named) then
            kept_failed = node
        end
    end
end
redis.call('HDEL', K_META, 'failed_node', 'error', 'cleanup_failed', 'ended_at', 'failed_kept')
if kept_failed then redis.call('HSET', K_META, 'failed_kept', kept_failed) end
redis.call('HSET', K_META, 'state', W.RUNNING, 'phase', P.MAIN, 'open_main', open_main,
           'open_cleanup', open_cleanup)
local user = ARGV[3]
local said
if mode == M.RETRY then
    redis.call('HSET', K_AUDIT, 'outcome', W.RUNNING, 'retried_by', user,
               'retried_at', tostring(NOW), 'retried_step', step)
    redis.call('HINCRBY', K_AUDIT, 'retries', 1)
    said = 'step ' .. step .. ' retried by ' .. user
    history(H.RETRIED, step, '')
else
    redis.call('HSET', K_AUDIT, 'outcome', W.RUNNING, 'resumed_by', user,
               'resumed_at', tostring(NOW))
    if mode == M.STEP then
        redis.call('HSET', K_AUDIT, 'resumed_from', step)
        said = 'resumed by ' .. user .. ' from step ' .. step
        history(H.RESUMED, step, 'from step ' .. step)
    else
        redis.call('HDEL', K_AUDIT, 'resumed_from')
        said = 'resumed by ' .. user
        history(H.RESUMED, nil, '')
    end
    redis.call('HINCRBY', K_AUDIT, 'resumes', 1)
end
event(E.WORKFLOW_STATE, nil, {'state', W.RUNNING, 'detail', said})
local sends = {}
for _, node in ipairs(ready) do
    if redis.call('HGET', K_STATE, node) == S.PENDING then make_ready(node, sends) end
end
advance(sends)
local out = {R.OK}
for _, v in ipairs(sends) do table.insert(out, v) end
return out
