-- Cookie: __Host-authgate=<line> (the browser mode's access cookie), cycling through
-- $BENCH_TOKENS like tokens.lua; the same wrk cost as a bearer header.
local cookies = {}
for line in io.lines(os.getenv("BENCH_TOKENS")) do
  if #line > 0 then cookies[#cookies + 1] = "__Host-authgate=" .. line end
end
local i = 0
request = function()
  i = i % #cookies + 1
  return wrk.format(nil, nil, { ["Cookie"] = cookies[i] })
end
