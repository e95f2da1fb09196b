-- unpause: lift a workflow's pause and send the main nodes it held, each exactly once.
-- KEYS: the workflow keys (see _common.lua).
-- ARGV: 1 wf, 2 lease, 3 user
-- Each held node still queued (or waiting for its next check) gets a new token (a message of the pause, arriving late, is
-- stale) and a lease, and is sent; the held set is emptied in the same script, so a second
-- unpause sends nothing.
-- Returns {'invalid', 'unknown'} (no such workflow), {'not_paused', state} (nothing
-- changed), or {'ok', node1, token1, ...}: the messages the caller must send.
local st = wf_state()
if not st then return {R.INVALID, R.UNKNOWN} end
if not is_paused() then return {R.NOT_PAUSED, st} end
local held = lift_pause(ARGV[3])
local sends = {}
for _, node in ipairs(held) do
    local s = redis.call('HGET', K_STATE, node)
    if s == S.QUEUED or (s == S.RUNNING and is_waiting(node)) then
        local tok = new_token()
        redis.call('HSET', K_TOKEN, node, tok)
        lease(node, LEASE)
        table.insert(sends, node); table.insert(sends, tok)
    end
end
redis.call('HSET', K_AUDIT, 'unpaused_by', ARGV[3], 'unpaused_at', tostring(NOW))
history(H.UNPAUSED, nil, tostring(#sends / 2) .. ' held steps sent')
local out = {R.OK}
for _, v in ipairs(sends) do table.insert(out, v) end
return out
