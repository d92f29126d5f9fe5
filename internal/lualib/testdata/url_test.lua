-- Tests for imager.url.
local url = require("imager.url")

function test_escape()
  assert_eq(url.escape("a b&c=d/é"), "a+b%26c%3Dd%2F%C3%A9", "query escape")
  assert_eq(url.escape("-_.~"), "-_.~", "unreserved kept")
  assert_eq(url.unescape("a+b%26"), "a b&", "unescape")
  assert_eq(url.path_escape("a b/c"), "a%20b%2Fc", "path escape")
  assert_eq(url.path_unescape("a%20b+c"), "a b+c", "path unescape keeps +")
  assert_eq(url.escape(42), "42", "numbers accepted")
  assert_error(function() url.unescape("%zz") end, 'imager.url.unescape: invalid URL escape "%zz"')
  assert_error(function() url.path_unescape("%4") end, "imager.url.path_unescape: invalid URL escape")
  assert_error(function() url.escape(nil) end, "imager.url.escape: argument #1 (s) must be a string, got nil")
end

function test_query()
  assert_eq(url.query({b = 2, a = "x y"}), "a=x+y&b=2", "sorted and escaped")
  assert_eq(url.query({id = {3, 1, 2}, z = true, f = 1.5}), "f=1.5&id=3&id=1&id=2&z=true", "lists repeat keys")
  assert_eq(url.query({}), "", "empty")
  assert_eq(url.query({e = {}, k = "v"}), "k=v", "empty list omitted")
  assert_eq(url.query({["a&b"] = "="}), "a%26b=%3D", "keys escaped")
  assert_eq(url.query({[1] = "one", flag = false}), "1=one&flag=false", "number key, false value")
  assert_error(function() url.query({a = {{}}}) end, 'imager.url.query: value of "a"[1] must be a string, number, boolean or a list of them, got a table')
  assert_error(function() url.query({a = {1, x = 2}}) end, 'imager.url.query: value of "a" is a table that is not a list (it has keys other than 1..1)')
  assert_error(function() url.query({a = print}) end,
    'imager.url.query: value of "a" must be a string, number, boolean or a list of them, got a function')
  assert_error(function() url.query({a = 1 / 0}) end, "got the number +Inf")
  assert_error(function() url.query({[true] = 1}) end, "imager.url.query: keys must be strings or numbers, got a boolean")
  assert_error(function() url.query("a=b") end, "imager.url.query: argument #1 (params) must be a table, got string")
end

function test_parse_query()
  assert_eq(url.parse_query("?a=1&b=x+y&a=2&c"), {a = {"1", "2"}, b = "x y", c = ""}, "parse")
  assert_eq(url.parse_query(""), {}, "empty")
  assert_eq(url.parse_query(url.query({q = "ü&=", n = {1, 2}})), {q = "ü&=", n = {"1", "2"}}, "round trip")
  assert_error(function() url.parse_query("a=%zz") end, "imager.url.parse_query: invalid URL escape")
  assert_error(function() url.parse_query("a=1;b=2") end, "imager.url.parse_query: invalid semicolon separator in query")
end

function test_join()
  assert_eq(url.join("http://h:8080/api/", "/v1", "items"), "http://h:8080/api/v1/items", "single slashes")
  assert_eq(url.join("http://h", "a b"), "http://h/a%20b", "escaped")
  assert_eq(url.join("http://h/x?q=1", "y"), "http://h/x/y?q=1", "query kept")
  assert_eq(url.join("http://h/a/b", "../c"), "http://h/a/c", "dot-dot removed")
  assert_eq(url.join("http://h/a", "b/"), "http://h/a/b/", "trailing slash kept")
  assert_eq(url.join("http://h/a"), "http://h/a", "no elements")
  assert_eq(url.join("/base", "x"), "/base/x", "relative base")
  assert_error(function() url.join("http://[::1", "x") end, "imager.url.join: parse")
  assert_error(function() url.join("http://h", {}) end, "imager.url.join: argument #2 (path) must be a string, got table")
end

function test_parse()
  local u = url.parse("https://bob@example.com:8443/a%20b/c?x=1&y=2#frag")
  assert_eq(u, {
    scheme = "https", user = "bob", host = "example.com:8443", hostname = "example.com",
    port = "8443", path = "/a b/c", query = "x=1&y=2", fragment = "frag",
  }, "all fields")
  local r = url.parse("/only/path")
  assert_eq(r.scheme, "", "relative has no scheme")
  assert_eq(r.path, "/only/path", "relative path")
  assert_eq(r.port, "", "no port")
  assert_error(function() url.parse("http://h/%zz") end, "imager.url.parse: parse")
end
