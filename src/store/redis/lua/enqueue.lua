-- enqueue.lua: mark a delivery as seen and queue it, in one atomic step.
--
-- KEYS[1]  queue stream (the lane's hash tag)
-- KEYS[2]  the lane's set of shops that ever sent a webhook, for sweeps over all shops
-- KEYS[3]  seen mark of the delivery id (X-Shopify-Webhook-Id)
-- KEYS[4]  seen mark of the event id (X-Shopify-Event-Id); absent when there is none
-- ARGV[1]  the encoded envelope
-- ARGV[2]  dedupe window in milliseconds
-- ARGV[3]  the shop
--
-- Returns 1 when queued, 0 when the delivery or the event was already seen.

local window = tonumber(ARGV[2])

-- SET NX marks and tests in one call. Seen through the event id only, the delivery id stays
-- marked as well, so a retry under the same delivery id stays a duplicate even if the event
-- mark is gone by then; NX keeps an existing mark's expiry, so repeated retries cannot stretch
-- the window forever.
if not redis.call('SET', KEYS[3], '1', 'PX', window, 'NX') then
  return 0
end
if KEYS[4] and not redis.call('SET', KEYS[4], '1', 'PX', window, 'NX') then
  return 0
end

redis.call('XADD', KEYS[1], '*', 'e', ARGV[1])
redis.call('SADD', KEYS[2], ARGV[3])
return 1
