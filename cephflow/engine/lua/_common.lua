-- Shared prelude of every engine script (prepended by cephflow/engine/scripts.py).
--
-- KEYS (the order of keys.WorkflowKeys.script_keys(); types as in cephflow/engine/keys.py):
--   1 meta      hash   workflow meta: state, phase, open_main, open_cleanup, seq, locks, ...
--   2 spec      hash   node -> JSON spec            3 state    hash node -> NodeState
--   4 deps      hash   node -> deps not yet ended   5 children hash node -> edge-list id
--   6 edges     hash   edge-list id -> JSON ids     7 cleanup  hash node -> 1 (finally nodes)
--   8 skip      hash   node -> 1 (when false)       9 group    hash node -> limited group
--  10 glimit    hash   group -> limit              11 gactive  hash group -> queued+running
--  12 gready:   prefix of per-group ready lists (key = prefix .. group)
--  13 token     hash   node -> valid message token 14 waiting  hash node -> 1 (countdown)
--  15 attempt   hash   node -> try number          16 started  hash node -> epoch s
--  17 ended     hash   node -> epoch s             18 error    hash node -> last error
--  19 events    stream the workflow's events       20 leases   zset "<wf>|<node>" -> expiry
--  21 lock:     prefix of lock keys (key = prefix .. lock name; value = holder id)
--  22 audit     hash   who, when, runbook, params, outcome
--  23 parents   hash   node -> edge-list id        24 order    list node ids (topological)
--  25 result    hash   node -> JSON result         26 facts    hash key -> JSON value
--  27 detail    hash   node -> latest progress     28 workflows zset id -> submitted_at
--  29 ids       zset   id (score 0, lexicographic prefix lookup)
--  30 joins     hash   join id -> 1: invisible nodes that count down a shared dependency set
--  31 join-of   hash   node -> the join it waits for
--  32 resent    hash   node -> times the reconciler re-sent it since it was last claimed
--  33 once      set    "<node>|<key>" markers of StepContext.once
--  34 memo:     prefix of per-node memo hashes (key = prefix .. node)
--  35 relay     hash   node -> 1: a kept node that passes a re-run redo node's end on (resume)
--
-- ARGV (common head): 1 workflow id, 2 now (epoch seconds), 3 lease seconds.
-- Script-specific arguments start at ARGV[4].

local K_META, K_SPEC, K_STATE, K_DEPS, K_CHILDREN = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local K_EDGES, K_CLEANUP, K_SKIP, K_GROUP, K_GLIMIT = KEYS[6], KEYS[7], KEYS[8], KEYS[9], KEYS[10]
local K_GACTIVE, K_GREADY, K_TOKEN, K_WAITING = KEYS[11], KEYS[12], KEYS[13], KEYS[14]
local K_ATTEMPT, K_STARTED, K_ENDED, K_ERROR = KEYS[15], KEYS[16], KEYS[17], KEYS[18]
local K_EVENTS, K_LEASES, K_LOCK, K_AUDIT = KEYS[19], KEYS[20], KEYS[21], KEYS[22]
local K_PARENTS, K_ORDER, K_RESULT, K_FACTS = KEYS[23], KEYS[24], KEYS[25], KEYS[26]
local K_DETAIL, K_WORKFLOWS, K_IDS = KEYS[27], KEYS[28], KEYS[29]
local K_JOINS, K_JOIN_OF, K_RESENT, K_ONCE, K_MEMO = KEYS[30], KEYS[31], KEYS[32], KEYS[33],
    KEYS[34]
local K_RELAY = KEYS[35]

local WF = ARGV[1]
local NOW = tonumber(ARGV[2])
local LEASE = tonumber(ARGV[3])

-- Append one event; fields is a flat list of name, value pairs (nil or false values skipped).
-- The pairs are walked up to table.maxn, not #fields: a nil value leaves a hole in the list,
-- and # may stop at the hole or past it, pairing the following name with the wrong slot.
local function event(etype, node, fields)
    local args = {K_EVENTS, '*', 'ts', tostring(NOW), 'type', etype}
    if node then
        table.insert(args, 'node'); table.insert(args, node)
    end
    if fields then
        for i = 1, table.maxn(fields), 2 do
            if fields[i + 1] ~= nil and fields[i + 1] ~= false then
                table.insert(args, fields[i]); table.insert(args, tostring(fields[i + 1]))
            end
        end
    end
    return redis.call('XADD', unpack(args))
end

local function member(node) return WF .. '|' .. node end
local function lease(node, seconds)
    redis.call('ZADD', K_LEASES, NOW + seconds, member(node))
end
local function unlease(node) redis.call('ZREM', K_LEASES, member(node)) end

local function new_token()
    return tostring(redis.call('HINCRBY', K_META, 'seq', 1))
