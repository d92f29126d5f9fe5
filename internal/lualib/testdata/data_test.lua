-- Tests for imager.data. The harness copies testdata/data to a temporary
-- scenario folder and adds symlinks: escape.txt -> ../secret.txt,
-- escape_abs.txt -> <abs>/secret.txt, parent -> .., inside_link.txt ->
-- lines.txt, a ConfigMap layout cm.txt -> ..data/cm.txt, a directory
-- emptydir and big.bin one byte over the 64 MiB limit.
local data = require("imager.data")
local json = require("imager.json")

function test_text()
  assert_eq(data.text("lines.txt"), "alpha\nbeta\n\ngamma\n", "exact bytes")
  assert_eq(data.text("sub/nested.txt"), "nested\n", "subfolder")
  assert_eq(data.text("./sub/../lines.txt"), data.text("lines.txt"), "dots that stay inside")
  assert_eq(data.text("empty.txt"), "", "empty file")
end

function test_lines()
  assert_eq(data.lines("lines.txt"), {"alpha", "beta", "", "gamma"}, "blank kept, final newline dropped")
  assert_eq(data.lines("crlf.txt"), {"one", "two"}, "CRLF")
  assert_eq(data.lines("noeol.txt"), {"last line without newline"}, "no final newline")
  assert_eq(data.lines("empty.txt"), {}, "empty file")
end

function test_cache_returns_same_table()
  local a = data.lines("lines.txt")
  assert_true(data.lines("lines.txt") == a, "same table on second call")
  local r1 = data.csv("rows.csv", {header = true})
  assert_true(data.csv("rows.csv", {header = true}) == r1, "csv cached with its options")
  assert_true(data.csv("rows.csv") ~= r1, "different options, different result")
end

function test_csv_header()
  local rows, cols = data.csv("rows.csv", {header = true})
  assert_eq(cols, {"id", "name", "score"}, "columns in order")
  assert_eq(rows, {
    {id = "1", name = "alice", score = "90"},
    {id = "2", name = "bob, jr", score = "85"},
    {id = "3", name = "multi\nline", score = "70"},
  }, "rows keyed by column")
end

function test_csv_plain_and_options()
  local rows, cols = data.csv("rows.csv")
  assert_eq(cols, nil, "no columns without header")
  assert_eq(#rows, 4, "header is a row")
  assert_eq(rows[1], {"id", "name", "score"}, "first row")
  assert_eq(data.csv("semi.csv", {separator = ";", comment = "#", header = true}),
    {{a = "1", b = "2"}, {a = "3", b = "4"}}, "separator, comment, BOM")
end

function test_csv_errors()
  assert_error(function() data.csv("ragged.csv") end,
    'imager.data.csv: "ragged.csv": record on line 2: wrong number of fields')
  assert_error(function() data.csv("dup.csv", {header = true}) end,
    'imager.data.csv: "dup.csv": header names column "a" twice')
  assert_error(function() data.csv("rows.csv", {separator = ";;"}) end,
    "imager.data.csv: options.separator must be a one-character string")
  assert_error(function() data.csv("rows.csv", {header = "yes"}) end,
    "imager.data.csv: options.header must be a boolean, got string")
  assert_error(function() data.lines("lines.txt", {header = true}) end, "imager.data.lines: takes no options")
end

function test_json()
  local v = data.json("obj.json")
  assert_eq(v.name, "imager", "string")
  assert_eq(v.tags, {"a", "b"}, "array")
  assert_eq(v.count, 3, "number")
  assert_eq(v.nested.n, 1.5, "nested")
  assert_true(v.nested.none == json.null, "null is json.null (shared with imager.json)")
  assert_eq(json.encode(v.empty), "[]", "empty array stays an array")
  assert_error(function() data.json("bad.json") end, 'imager.data.json: "bad.json": invalid JSON at byte 7')
end

function test_links_inside_are_followed()
  assert_eq(data.lines("inside_link.txt"), {"alpha", "beta", "", "gamma"}, "link inside the folder")
  assert_eq(data.text("cm.txt"), "from configmap\n", "ConfigMap ..data layout")
end

function test_escapes_refused()
  local cases = {
    {"../secret.txt", "dot-dot"},
    {data_dir .. "/../secret.txt", "absolute path"},
    {"/etc/passwd", "absolute system path"},
    {"escape.txt", "relative symlink out"},
    {"escape_abs.txt", "absolute symlink out"},
    {"parent/secret.txt", "directory symlink out"},
    {"sub/../../secret.txt", "dot-dot through a subfolder"},
  }
  for _, c in ipairs(cases) do
    local msg = assert_error(function() data.text(c[1]) end, "outside the scenario folder", c[2])
    assert_true(msg:find("imager.data.text: \"" .. c[1] .. "\"", 1, true) ~= nil, c[2] .. " names the file: " .. msg)
  end
  assert_error(function() data.lines("escape.txt") end, 'imager.data.lines: "escape.txt": outside the scenario folder')
  assert_error(function() data.csv("escape.txt") end, 'imager.data.csv: "escape.txt": outside the scenario folder')
  assert_error(function() data.json("escape.txt") end, 'imager.data.json: "escape.txt": outside the scenario folder')
end

function test_other_errors()
  assert_error(function() data.text("missing.txt") end, 'imager.data.text: "missing.txt": no such file in the scenario folder')
  assert_error(function() data.text("emptydir") end, 'imager.data.text: "emptydir": not a regular file')
  assert_error(function() data.text("big.bin") end, 'imager.data.text: "big.bin": file is 67108865 bytes, larger than the 67108864 byte limit')
  assert_error(function() data.text("") end, 'imager.data.text: "": empty file name')
  assert_error(function() data.text() end, "imager.data.text: argument #1 (name) must be a string, got no value")
end
