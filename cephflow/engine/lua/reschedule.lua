-- reschedule: a run asks to be run again after a countdown (a poll not yet met, or a retry).
-- KEYS: the workflow keys (see _common.lua).
-- ARGV: 1 wf, 2 lease, 3 node, 4 token, 5 kind ('poll'|'retry'), 6 delay seconds,
--       7 error (retry) or ''
-- Returns {'stale'}, {'cancelled', node, token, ...} (the workflow stopped meanwhile) or
-- {'ok', new token}: the caller sends (wf, node, new token) with the countdown.
local node, tok, kind, delay = ARGV[3], ARGV[4], ARGV[5], tonumber(ARGV[6])
if redis.call('HGET', K_TOKEN, node) ~= tok or redis.call('HGET', K_STATE, node) ~= S.RUNNING
        or is_waiting(node) then
    return {R.STALE}
end
if not accepting(node) then return refuse_stopped(node) end
local new = new_token()
redis.call('HSET', K_TOKEN, node, new)
redis.call('HSET', K_WAITING, node, '1')
lease(node, delay + LEASE)
if kind == 'retry' then
    local attempt = redis.call('HINCRBY', K_ATTEMPT, node, 1)
    redis.call('HSET', K_ERROR, node, ARGV[7])
    event(E.NODE_RETRY, node, {'error', ARGV[7], 'attempt', attempt,
                               'data', cjson.encode({delay = delay})})
end
return {R.OK, new}
