-- progress: a task published a progress line; keep it as the node's detail and tell followers.
-- KEYS: the workflow keys (see _common.lua).
-- ARGV: 1 wf, 2 lease, 3 node, 4 detail, 5 data JSON,
--       6 the node's progress JSON ('' when this line carries none: the last one stays)
-- Returns 1, or 0 when the workflow is unknown.
if redis.call('EXISTS', K_META) == 0 then return 0 end
redis.call('HSET', K_DETAIL, ARGV[3], ARGV[4])
expire_with_workflow(K_DETAIL)  -- a late copy of an ended step (keep.lua)
if ARGV[6] and ARGV[6] ~= '' then
    redis.call('HSET', K_PROGRESS, ARGV[3], ARGV[6])
    expire_with_workflow(K_PROGRESS)
end
event(E.NODE_PROGRESS, ARGV[3], {'detail', ARGV[4], 'data', ARGV[5]})
return 1
