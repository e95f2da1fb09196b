-- pause: an operator holds a running workflow: no new main step starts until unpause.
-- KEYS: the workflow keys (see _common.lua).
-- ARGV: 1 wf, 2 lease, 3 user, 4 reason ('' for none)
-- Steps running now go on to their end; the main nodes that become ready from now on, and
-- queued or waiting ones whose message arrives (a waiting step's next check: a drain takes
-- no next weight step), are held (_common.lua's hold_if_paused). Finally steps are never
-- held. Only a running workflow in its main part pauses.
-- Returns {'invalid', state} (unknown, not running, or past its main part: nothing changed),
-- {'paused', by, at, reason} (paused already: nothing changed), or {'ok', at}.
local st = wf_state()
if not st then return {R.INVALID, R.UNKNOWN} end
if st ~= W.RUNNING then return {R.INVALID, st} end
if redis.call('HGET', K_META, 'phase') ~= P.MAIN then return {R.INVALID, st} end
if is_paused() then
    local m = redis.call('HMGET', K_META, 'paused_by', 'paused_at', 'pause_reason')
    return {R.PAUSED, m[1], m[2] or '', m[3] or ''}
end
local at = tostring(NOW)
redis.call('HSET', K_META, 'paused_by', ARGV[3], 'paused_at', at, 'pause_reason', ARGV[4])
PAUSED = true
redis.call('HSET', K_AUDIT, 'paused_by', ARGV[3], 'paused_at', at, 'pause_reason', ARGV[4])
redis.call('HINCRBY', K_AUDIT, 'pauses', 1)
history(H.PAUSED, nil, ARGV[4])
event(E.WORKFLOW_PAUSE, nil, {'data', cjson.encode({paused = true, by = ARGV[3],
                                                     at = NOW, reason = ARGV[4]})})
return {R.OK, at}
