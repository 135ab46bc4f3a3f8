-- forget.lua: one step of deleting every key of a shop (shop/redact). The caller repeats it with
-- the returned cursor until the cursor is 0, so no single run blocks Redis for long.
--
-- KEYS[1]  any key of the shop ({shop}): routes the script to the shop's slot, where all its
--          keys live, so the SCAN below sees every one of them in Cluster too
-- ARGV[1]  SCAN cursor
-- ARGV[2]  MATCH pattern of the shop's keys
-- ARGV[3]  COUNT hint
-- ARGV[4]  the shop's tombstone, which stays (it keeps late deliveries out)
--
-- Returns {next cursor, keys deleted}.

local step = redis.call('SCAN', ARGV[1], 'MATCH', ARGV[2], 'COUNT', ARGV[3])
local deleted = 0
for _, key in ipairs(step[2]) do
  if key ~= ARGV[4] then
    deleted = deleted + redis.call('DEL', key)
  end
end
return {step[1], deleted}
