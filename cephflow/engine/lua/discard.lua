-- discard: remove a workflow whose submit died before start (the reconciler, after
-- Settings.submit_grace_seconds): its keys and its entry in the submitting index go, its
-- audit record keeps why. It took no lock and is in no listing index (start does both).
-- KEYS: the workflow keys (see _common.lua).
-- ARGV: 1 wf, 2 lease, 3 the audit outcome (why it was removed)
-- Returns {'ok'}, or {'invalid', state} when it is not submitting (it started or was
-- cancelled meanwhile: nothing changed).
local st = wf_state()
if st and st ~= W.SUBMITTING then return {R.INVALID, st} end
for _, k in ipairs(workflow_keys()) do redis.call('DEL', k) end
redis.call('ZREM', K_SUBMITTING, WF)
redis.call('HSET', K_AUDIT, 'outcome', ARGV[3], 'ended_at', tostring(NOW))
return {R.OK}
