-- keep: a task (or the client) keeps a fact, a once-marker or a node memo.
-- KEYS: the workflow keys (see _common.lua).
-- ARGV: 1 wf, 2 lease, 3 what (a C value: fact, once-marker or memo entry), 4 node (of a
--       memo), 5 field (of a once-marker: the marker), 6 value
-- A copy of a step can still run after its workflow ended (sent again when its lease expired,
-- the other copy finished): what it writes then expires with the workflow's other keys, and
-- once they have expired it writes nothing, so no key outlives the workflow's retention.
-- Returns 1 when written (a once-marker: when it is new), else 0.
if redis.call('EXISTS', K_META) == 0 then return 0 end
local what, key, written = ARGV[3], nil, 1
if what == C.FACT then
    key = K_FACTS
    redis.call('HSET', key, ARGV[5], ARGV[6])
elseif what == C.ONCE then
    key = K_ONCE
    written = redis.call('SADD', key, ARGV[5])
else
    key = K_MEMO .. ARGV[4]
    redis.call('HSET', key, ARGV[5], ARGV[6])
end
expire_with_workflow(key)
return written
