-- A calculator that records what it sees: rps(round) doubles the last
-- planned rate, starting at 10, and ends after round 3.
seen = {}
observed = 0

function setup(options)
  start = tonumber(options.start or "10")
  limit = options.flags.max_rps or 1000
end

function observe(result)
  observed = observed + 1
end

function rps(round)
  seen[#seen + 1] = round
  if round.index > 3 then
    return nil
  end
  if round.last == nil then
    return start
  end
  return math.min(round.last.planned_rps * 2, limit) + 0.4
end
