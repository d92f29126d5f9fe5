-- replay/replay.lua: replay recorded requests from a CSV file, in a loop.
--
-- The data file sits beside the script (here replay/requests.csv), as it
-- would in a ConfigMap that carries both: imager.data reads files from the
-- scenario's own folder and nowhere else.
--
--   imager run -scenario=scenarios/replay/replay.lua -target-url=http://127.0.0.1:8080 \
--     -min-rps=20 -max-rps=100 -step-rps=20 -duration=1m
--
-- The CSV has a header row naming its columns:
--   method   HTTP method; empty means GET
--   path     request path, starting with "/"; it may carry "?query"
--   query    query string without "?" (escaped already); may be empty
--   body     request body; may be empty. Quote fields holding commas,
--            quotes ("" inside quotes) or line breaks, as CSV does
--   headers  "Name: value" pairs separated by ";" (values cannot hold
--            ";"); may be empty. The column itself is optional
--
-- Every row of the shipped requests.csv is something the sumservice
-- answers with 200.
--
-- Each Lua VM walks the file on its own (with -lua-vms=4 there are four
-- cursors). With random_start=true each VM starts at a random row, so
-- that several VMs do not send the same sequence in step.
--
-- Options:
--   file          CSV file in this folder; default requests.csv
--   random_start  true to start at a random row; default false

local data = require("imager.data")
local random = require("imager.random")

local requests = {} -- one ready request table per CSV row
local first = 0 -- cursor position reset() returns to
local cursor = 0 -- index of the request sent last

-- headers parses "A: 1; B: 2" into {A = "1", B = "2"}; nil when empty.
local function headers(text, where)
  if text == nil or text:match("^%s*$") then
    return nil
  end
  local out = {}
  for pair in text:gmatch("[^;]+") do
    local name, value = pair:match("^%s*([^:%s]+)%s*:%s*(.-)%s*$")
    if name == nil then
      error(string.format("%s: header %q is not \"Name: value\"", where, pair))
    end
    out[name] = value
  end
  return out
end

-- blank turns an empty CSV field into nil, so the field is left out.
local function blank(s)
  if s == nil or s == "" then
    return nil
  end
  return s
end

function setup(options)
  local file = options.file or "requests.csv"
  local rows, columns = data.csv(file, { header = true })
  local have = {}
  for _, c in ipairs(columns) do
    have[c] = true
  end
  if not have.path then
    error(file .. ": no path column (want method,path,query,body[,headers])")
  end
  for n, row in ipairs(rows) do
    local where = string.format("%s line %d", file, n + 1) -- line 1 is the header
    requests[n] = {
      method = blank(row.method),
      path = row.path,
      query = blank(row.query),
      body = blank(row.body),
      headers = headers(row.headers, where),
    }
  end
  if #requests == 0 then
    error(file .. ": no requests after the header row")
  end
  if options.random_start == "true" then
    first = random.int(0, #requests - 1)
  end
  cursor = first
end

-- request returns the next row, wrapping around at the end. Returning the
-- same prepared table again is fine: imager copies what it needs from the
-- table as soon as request() returns.
function request()
  cursor = cursor % #requests + 1
  return requests[cursor]
end

-- reset starts the replay over (the orchestrator calls it when it resets
-- the request source).
function reset()
  cursor = first
end
