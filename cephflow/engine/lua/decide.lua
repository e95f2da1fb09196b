-- decide: record an approval decision for a node as the fact approval:<node>, and an event.
-- KEYS: the workflow keys (see _common.lua).
-- ARGV: 1 wf, 2 now, 3 lease, 4 node, 5 decision JSON ({decision, by, at, reason}),
--       6 detail line ("approved by alice"), 7 early ('1': the gate may not be reached yet)
-- Returns {'invalid', reason} when the workflow or node has ended (or, for a main node, the
-- workflow is failing or cancelling: it will not run); {'decided', JSON} when the gate holds
-- a decision already (a decision is final: nothing changes); {'not_reached', state} when the
-- gate is still pending and ARGV[7] is not '1'; else {'ok', JSON as recorded} (with
-- early = true when the gate was still pending: it obeys the decision once reached).
local node = ARGV[4]
local st = wf_state()
if not st then return {R.INVALID, 'unknown workflow'} end
local s = redis.call('HGET', K_STATE, node)
if not s then return {R.INVALID, 'unknown node'} end
local before = redis.call('HGET', K_FACTS, 'approval:' .. node)
if before then return {R.DECIDED, before} end
-- a finally gate still runs while the workflow fails or is cancelled: it stays decidable
local stopping = (st == W.FAILING or st == W.CANCELLING) and is_cleanup(node)
if st ~= W.RUNNING and not stopping then
    -- "has ended (succeeded)", never "is succeeded": a state name is not always an adjective
    local ended = st == W.SUCCEEDED or st == W.FAILED or st == W.CANCELLED
    return {R.INVALID, ended and ('workflow has ended (' .. st .. ')') or ('workflow is ' .. st)}
end
if s == S.SUCCEEDED or s == S.FAILED or s == S.SKIPPED or s == S.CANCELLED then
    return {R.INVALID, 'step ' .. node .. ' has already ended (' .. s .. ')'}
end
if s == S.PENDING and ARGV[7] ~= '1' then return {R.NOT_REACHED, s} end
local record = ARGV[5]
if s == S.PENDING then
    local fields = cjson.decode(record)
    fields['early'] = true
    record = cjson.encode(fields)
end
redis.call('HSET', K_FACTS, 'approval:' .. node, record)
redis.call('HSET', K_DETAIL, node, ARGV[6])
event(E.APPROVAL, node, {'data', record})
return {R.OK, record}
