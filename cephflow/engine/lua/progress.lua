-- progress: a task published a progress line; keep it as the node's detail and tell followers.
-- KEYS: the workflow keys (see _common.lua).
-- ARGV: 1 wf, 2 now, 3 lease, 4 node, 5 detail, 6 data JSON
-- Returns 1, or 0 when the workflow is unknown.
if redis.call('EXISTS', K_META) == 0 then return 0 end
redis.call('HSET', K_DETAIL, ARGV[4], ARGV[5])
event(E.NODE_PROGRESS, ARGV[4], {'detail', ARGV[5], 'data', ARGV[6]})
return 1
