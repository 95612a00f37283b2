-- wrk script for the benchmark: POST GraphQL requests from a file of variants.
--
--   wrk ... URL -- VARIANTS THREADS OFFSET RANGE
--
-- Each line of VARIANTS is "<Authorization value>\t<JSON body>" (the value may
-- be empty: no Authorization header). Request k of thread t (of THREADS) has
-- the number n = OFFSET + t + k * THREADS, unique in the run, and uses
-- variant n mod (number of variants): with 32 variants and 2 threads, each
-- thread cycles through its own 16, about one per connection; with more
-- variants than requests, each is used once. In the body, @N@ becomes n and
-- @R@ a random integer in [0, RANGE).
--
-- A response that is not 200 or carries "errors" counts as an error. done()
-- prints one line, "BENCH {json}", with the errors, the requests that reused
-- a variant, and the first error body.

local threads = {}

function setup(thread)
   thread:set("tid", #threads)
   table.insert(threads, thread)
end

function init(args)
   variants = {}
   for line in io.lines(args[1]) do
      local authorization, body = line:match("^([^\t]*)\t(.*)$")
      table.insert(variants, { authorization, body })
   end
   step = tonumber(args[2])
   offset = tonumber(args[3])
   range = tonumber(args[4])
   n = offset + tid
   errors = 0
   reused = 0
   sample = ""
   math.randomseed(os.time() * 100 + tid)
end

local function random_number()
   return tostring(math.random(0, range - 1))
end

function request()
   local index = n - offset
   local variant = variants[(index % #variants) + 1]
   if index >= #variants then
      reused = reused + 1
   end
   local body = variant[2]:gsub("@N@", tostring(n))
   body = body:gsub("@R@", random_number)
   n = n + step
   local headers = { ["Content-Type"] = "application/json" }
   if variant[1] ~= "" then
      headers["Authorization"] = variant[1]
   end
   return wrk.format("POST", nil, headers, body)
end

function response(status, headers, body)
   if status ~= 200 or body:find('"errors"', 1, true) then
      errors = errors + 1
      if sample == "" then
         sample = tostring(status) .. " " .. body:sub(1, 300)
      end
   end
end

local function quoted(text)
   return '"' .. text:gsub('[%c"\\]', function(c)
      return string.format("\\u%04x", c:byte())
   end) .. '"'
end

function done(summary, latency, requests)
   local errors_total, reused_total, first = 0, 0, ""
   for _, thread in ipairs(threads) do
      errors_total = errors_total + thread:get("errors")
      reused_total = reused_total + thread:get("reused")
      if first == "" then
         first = thread:get("sample")
      end
   end
   io.write(string.format(
      'BENCH {"errors": %d, "reused": %d, "sample": %s}\n',
      errors_total, reused_total, quoted(first)))
end
