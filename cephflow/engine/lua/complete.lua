-- complete: a run of a node ended (succeeded or failed for good); dispatch what follows.
-- KEYS: the workflow keys (see _common.lua).
-- ARGV: 1 wf, 2 lease, 3 node, 4 token, 5 outcome ('succeeded'|'failed'|'skipped'),
--       6 error ('' for none; for 'skipped': why, kept as the node's detail),
--       7 result JSON ('' for none)
-- A node skipped here (its `if:` was false, or a step it needs was skipped) ends like a
-- succeeded one for what comes after it: skipped counts as ended.
-- Returns {'stale'} when the token is outdated (another run owns the node: nothing changed),
-- else {'ok', node1, token1, ...}: the messages the caller must send.
local node, tok, outcome = ARGV[3], ARGV[4], ARGV[5]
local err = ARGV[6] ~= '' and ARGV[6] or nil
if redis.call('HGET', K_TOKEN, node) ~= tok or redis.call('HGET', K_STATE, node) ~= S.RUNNING
        or is_waiting(node) then
    return {R.STALE}
end
local sends = {}
local skipped = outcome == S.SKIPPED
local reason = nil
if skipped then reason, err = err, nil end
set_state(node, outcome, {'error', err or false, 'attempt', redis.call('HGET', K_ATTEMPT, node),
                          'detail', reason or false})
count_end(node)
if err then redis.call('HSET', K_ERROR, node, err) end
if reason then redis.call('HSET', K_DETAIL, node, reason) end
if ARGV[7] ~= '' then redis.call('HSET', K_RESULT, node, ARGV[7]) end
local cleanup = is_cleanup(node)
local went_on = outcome == S.SUCCEEDED or skipped
group_member_ended(node, sends, accepting(node) and (cleanup or went_on))
if cleanup then
    if outcome == S.FAILED and redis.call('HEXISTS', K_META, 'cleanup_failed') == 0 then
        redis.call('HSET', K_META, 'cleanup_failed', node)
        if wf_state() == W.RUNNING then
            redis.call('HSET', K_META, 'failed_node', node, 'error', err or S.FAILED)
        end
    end
    -- finally steps always run: a failed one still releases the ones after it
    release_and_ready(node, sends)
elseif went_on then
    if wf_state() == W.RUNNING then release_and_ready(node, sends) end
elseif wf_state() == W.RUNNING then
    stop_workflow(W.FAILING, node, err or S.FAILED)
end
advance(sends)
local out = {R.OK}
for _, v in ipairs(sends) do table.insert(out, v) end
return out
