-- cancel: an operator stops the workflow; running steps finish, then the finally steps run.
-- KEYS: the workflow keys (see _common.lua).
-- ARGV: 1 wf, 2 lease, 3 user
-- A workflow still submitting (its submit has not started it, or died before) ends cancelled
-- at once: none of its nodes ran, it took no lock, no finally step has anything to undo.
-- Returns {'invalid', state} when the workflow has ended, else {'ok', node1, token1, ...}.
local st = wf_state()
if not st then return {R.INVALID, R.UNKNOWN} end
if st == W.SUCCEEDED or st == W.FAILED or st == W.CANCELLED then return {R.INVALID, st} end
if st == W.SUBMITTING then
    local states = redis.call('HGETALL', K_STATE)
    for i = 1, #states, 2 do
        if states[i + 1] == S.PENDING then
            set_state(states[i], S.CANCELLED)
            redis.call('HSET', K_ENDED, states[i], tostring(NOW))
        end
    end
    redis.call('HSET', K_META, 'state', W.CANCELLED, 'phase', P.DONE, 'ended_at', tostring(NOW),
               'error', 'cancelled by ' .. ARGV[3] .. ' before it started')
    redis.call('ZREM', K_SUBMITTING, WF)
    redis.call('ZADD', K_WORKFLOWS, tonumber(redis.call('HGET', K_META, 'submitted_at')) or NOW, WF)
    redis.call('ZADD', K_IDS, 0, WF)
    redis.call('HSET', K_AUDIT, 'outcome', W.CANCELLED, 'cancelled_by', ARGV[3],
               'ended_at', tostring(NOW))
    history(H.CANCELLED, nil, 'before it started')
    event(E.WORKFLOW_STATE, nil, {'state', W.CANCELLED,
                                  'error', 'cancelled by ' .. ARGV[3] .. ' before it started'})
    expire_workflow()
    return {R.OK}
end
local sends = {}
if st == W.RUNNING then
    redis.call('HSET', K_AUDIT, 'cancelled_by', ARGV[3])
    history(H.CANCELLED, nil, '')
    stop_workflow(W.CANCELLING, nil, 'cancelled by ' .. ARGV[3])
end
advance(sends)
local out = {R.OK}
for _, v in ipairs(sends) do table.insert(out, v) end
return out
