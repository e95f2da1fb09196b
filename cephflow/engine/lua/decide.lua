-- decide: record an approval decision for a node as the fact approval:<node>, and an event.
-- KEYS: the workflow keys (see _common.lua).
-- ARGV: 1 wf, 2 lease, 3 node, 4 decision JSON ({decision, by, reason}: 'at' is added here),
--       5 detail line ("approved by alice"), 6 early ('1': the gate may not be reached yet)
-- Returns {'invalid', reason} when the workflow or node has ended (or, for a main node, the
-- workflow is failing or cancelling: it will not run); {'decided', JSON} when the gate holds
-- a decision already (a decision is final: nothing changes); {'not_reached', state} when the
-- gate is still pending and ARGV[6] is not '1'; else {'ok', JSON as recorded} (with
-- early = true when the gate was still pending: it obeys the decision once reached).
local node = ARGV[3]
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
if s == S.PENDING and ARGV[6] ~= '1' then return {R.NOT_REACHED, s} end
local fields = cjson.decode(ARGV[4])
fields['at'] = NOW
if s == S.PENDING then fields['early'] = true end
local record = cjson.encode(fields)
redis.call('HSET', K_FACTS, 'approval:' .. node, record)
redis.call('HSET', K_DETAIL, node, ARGV[5])
event(E.APPROVAL, node, {'data', record})
local reason = type(fields['reason']) == 'string' and fields['reason'] or ''
if fields['early'] then reason = 'decided before the gate was reached' .. (reason ~= '' and ': ' .. reason or '') end
history(fields['decision'] == H.APPROVED and H.APPROVED or H.REJECTED, node, reason)
return {R.OK, record}
