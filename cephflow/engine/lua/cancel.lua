-- cancel: an operator stops the workflow; running steps finish, then the finally steps run.
-- KEYS: the workflow keys (see _common.lua).
-- ARGV: 1 wf, 2 now, 3 lease, 4 user
-- Returns {'invalid', state} when the workflow has ended, else {'ok', node1, token1, ...}.
local st = wf_state()
if not st then return {R.INVALID, R.UNKNOWN} end
if st == W.SUCCEEDED or st == W.FAILED or st == W.CANCELLED then return {R.INVALID, st} end
local sends = {}
if st == W.RUNNING then
    redis.call('HSET', K_AUDIT, 'cancelled_by', ARGV[4])
    stop_workflow(W.CANCELLING, nil, 'cancelled by ' .. ARGV[4])
end
advance(sends)
local out = {R.OK}
for _, v in ipairs(sends) do table.insert(out, v) end
return out
