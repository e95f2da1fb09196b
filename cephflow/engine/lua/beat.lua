-- beat: a worker still runs the node: its lease now ends one lease after the server's now.
-- KEYS: the workflow keys (see _common.lua).
-- ARGV: 1 wf, 2 lease, 3 node
-- Only an existing lease is extended, never shortened (a beat racing the run's end must not
-- cut short the lease its reschedule set: countdown + lease). Returns 1 if it was extended.
return redis.call('ZADD', K_LEASES, 'XX', 'GT', 'CH', NOW + LEASE, member(ARGV[3]))
