-- wrk script for Benchmarks/HTTP/run.sh: one pre-signed request per line of a load file,
-- "authorization<TAB>proof<TAB>body" (empty fields are left out). Each wrk thread takes every n-th line, so no
-- proof is sent twice; a thread that runs out starts again from its first line, and the server refuses those
-- replays (wrk counts them as non-2xx, and run.sh reports that count).
-- Arguments after "--": FILE THREADS METHOD PATH
local counter = 0

function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
end

local entries = {}
local n, i = 0, 0
local method, path = "GET", "/"

function init(args)
  local file, threads = args[1], tonumber(args[2])
  method, path = args[3], args[4]
  local k = 0
  for l in io.lines(file) do
    if k % threads == tid then
      local a, p, b = l:match("^([^\t]*)\t([^\t]*)\t(.*)$")
      n = n + 1
      entries[n] = { a, p, b }
    end
    k = k + 1
  end
end

function request()
  i = i + 1
  if i > n then i = 1 end
  local e = entries[i]
  local headers = {}
  if e[1] ~= "" then headers["Authorization"] = e[1] end
  if e[2] ~= "" then headers["Writ-Proof"] = e[2] end
  local body = nil
  if e[3] ~= "" then
    body = e[3]
    headers["Content-Type"] = "application/json"
  end
  return wrk.format(method, path, headers, body)
end
