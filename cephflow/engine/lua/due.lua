-- due: what the reconciler must look at now, by the server's clock (one round trip).
-- KEYS: the workflow keys of no workflow in particular (only the shared indexes are read).
-- ARGV: 1 '', 2 lease, 3 at most this many of each, 4 submit grace seconds
-- Returns {expired lease members ("<wf>|<node>"), workflows still submitting that began
-- more than the grace ago}.
local limit = tonumber(ARGV[3])
local leases = redis.call('ZRANGEBYSCORE', K_LEASES, '-inf', NOW, 'LIMIT', 0, limit)
local stuck = redis.call('ZRANGEBYSCORE', K_SUBMITTING, '-inf', NOW - tonumber(ARGV[4]),
                         'LIMIT', 0, limit)
return {leases, stuck}
