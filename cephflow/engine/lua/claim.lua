-- claim: a worker received (wf, node, token); may it run the node now?
-- KEYS: the workflow keys (see _common.lua).
-- ARGV: 1 wf, 2 lease, 3 node, 4 token, 5 the claiming process ('<host>:<pid>',
--       keys.holder_id; '' for none): K_HOLDER .. it names the node it claimed, for a lease
--       (so that a restart tells a dead worker's nodes from a live one's), 6 who runs it
--       (the Celery worker's name and that process: kept in K_WORKER and told in the
--       running event when it starts a run)
-- Returns {'unknown'} (no such workflow/node), {'stale'} (token outdated or node not
-- runnable: a duplicate or redelivered message), {'cancelled', node, token, ...} (the workflow
-- stopped; sends follow), {'paused'} (the workflow is paused: the main node, queued or
-- waiting for its next check, is held, unleased, until unpause sends it again) or
-- {'run', ...}: the fields of scripts.Claimed.
local node, tok = ARGV[3], ARGV[4]
if redis.call('EXISTS', K_META) == 0 then return {R.UNKNOWN} end
local s = redis.call('HGET', K_STATE, node)
if not s then return {R.UNKNOWN} end
if redis.call('HGET', K_TOKEN, node) ~= tok then return {R.STALE} end
local waiting = is_waiting(node)
if not (s == S.QUEUED or (s == S.RUNNING and waiting)) then return {R.STALE} end
if not accepting(node) then return refuse_stopped(node) end
-- paused: neither a new start nor a waiting step's next check (a drain's next weight step)
if hold_if_paused(node) then return {R.PAUSED} end
redis.call('HDEL', K_WAITING, node)
redis.call('HDEL', K_RESENT, node)
local attempt = redis.call('HGET', K_ATTEMPT, node) or '1'
if s == S.QUEUED then
    -- who starts this run (its next checks, on whichever worker, keep it): kept and told
    local fields = {'attempt', attempt}
    if ARGV[6] and ARGV[6] ~= '' then
        redis.call('HSET', K_WORKER, node, ARGV[6])
        fields = {'attempt', attempt, 'worker', ARGV[6]}
    end
    set_state(node, S.RUNNING, fields)
end
local started = redis.call('HGET', K_STARTED, node)
if not started then
    started = tostring(NOW)
    redis.call('HSET', K_STARTED, node, started)
end
lease(node, LEASE)
if ARGV[5] and ARGV[5] ~= '' then
    redis.call('SET', K_HOLDER .. ARGV[5], member(node), 'PX', math.max(math.floor(LEASE * 1000), 1))
end
local meta = redis.call('HMGET', K_META, 'params', 'runbook', 'secrets', 'cluster')
return {R.RUN, attempt, started, redis.call('HGET', K_SPEC, node), meta[1] or '{}',
        meta[2] or '', meta[3] or '[]', tostring(NOW), meta[4] or ''}
