-- bench/scripts/wait-bench.lua: the routing of bench/compare/script_bench.py's
-- "waits" phase. An INVITE for a user with no binding waits (up to an hour)
-- for that user's REGISTER, then is relayed to the contacts registered; the
-- rest is routed as scripts/default.lua does.

function on_request(req)
  if req.method == "REGISTER" then
    return location.save(req)
  end
  if req.routing == "self" then return sip.answer_locally(req) end
  if req.routing ~= "local" then return sip.relay() end
  local contacts = location.lookup(req.aor)
  if contacts == nil then return req:reply(500, "Location Service Unavailable") end
  if #contacts == 0 and req.method == "INVITE" then
    local ev, why = events.wait("REGISTER", {aor = req.aor}, 3600)
    if not ev then return req:reply(480, why) end
    contacts = location.lookup(req.aor)
  end
  if contacts == nil or #contacts == 0 then return req:reply(480) end
  return sip.relay(contacts)
end
