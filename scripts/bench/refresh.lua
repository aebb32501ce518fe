-- POST {"refresh_token": ...}, each request a different session's current refresh token
-- (a pool minted by authgate-bench tokens --refresh); wraps around only if the pool runs out.
local pool = {}
for line in io.lines(os.getenv("BENCH_TOKENS")) do
  if #line > 0 then pool[#pool + 1] = '{"refresh_token":"' .. line .. '"}' end
end
local i = 0
request = function()
  i = i % #pool + 1
  return wrk.format("POST", nil, { ["Content-Type"] = "application/json" }, pool[i])
end
