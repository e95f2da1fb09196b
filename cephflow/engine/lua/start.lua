-- start: take the workflow's locks, index it, record the audit, queue its root nodes.
-- KEYS: the workflow keys (see _common.lua).
-- ARGV: 1 wf, 2 lease, 3 note for the audit record ('' from submit; the reconciler's
--       'started by the reconciler ...' when it finishes a submit that died before this),
--       then the history's argument when the control path starts it (see _common.lua)
-- The locks, roots and submit time come from the meta the submit wrote (meta 'locks',
-- 'roots', 'submitted_at'); the meta field 'written' says the submit's writes are complete.
-- Returns {'held', lock, holder} when a lock is held by another workflow, {'full', limit,
-- wf1, ...} when its cluster runs its max_workflows already (nothing changed; take_locks),
-- {'invalid', 'unknown'} (no such workflow: removed as an unfinished submit),
-- {'invalid', 'incomplete'} (its writes are not complete: nothing changed),
-- {'invalid', state} for the reconciler (a note given) when it is no longer submitting,
-- else {'ok', node1, token1, node2, token2, ...}: the messages the caller must send.
local st = wf_state()
if not st then return {R.INVALID, R.UNKNOWN} end
local roots = cjson.decode(redis.call('HGET', K_META, 'roots') or '[]')
if st ~= W.SUBMITTING then
    -- the reconciler: another worker's reconciler, or the submit itself, came first
    if ARGV[3] ~= '' then return {R.INVALID, st} end
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
if redis.call('HGET', K_META, 'written') ~= '1' then return {R.INVALID, R.INCOMPLETE} end
local refused = take_locks()
if refused[1] then return refused end
redis.call('HSET', K_META, 'state', W.RUNNING, 'phase', P.MAIN)
redis.call('ZREM', K_SUBMITTING, WF)
redis.call('ZADD', K_WORKFLOWS, tonumber(redis.call('HGET', K_META, 'submitted_at')), WF)
redis.call('ZADD', K_IDS, 0, WF)
redis.call('HSET', K_AUDIT, 'outcome', W.RUNNING)
if ARGV[3] ~= '' then redis.call('HSET', K_AUDIT, 'note', ARGV[3]) end
history(H.SUBMITTED, nil, redis.call('HGET', K_META, 'params'))
event(E.WORKFLOW_SUBMITTED, nil, {'state', W.RUNNING})
local sends = {}
for _, root in ipairs(roots) do make_ready(root, sends) end
advance(sends)
local out = {R.OK}
for _, v in ipairs(sends) do table.insert(out, v) end
return out
