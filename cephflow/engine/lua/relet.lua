-- relet: the reconciler found an expired lease; decide whether the node must be sent again.
-- KEYS: the workflow keys (see _common.lua).
-- ARGV: 1 wf, 2 lease, 3 node
-- Returns {'send', token} (send (wf, node, token) now) or {'skip'} (lease renewed meanwhile,
-- or the node has ended: its lease is dropped).
local node = ARGV[3]
local m = member(node)
local score = redis.call('ZSCORE', K_LEASES, m)
if not score then return {R.SKIP} end
if tonumber(score) > NOW then return {R.SKIP} end
local s = redis.call('HGET', K_STATE, node)
if redis.call('EXISTS', K_META) == 0 or not s then
    redis.call('ZREM', K_LEASES, m)
    return {R.SKIP}
end
if s == S.QUEUED or (s == S.RUNNING and is_waiting(node)) then
    -- the message may be lost, or only waiting in a long queue: the same token lets exactly
    -- one copy run, and each re-send doubles the lease so a deep queue is not flooded
    local n = redis.call('HINCRBY', K_RESENT, node, 1)
    lease(node, LEASE * math.pow(2, math.min(n, 6)))
    return {R.SEND, redis.call('HGET', K_TOKEN, node)}
end
if s == S.RUNNING then
    -- the worker running it died: a new token voids the old run, the node is queued again
    local tok = new_token()
    redis.call('HSET', K_TOKEN, node, tok)
    set_state(node, S.QUEUED, {'attempt', redis.call('HGET', K_ATTEMPT, node),
                               'detail', 'lease expired: sent again'})
    lease(node, LEASE)
    return {R.SEND, tok}
end
redis.call('ZREM', K_LEASES, m)
return {R.SKIP}
