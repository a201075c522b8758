-- wait-for-register.lua: a call for a user who is not registered waits for
-- the user to register, then goes to the new contact.
--
--   centralita --script scripts/examples/wait-for-register.lua
--
-- An INVITE for a local user with no binding suspends its routing on
-- events.wait("REGISTER", {aor = ...}) for up to WAIT seconds (no thread is
-- held: the wait is a suspended coroutine). When the user registers, the
-- INVITE is relayed to the contacts now registered. Nobody registers: 480.
-- The caller CANCELs meanwhile: the switch answers 487 and the wait ends with
-- "cancelled". This is OpenSIPS's wait_for_event pattern (push notification
-- wake-up without the push: see issue 5 for RFC 8599).
--
-- Everything else is routed as scripts/default.lua does.

local WAIT = 8  -- seconds

local function wait_for_registration(req)
  log.info("no contact for", req.aor, "- waiting up to", WAIT, "s for it to register")
  local ev, why = events.wait("REGISTER", {aor = req.aor}, WAIT)
  if not ev then
    log.info("wait for", req.aor, "ended:", why)
    if why == "timeout" then
      return req:reply(480, "Not Registered")
    end
    return  -- "cancelled": the switch has answered 487 already
  end
  log.info(req.aor, "registered from", ev.source_ip .. ":" .. ev.source_port, "- relaying")
  local contacts = location.lookup(req.aor)
  if contacts == nil or #contacts == 0 then
    return sip.relay(ev.contact)  -- gone again already: try what it registered
  end
  return sip.relay(contacts)
end

function on_request(req)
  if req.method == "REGISTER" then
    if req.routing ~= "local" then return req:reply(403, "Not Our Domain") end
    if auth.required(req) and not auth.check(req) then return end
    return location.save(req)
  end
  if req.routing == "route" or req.routing == "dialog" then return sip.relay() end
  if req.routing == "stray" then return req:reply(404, "Not Here") end
  if auth.required(req) and not auth.check(req) then return end
  if req.routing == "foreign" then
    if not config.relay_foreign then return req:reply(403, "Relaying Forbidden") end
    return sip.relay()
  end
  if req.routing == "self" then return sip.answer_locally(req) end

  local contacts = location.lookup(req.aor)
  if contacts == nil then return req:reply(500, "Location Service Unavailable") end
  if #contacts > 0 then return sip.relay(contacts) end
  if req.method == "INVITE" then return wait_for_registration(req) end
  return req:reply(480)
end
