-- decide: record an approval decision for a node as the fact approval:<node>, and an event.
-- KEYS: the workflow keys (see _common.lua).
-- ARGV: 1 wf, 2 now, 3 lease, 4 node, 5 decision JSON ({decision, by, at, reason}),
--       6 detail line ("approved by alice")
-- Returns {'invalid', reason} when the workflow or node has ended (or, for a main node, the
-- workflow is failing or cancelling: it will not run), else {'ok'}.
local node = ARGV[4]
local st = wf_state()
if not st then return {'invalid', 'unknown workflow'} end
local s = redis.call('HGET', K_STATE, node)
-- a finally gate still runs while the workflow fails or is cancelled: it stays decidable
local stopping = (st == 'failing' or st == 'cancelling') and s and is_cleanup(node)
if st ~= 'running' and not stopping then return {'invalid', 'workflow is ' .. st} end
if not s then return {'invalid', 'unknown node'} end
if s == 'succeeded' or s == 'failed' or s == 'skipped' or s == 'cancelled' then
    return {'invalid', 'step ' .. node .. ' is ' .. s}
end
redis.call('HSET', K_FACTS, 'approval:' .. node, ARGV[5])
redis.call('HSET', K_DETAIL, node, ARGV[6])
event('approval', node, {'data', ARGV[5]})
return {'ok'}