end

local function is_cleanup(node) return redis.call('HEXISTS', K_CLEANUP, node) == 1 end
local function is_waiting(node) return redis.call('HEXISTS', K_WAITING, node) == 1 end
local function wf_state() return redis.call('HGET', K_META, 'state') end

-- May this node start now? Main nodes while the workflow runs; finally nodes in cleanup.
local function accepting(node)
    if is_cleanup(node) then
        return redis.call('HGET', K_META, 'phase') == 'cleanup'
    end
    return wf_state() == 'running'
end

-- fields: name, value pairs as for event(); a nil value keeps its slot (never shifts the pairs).
local function set_state(node, state, fields)
    redis.call('HSET', K_STATE, node, state)
    local f = {'state', state}
    if fields then
        for i = 1, table.maxn(fields) do f[i + 2] = fields[i] end
    end
    event('node_state', node, f)
end

-- A node reached a terminal state: count it down in its part (main or cleanup).
local function count_end(node)
    redis.call('HSET', K_ENDED, node, tostring(NOW))
    redis.call('HDEL', K_WAITING, node)
    unlease(node)
    if is_cleanup(node) then
        redis.call('HINCRBY', K_META, 'open_cleanup', -1)
    else
        redis.call('HINCRBY', K_META, 'open_main', -1)
    end
end

-- Send this node: new token, queued, leased. Appends {node, token} to sends.
local function queue(node, sends)
    local tok = new_token()
    redis.call('HSET', K_TOKEN, node, tok)
    redis.call('HDEL', K_WAITING, node)
    local attempt = redis.call('HGET', K_ATTEMPT, node)
    if not attempt then
        attempt = '1'
        redis.call('HSET', K_ATTEMPT, node, attempt)
    end
    set_state(node, 'queued', {'attempt', attempt})
    lease(node, LEASE)
    table.insert(sends, node)
    table.insert(sends, tok)
end

local release_children

-- Nodes whose dependencies have all ended: skip, hold back (group limit) or queue them.
local function make_ready(first, sends)
    local stack = {first}
    while #stack > 0 do
        local node = table.remove(stack)
        if redis.call('HEXISTS', K_SKIP, node) == 1 then
            set_state(node, 'skipped')
            count_end(node)
            release_children(node, stack)
        else
            local g = redis.call('HGET', K_GROUP, node)
            local held = false
            if g then
                local limit = tonumber(redis.call('HGET', K_GLIMIT, g))
                local active = tonumber(redis.call('HGET', K_GACTIVE, g) or '0')
                if active >= limit then
                    redis.call('RPUSH', K_GREADY .. g, node)
                    held = true
                else
                    redis.call('HINCRBY', K_GACTIVE, g, 1)
                end
            end
            if not held then queue(node, sends) end
        end
    end
end

-- Count down the children of an ended node; push those that reached zero onto stack.
release_children = function(node, stack)
    local list_id = redis.call('HGET', K_CHILDREN, node)
    if not list_id then return end
    local children = cjson.decode(redis.call('HGET', K_EDGES, list_id))
    for _, child in ipairs(children) do
        if redis.call('HINCRBY', K_DEPS, child, -1) == 0 then
            if redis.call('HEXISTS', K_JOINS, child) == 1 then
                release_children(child, stack)  -- a join: its whole set ended
            elseif redis.call('HGET', K_STATE, child) == 'pending' then
                table.insert(stack, child)
            elseif redis.call('HDEL', K_RELAY, child) == 1 then
                release_children(child, stack)  -- kept by a resume: passes the end on
            end
        end
    end
end

local function release_and_ready(node, sends)
    local stack = {}
    release_children(node, stack)
    for _, child in ipairs(stack) do make_ready(child, sends) end
end

-- A group member left queued/running: free its slot and start one held-back member.
local function group_member_ended(node, sends, allow_next)
    local g = redis.call('HGET', K_GROUP, node)
    if not g then return end
    redis.call('HINCRBY', K_GACTIVE, g, -1)
    if allow_next then
        local nxt = redis.call('LPOP', K_GREADY .. g)
        if nxt then make_ready(nxt, sends) end
    end
end

-- A node that is not executing (pending, held, queued, waiting) ends cancelled.
local function cancel_node(node, was_active)
    set_state(node, 'cancelled')
    count_end(node)
    if was_active then group_member_ended(node, {}, false) end
end

