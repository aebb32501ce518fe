-- Authorization: Bearer <line>, cycling through the file $BENCH_TOKENS (one token per line).
-- With one line this is a single hot token; plain runs use the same script (same wrk cost).
local tokens = {}
for line in io.lines(os.getenv("BENCH_TOKENS")) do
  if #line > 0 then tokens[#tokens + 1] = "Bearer " .. line end
end
local i = 0
if #tokens == 0 then  -- an empty file: no Authorization header at all (the 401 floor)
  request = function() return wrk.format(nil, nil, {}) end
  return
end
request = function()
  i = i % #tokens + 1
  return wrk.format(nil, nil, { ["Authorization"] = tokens[i] })
end
