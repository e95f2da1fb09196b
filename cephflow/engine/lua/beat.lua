-- beat: a worker still runs the node: its lease now ends one lease after the server's now,
-- and so does the record of which process holds it.
-- KEYS: the workflow keys (see _common.lua).
-- ARGV: 1 wf, 2 lease, 3 node, 4 the process ('<host>:<pid>', keys.holder_id; '' for none)
-- Only an existing lease is extended, never shortened (a beat racing the run's end must not
-- cut short the lease its reschedule set: countdown + lease). Returns 1 if it was extended.
if ARGV[4] and ARGV[4] ~= '' then
    redis.call('PEXPIRE', K_HOLDER .. ARGV[4], math.max(math.floor(LEASE * 1000), 1))
end
return redis.call('ZADD', K_LEASES, 'XX', 'GT', 'CH', NOW + LEASE, member(ARGV[3]))