-- Stop forward progress: every main node that is not executing right now is cancelled.
-- Runs once per failure or cancel (O(workflow) once, never per completion).
local function stop_forward()
    local states = redis.call('HGETALL', K_STATE)
    for i = 1, #states, 2 do
        local node, s = states[i], states[i + 1]
        if not is_cleanup(node) then
            if s == 'pending' then
                cancel_node(node, false)
            elseif s == 'queued' or (s == 'running' and is_waiting(node)) then
                cancel_node(node, true)
            end
        end
    end
    -- held main members were cancelled above; held finally members must still run
    local groups = redis.call('HKEYS', K_GLIMIT)
    for _, g in ipairs(groups) do
        local held = redis.call('LRANGE', K_GREADY .. g, 0, -1)
        redis.call('DEL', K_GREADY .. g)
        for _, n in ipairs(held) do
            if is_cleanup(n) then redis.call('RPUSH', K_GREADY .. g, n) end
        end
    end
end

local function release_locks()
    local locks = cjson.decode(redis.call('HGET', K_META, 'locks') or '[]')
    for _, name in ipairs(locks) do
        if redis.call('GET', K_LOCK .. name) == WF then redis.call('DEL', K_LOCK .. name) end
    end
end

-- Every key of this workflow's own (not the audit, locks, indexes or the shared leases).
local function workflow_keys()
    local ks = {K_META, K_SPEC, K_STATE, K_DEPS, K_CHILDREN, K_EDGES, K_CLEANUP, K_SKIP, K_GROUP,
                K_GLIMIT, K_GACTIVE, K_TOKEN, K_WAITING, K_ATTEMPT, K_STARTED, K_ENDED, K_ERROR,
                K_EVENTS, K_PARENTS, K_ORDER, K_RESULT, K_FACTS, K_DETAIL, K_JOINS, K_JOIN_OF,
                K_RESENT, K_ONCE, K_RELAY}
    for _, g in ipairs(redis.call('HKEYS', K_GLIMIT)) do table.insert(ks, K_GREADY .. g) end
    for _, node in ipairs(redis.call('HKEYS', K_STATE)) do table.insert(ks, K_MEMO .. node) end
    return ks
end

-- An ended workflow's keys expire after its retention (meta 'retention', ms; none: kept).
-- Once per workflow, O(nodes): memo hashes are per node.
local function expire_workflow()
    local ms = tonumber(redis.call('HGET', K_META, 'retention') or '')
    if not ms or ms <= 0 then return end
    ms = math.max(math.floor(ms), 1)
    for _, k in ipairs(workflow_keys()) do redis.call('PEXPIRE', k, ms) end
end

local function finish()
    local st = wf_state()
    local final = 'succeeded'
    if st == 'failing' then final = 'failed' elseif st == 'cancelling' then final = 'cancelled' end
    if final == 'succeeded' and redis.call('HEXISTS', K_META, 'cleanup_failed') == 1 then
        final = 'failed'
    end
    redis.call('HSET', K_META, 'state', final, 'phase', 'done', 'ended_at', tostring(NOW))
    local failed_node = redis.call('HGET', K_META, 'failed_node')
    local err = redis.call('HGET', K_META, 'error')
    if final == 'succeeded' then failed_node = nil; err = nil end
    event('workflow_state', failed_node, {'state', final, 'error', err})
    release_locks()
    redis.call('HSET', K_AUDIT, 'outcome', final, 'ended_at', tostring(NOW))
    if failed_node then redis.call('HSET', K_AUDIT, 'failed_node', failed_node) end
    if err then redis.call('HSET', K_AUDIT, 'error', err) end
    expire_workflow()
end

-- After any end: main part over -> start the finally nodes; those over -> finish.
local function advance(sends)
    local phase = redis.call('HGET', K_META, 'phase')
    if phase == 'main' then
        if tonumber(redis.call('HGET', K_META, 'open_main')) > 0 then return end
        redis.call('HSET', K_META, 'phase', 'cleanup')
        local roots = cjson.decode(redis.call('HGET', K_META, 'cleanup_roots') or '[]')
        for _, r in ipairs(roots) do
            if redis.call('HGET', K_STATE, r) == 'pending' then make_ready(r, sends) end
        end
        phase = 'cleanup'
    end
    if phase == 'cleanup' then
        if tonumber(redis.call('HGET', K_META, 'open_cleanup')) > 0 then return end
        finish()
    end
end

-- A message for a node its stopped workflow no longer accepts: cancel the node, let the
-- workflow move on (its finally part may start) and return {'cancelled', node, token, ...}.
local function refuse_stopped(node)
    local sends = {}
    cancel_node(node, true)
    advance(sends)
    local out = {'cancelled'}
    for _, v in ipairs(sends) do table.insert(out, v) end
    return out
end

-- The workflow leaves `running` for `failing` or `cancelling`.
local function stop_workflow(new_state, node, err)
    redis.call('HSET', K_META, 'state', new_state)
    if node then redis.call('HSET', K_META, 'failed_node', node) end
    if err then redis.call('HSET', K_META, 'error', err) end
    event('workflow_state', node, {'state', new_state, 'error', err})
    stop_forward()
end
