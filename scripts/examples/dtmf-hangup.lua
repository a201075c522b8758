-- dtmf-hangup.lua: a call is hung up (BYE to both parties) when either party
-- presses a key other than 2.
--
--   centralita --script scripts/examples/dtmf-hangup.lua
--
-- Every call to a local user is bridged (B2BUA) with its media relayed
-- through the switch (sip.bridge, media = "relay"), so the switch hears the
-- keys wherever they are sent: RTP telephone-events (RFC 4733, source
-- "rfc4733"), tones in G.711 audio (source "inband"), or SIP INFO
-- (application/dtmf-relay and application/dtmf bodies, source "info").
-- A handler subscribed to the DTMF events of the call (filter call_id = the
-- call's Call-ID) lives as long as the call: it ends by itself with the
-- call's CALL_END.
--
-- Everything else is routed as scripts/default.lua does.

local KEEP = "2"  -- the one digit that does not end the call

local function hang_up_on_digits(req)
  local call_id = req.call_id
  events.subscribe("DTMF", {call_id = call_id}, function(ev)
    if ev.digit == KEEP then
      log.info("DTMF", ev.digit, "(" .. ev.source .. "): the call goes on")
      return
    end
    log.info("DTMF", ev.digit, "(" .. ev.source .. "): hanging up")
    sip.hangup(call_id, "DTMF " .. ev.digit)
  end)
  -- Handlers of a call see its CALL_END too, then end with it.
  events.subscribe("CALL_END", {call_id = call_id}, function(ev)
    log.info("the call ended (" .. ev.reason .. ") after", ev.duration_ms, "ms")
  end)
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

  local contacts, known = location.lookup(req.aor)
  if contacts == nil then return req:reply(500, "Location Service Unavailable") end
  if #contacts == 0 then return req:reply(known and 480 or 404) end
  if req.method == "INVITE" then
    hang_up_on_digits(req)
    return sip.bridge(contacts, {media = "relay"})
  end
  return sip.relay(contacts)
end
