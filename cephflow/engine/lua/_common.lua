-- Shared helpers of every engine script (prepended by cephflow/engine/scripts.py).
--
-- Before this file comes a prelude that scripts.py generates when the scripts load:
--   K_<NAME>   each key of keys.SCRIPT_KEYS, bound from KEYS in that table's order (what each
--              key holds and its type: the schema in cephflow/engine/keys.py)
--   own_keys() a new list of the workflow's own keys among them (keys.OWNED_SCRIPT_KEYS)
--   S, W, P    NodeState, WorkflowState and WorkflowPhase (state.py): S.RUNNING, W.FAILING ...
--   E          EventType (state.py): E.NODE_STATE ...
--   R          the reply words, scripts.Reply: R.OK, R.STALE ...
--   M, H       scripts.Rerun, and state.HistoryAction (what the history records): H.APPROVED ...
--   K_HISTORY  keys.CONTROL_SCRIPT_KEYS: passed by the control path only, else nil
--
-- A paused workflow (meta 'paused_by' set: pause.lua) starts no main node and runs no
-- waiting one's next check: one that becomes ready, or whose message arrives, is held in
-- K_HELD (queued or waiting, unleased, unsent) until unpause.lua sends it; finally nodes
-- are never held. Its stop or its end lifts the pause.
-- Write states, phases, event types and replies through those tables, never as strings, and
-- never index KEYS here: tests/engine/test_lua_contract.py fails otherwise.
--
-- ARGV (common head): 1 workflow id, 2 lease seconds.
-- Script-specific arguments start at ARGV[3].
--
-- NOW is the engine's one clock: Redis's TIME (epoch seconds), read once per script, never
-- a caller's clock. Every lease score, start, end and event time a script writes uses it, so
-- a worker whose clock runs ahead or behind neither sees healthy leases as expired nor
-- times a step out early (the runner counts on from claim.lua's NOW with time.monotonic()).
-- TIME is allowed in a script that writes: scripts replicate their effects (Redis >= 5).

local WF = ARGV[1]
local LEASE = tonumber(ARGV[2])
local NOW
do
    local t = redis.call('TIME')
    NOW = tonumber(t[1]) + tonumber(t[2]) / 1000000
end

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

-- The history (K_HISTORY, keys.history): who did what, appended by the script that does it.
-- Only the control path passes the key, and with it, as the last ARGV, a JSON object
-- {user, host, maxlen}; a worker running the same script passes neither and nothing is
-- written (its Redis ACL may not allow writing the history). The stream is capped near maxlen.
local HISTORY = K_HISTORY and cjson.decode(ARGV[#ARGV])
local function history(action, step, detail)
    if not HISTORY then return end
    redis.call('XADD', K_HISTORY, 'MAXLEN', '~', tostring(HISTORY.maxlen), '*',
               'ts', tostring(NOW), 'action', action, 'user', HISTORY.user,
               'host', HISTORY.host, 'workflow', WF,
               'runbook', redis.call('HGET', K_META, 'runbook') or '',
               'step', step or '', 'detail', detail or '')
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
        return redis.call('HGET', K_META, 'phase') == P.CLEANUP
    end
    return wf_state() == W.RUNNING
end

-- fields: name, value pairs as for event(); a nil value keeps its slot (never shifts the pairs).
local function set_state(node, state, fields)
    redis.call('HSET', K_STATE, node, state)
    local f = {'state', state}
    if fields then
        for i = 1, table.maxn(fields) do f[i + 2] = fields[i] end
    end
    event(E.NODE_STATE, node, f)
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

-- Whether the workflow is paused, read once per script (a fan-out queues many nodes);
-- lift_pause and pause.lua keep it current.
local PAUSED = nil
local function is_paused()
    if PAUSED == nil then PAUSED = redis.call('HEXISTS', K_META, 'paused_by') == 1 end
    return PAUSED
end

-- While paused, a main node that would start is held instead: kept queued with no lease
-- (the reconciler leaves it alone) and no message; unpause.lua sends it. True if held.
local function hold_if_paused(node)
    if not is_paused() or is_cleanup(node) then return false end
    redis.call('SADD', K_HELD, node)
    unlease(node)
    return true
end

-- The pause ends (unpause, a stop, the end): clear it and return the held nodes, sorted
-- (those still queued or waiting are the caller's to send; a stop has cancelled them).
-- by: who lifted it ('' for none).
local function lift_pause(by)
    if not is_paused() then return {} end
    local held = redis.call('SMEMBERS', K_HELD)
    table.sort(held)
    redis.call('DEL', K_HELD)
    redis.call('HDEL', K_META, 'paused_by', 'paused_at', 'pause_reason')
    PAUSED = false
    event(E.WORKFLOW_PAUSE, nil, {'data', cjson.encode({paused = false, by = by or ''})})
    return held
end

-- Send this node: new token, queued, leased. Appends {node, token} to sends.
-- While the workflow is paused a main node is queued but held (hold_if_paused), not sent.
local function queue(node, sends)
    local tok = new_token()
    redis.call('HSET', K_TOKEN, node, tok)
    redis.call('HDEL', K_WAITING, node)
    local attempt = redis.call('HGET', K_ATTEMPT, node)
    if not attempt then
        attempt = '1'
        redis.call('HSET', K_ATTEMPT, node, attempt)
    end
    set_state(node, S.QUEUED, {'attempt', attempt})
    if hold_if_paused(node) then return end
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
            set_state(node, S.SKIPPED)
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
            elseif redis.call('HGET', K_STATE, child) == S.PENDING then
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
    set_state(node, S.CANCELLED)
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
            if s == S.PENDING then
                cancel_node(node, false)
            elseif s == S.QUEUED or (s == S.RUNNING and is_waiting(node)) then
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

-- The prefix of this workflow's lock keys: its cluster's (meta 'lock_prefix', written by
-- submit from keys.cluster_lock_prefix), or K_LOCK for a workflow written before locks were
-- per cluster.
local function lock_prefix()
    return redis.call('HGET', K_META, 'lock_prefix') or K_LOCK
end

-- Take the workflow's locks and its place among its cluster's running workflows: {} when
-- taken, {'held', lock, holder} when another workflow holds a lock, {'full', limit, wf1, ...}
-- when its cluster runs max_workflows (meta 'max_workflows'; 0 or none: no limit) others
-- (meta 'running_key': the set of the cluster's running workflows); nothing changed then.
local function take_locks()
    local prefix = lock_prefix()
    local locks = cjson.decode(redis.call('HGET', K_META, 'locks') or '[]')
    for _, name in ipairs(locks) do
        local holder = redis.call('GET', prefix .. name)
        -- a workflow written before locks were per cluster holds its lock under K_LOCK:
        -- it still blocks the name, on whichever cluster, until it releases it
        if not holder and prefix ~= K_LOCK then holder = redis.call('GET', K_LOCK .. name) end
        if holder and holder ~= WF then return {R.HELD, name, holder} end
    end
    local running = redis.call('HGET', K_META, 'running_key')
    local limit = tonumber(redis.call('HGET', K_META, 'max_workflows') or '0') or 0
    if running and limit > 0 and redis.call('SISMEMBER', running, WF) == 0
            and redis.call('SCARD', running) >= limit then
        local out = {R.FULL, tostring(limit)}
        for _, other in ipairs(redis.call('SMEMBERS', running)) do table.insert(out, other) end
        return out
    end
    for _, name in ipairs(locks) do redis.call('SET', prefix .. name, WF) end
    if running then redis.call('SADD', running, WF) end
    return {}
end

local function release_locks()
    local prefix = lock_prefix()
    local locks = cjson.decode(redis.call('HGET', K_META, 'locks') or '[]')
    for _, name in ipairs(locks) do
        if redis.call('GET', prefix .. name) == WF then redis.call('DEL', prefix .. name) end
    end
    local running = redis.call('HGET', K_META, 'running_key')
    if running then redis.call('SREM', running, WF) end
end

-- Every key of this workflow's own (not the audit, locks, indexes or the shared leases).
local function workflow_keys()
    local ks = own_keys()
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
    local final = W.SUCCEEDED
    if st == W.FAILING then
        final = W.FAILED
    elseif st == W.CANCELLING then
        final = W.CANCELLED
    end
    if final == W.SUCCEEDED and redis.call('HEXISTS', K_META, 'cleanup_failed') == 1 then
        final = W.FAILED
    end
    -- a retry left another failed node as it was: the workflow has not succeeded
    local kept = redis.call('HGET', K_META, 'failed_kept')
    if final == W.SUCCEEDED and kept then
        final = W.FAILED
        redis.call('HSET', K_META, 'failed_node', kept,
                   'error', redis.call('HGET', K_ERROR, kept) or S.FAILED)
    end
    lift_pause('')
    redis.call('HSET', K_META, 'state', final, 'phase', P.DONE, 'ended_at', tostring(NOW))
    local failed_node = redis.call('HGET', K_META, 'failed_node')
    local err = redis.call('HGET', K_META, 'error')
    if final == W.SUCCEEDED then failed_node = nil; err = nil end
    event(E.WORKFLOW_STATE, failed_node, {'state', final, 'error', err})
    release_locks()
    redis.call('HSET', K_AUDIT, 'outcome', final, 'ended_at', tostring(NOW))
    if failed_node then redis.call('HSET', K_AUDIT, 'failed_node', failed_node) end
    if err then redis.call('HSET', K_AUDIT, 'error', err) end
    expire_workflow()
end

-- A key written after the workflow ended (its meta already expiring) expires with it.
local function expire_with_workflow(key)
    local ms = redis.call('PTTL', K_META)
    if ms > 0 then redis.call('PEXPIRE', key, ms) end
end

-- After any end: main part over -> start the finally nodes; those over -> finish.
local function advance(sends)
    local phase = redis.call('HGET', K_META, 'phase')
    if phase == P.MAIN then
        if tonumber(redis.call('HGET', K_META, 'open_main')) > 0 then return end
        redis.call('HSET', K_META, 'phase', P.CLEANUP)
        local roots = cjson.decode(redis.call('HGET', K_META, 'cleanup_roots') or '[]')
        for _, r in ipairs(roots) do
            if redis.call('HGET', K_STATE, r) == S.PENDING then make_ready(r, sends) end
        end
        phase = P.CLEANUP
    end
    if phase == P.CLEANUP then
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
    local out = {R.CANCELLED}
    for _, v in ipairs(sends) do table.insert(out, v) end
    return out
end

-- The workflow leaves `running` for `failing` or `cancelling`.
local function stop_workflow(new_state, node, err)
    redis.call('HSET', K_META, 'state', new_state)
    if node then redis.call('HSET', K_META, 'failed_node', node) end
    if err then redis.call('HSET', K_META, 'error', err) end
    event(E.WORKFLOW_STATE, node, {'state', new_state, 'error', err})
    stop_forward()  -- held nodes are queued: cancelled with the rest
    lift_pause('')
end
