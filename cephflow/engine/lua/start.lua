-- start: take the workflow's locks, index it, record the audit, queue its root nodes.
-- KEYS: the workflow keys (see _common.lua).
-- ARGV: 1 wf, 2 now, 3 lease, 4 JSON list of lock names, 5 JSON list of main root nodes,
--       6 submitted_at
-- Returns {'held', lock, holder} when a lock is held by another workflow (nothing changed),
-- else {'ok', node1, token1, node2, token2, ...}: the messages the caller must send.
local roots = cjson.decode(ARGV[5])
if wf_state() ~= W.SUBMITTING then
    -- run again (a retry after a lost reply): the roots are queued already; repeat the
    -- messages of those still queued (their token lets one copy run), queue nothing twice
    local out = {R.OK}
    for _, root in ipairs(roots) do
        if redis.call('HGET', K_STATE, root) == S.QUEUED then
            table.insert(out, root); table.insert(out, redis.call('HGET', K_TOKEN, root))
        end
    end
    return out
end
local locks = cjson.decode(ARGV[4])
for _, name in ipairs(locks) do
    local holder = redis.call('GET', K_LOCK .. name)
    if holder and holder ~= WF then return {R.HELD, name, holder} end
end
for _, name in ipairs(locks) do redis.call('SET', K_LOCK .. name, WF) end
redis.call('HSET', K_META, 'state', W.RUNNING, 'phase', P.MAIN)
redis.call('ZADD', K_WORKFLOWS, tonumber(ARGV[6]), WF)
redis.call('ZADD', K_IDS, 0, WF)
redis.call('HSET', K_AUDIT, 'outcome', W.RUNNING)
event(E.WORKFLOW_SUBMITTED, nil, {'state', W.RUNNING})
local sends = {}
for _, root in ipairs(roots) do make_ready(root, sends) end
advance(sends)
local out = {R.OK}
for _, v in ipairs(sends) do table.insert(out, v) end
return out
