-- Uses a helper module from its own folder and an imager module.
local util = require("lib.util")
local again = require("lib.util")
local json = require("imager.json")

function request()
  return {
    method = "POST",
    path = util.path("items"),
    headers = {["Content-Type"] = "application/json"},
    body = json.encode({same = util == again, loads = util.loads()}),
  }
end
