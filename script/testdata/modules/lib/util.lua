-- A helper module: its top level runs once per VM.
local M = {}
loads_of_util = (loads_of_util or 0) + 1

function M.path(name)
  return "/api/" .. name
end

function M.loads()
  return loads_of_util
end

return M
