-- Mixed soak traffic for bench/soak.py: sessions, uploads, chats, history reads.
-- Run with one connection per wrk thread (-t N -c N): a thread then has at most one request
-- in flight, so response() answers the request() that came just before it. Every response
-- is checked against what was sent (session id, file name); a mismatch is logged and counted.
-- Acknowledged writes (200/201 + what was sent) go to DIR/thread-<n>.log, one per line:
--   <epoch s> TAB <kind> TAB <fields...>
-- Usage: wrk -t N -c N -d 300s -s bench/soak.lua http://127.0.0.1:PORT -- DIR

local DOCS_PER_SESSION = 8
local WORDS = {"cluster", "task", "image", "secret", "role", "target", "listener", "subnet",
               "volume", "metric", "alarm", "budget", "bucket", "table", "queue", "policy"}

local threads = {}
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("tid", counter)
  table.insert(threads, thread)
end

-- wrk also calls request() once in its main Lua state (to check the request parses), where
-- init() never ran: start every value so that call works too.
local log, sid, pending
local seq, docs, markers = 0, 0, {}
tid = tid or 0
-- Globals, so done() can read them from each thread with thread:get().
n2, n4, n5, mism, orphan = 0, 0, 0, 0, 0

local function letters(n)
  -- n >= 0 as lower-case letters (the tokenizer keeps a run of letters as one word)
  local s = ""
  repeat
    s = string.char(97 + n % 26) .. s
    n = math.floor(n / 26)
  until n == 0
  return s
end

local function clean(s)
  return (string.gsub(string.sub(s or "", 1, 300), "[%c]", " "))
end

local function write(...)
  if log == nil then return end
  log:write(os.time(), "\t", table.concat({...}, "\t"), "\n")
  log:flush()
end

function init(args)
  math.randomseed(os.time() * 1000 + tid * 7919)
  log = assert(io.open(args[1] .. "/thread-" .. tid .. ".log", "a"))
end

local function post_json(path, body)
  local h = {Host = wrk.headers["Host"], ["Content-Type"] = "application/json"}
  return wrk.format("POST", path, h, body)
end

local function upload(to)
  local marker = "mk" .. letters(tid) .. "q" .. letters(seq) .. "z" .. letters(math.random(0, 456975))
  local ext = (seq % 2 == 0) and "md" or "txt"
  local name = "soak-" .. marker .. "." .. ext
  local w1, w2 = WORDS[math.random(#WORDS)], WORDS[math.random(#WORDS)]
  local text = "# Record " .. marker .. "\n\nThe " .. marker .. " record is soak document " ..
    seq .. " of wrk thread " .. tid .. ". It is about the " .. w1 .. " and the " .. w2 .. ".\n"
  local b = "soakboundary" .. letters(math.random(0, 456975))
  local parts = {}
  if to then
    parts[#parts + 1] = "--" .. b .. '\r\nContent-Disposition: form-data; name="session_id"' ..
      "\r\n\r\n" .. to .. "\r\n"
  end
  parts[#parts + 1] = "--" .. b .. '\r\nContent-Disposition: form-data; name="files"; ' ..
    'filename="' .. name .. '"\r\nContent-Type: text/plain\r\n\r\n' .. text .. "\r\n"
  parts[#parts + 1] = "--" .. b .. "--\r\n"
  pending = {kind = "upload", sid = to, name = name, marker = marker}
  local h = {Host = wrk.headers["Host"], ["Content-Type"] = "multipart/form-data; boundary=" .. b}
  return wrk.format("POST", "/upload", h, table.concat(parts))
end

function request()
  seq = seq + 1
  if sid == nil or docs >= DOCS_PER_SESSION then
    if seq % 2 == 0 then
      pending = {kind = "create"}
      return post_json("/sessions", '{"library": false}')
    end
    return upload(nil)
  end
  local r = seq % 5
  if r == 0 then
    return upload(sid)
  elseif r == 2 then
    pending = {kind = "history", sid = sid}
    return wrk.format("GET", "/sessions/" .. sid .. "/history", {Host = wrk.headers["Host"]})
  end
  local about = #markers > 0 and markers[math.random(#markers)] or "nothing"
  local message = "Which record mentions " .. about .. " turn " .. letters(tid) .. "t" .. letters(seq)
  pending = {kind = "chat", sid = sid, message = message}
  return post_json("/chat", '{"session_id": "' .. sid .. '", "message": "' .. message .. '"}')
end

local function mismatch(p, body)
  mism = mism + 1
  write("mismatch", p.kind, p.sid or "-", clean(body))
end

function response(status, headers, body)
  local p = pending
  pending = nil
  if p == nil then
    orphan = orphan + 1
    write("orphan", status, clean(body))
    return
  end
  if status >= 500 then n5 = n5 + 1 elseif status >= 400 then n4 = n4 + 1 else n2 = n2 + 1 end
  if status >= 300 then
    write("error", p.kind, status, clean(body))
    if status == 404 and p.sid == sid then sid = nil end
    return
  end
  local got = string.match(body, '"session_id":"([%w_-]+)"')
  if p.kind == "create" then
    if got == nil then return mismatch(p, body) end
    sid, docs, markers = got, 0, {}
    write("create", got)
  elseif p.kind == "upload" then
    if got == nil or (p.sid and got ~= p.sid) or not string.find(body, p.name, 1, true) then
      return mismatch(p, body)
    end
    if p.sid == nil then sid, docs, markers = got, 0, {} end
    docs = docs + 1
    markers[#markers + 1] = p.marker
    write("upload", got, p.name, p.marker)
  elseif got ~= p.sid then
    return mismatch(p, body)
  elseif p.kind == "chat" then
    write("chat", got, p.message)
  end
end

function done(summary, latency, requests)
  local c2, c4, c5, mm, orph = 0, 0, 0, 0, 0
  for _, t in ipairs(threads) do
    c2, c4, c5 = c2 + t:get("n2"), c4 + t:get("n4"), c5 + t:get("n5")
    mm, orph = mm + t:get("mism"), orph + t:get("orphan")
  end
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests": %d, "duration_us": %d, "connect": %d, "read": %d, "write": %d, ' ..
    '"status": %d, "timeout": %d, "max_us": %d, "p99_us": %d, "s2xx": %d, "s4xx": %d, ' ..
    '"s5xx": %d, "mismatch": %d, "orphan": %d}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency.max, latency:percentile(99), c2, c4, c5, mm, orph))
end
