-- writ.lua, plus a count of refused answers (status and the refusal's "code") per wrk thread, written to
-- standard error when the run ends: Benchmarks/HTTP/run.sh prints it under the table, so a row with non-2xx
-- answers says what was refused. Used for the authority's rows only (reading bodies in Lua costs the client time).
dofile("HTTP/writ.lua")

local threads = {}
local base_setup = setup
function setup(thread)
  base_setup(thread)
  table.insert(threads, thread)
end

refused = ""
local counts = {}
function response(status, headers, body)
  if status >= 300 then
    local code = (body and body:match('"code":"([^"]*)"')) or "?"
    local key = status .. " " .. code
    counts[key] = (counts[key] or 0) + 1
    local parts = {}
    for k, v in pairs(counts) do parts[#parts + 1] = k .. " ×" .. v end
    table.sort(parts)
    refused = table.concat(parts, ", ")
  end
end

function done(summary, latency, requests)
  for i, t in ipairs(threads) do
    local r = t:get("refused")
    if r and r ~= "" then io.stderr:write("thread " .. i .. ": " .. r .. "\n") end
  end
end
