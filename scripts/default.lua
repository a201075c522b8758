-- centralita's default routing script: what the switch does with no --script.
--
-- It is the built-in routing, written in Lua so it can be copied and changed:
--   * REGISTER: authenticate (when users are configured) and save the binding;
--   * a request with a Route set, or inside a dialog we record-routed: relay it;
--   * a request for one of our users: authenticate INVITEs from local users,
--     look the user up and fork to the registered contacts (by q-value);
--   * a request for a foreign domain: relay it when [sip] relay_foreign says so;
--   * a request addressed to the switch itself (no user part): answer it.
--
-- Before on_request runs, the switch has checked Max-Forwards (483), validated
-- the request (RFC 3261 §16.3), sent 100 Trying for an INVITE and removed its
-- own Route value (§16.4). req.routing tells what is left to decide:
-- "route", "dialog", "stray", "foreign", "self" or "local".
-- The API is documented in docs/scripting.md.

function on_request(req)
  if req.method == "REGISTER" then
    if req.routing ~= "local" then
      return req:reply(403, "Not Our Domain")
    end
    if auth.required(req) and not auth.check(req) then
      return  -- auth.check answered (401 challenge, or 403)
    end
    return location.save(req)  -- the registrar answers
  end

  if req.routing == "route" or req.routing == "dialog" then
    return sip.relay()  -- loose routing: the Route set, or the remote target
  end
  if req.routing == "stray" then
    return req:reply(404, "Not Here")  -- in-dialog, but not through us
  end

  if auth.required(req) and not auth.check(req) then
    return  -- 407 challenge sent
  end

  if req.routing == "foreign" then
    if not config.relay_foreign then
      return req:reply(403, "Relaying Forbidden")
    end
    return sip.relay()  -- via [sip] outbound_proxy when one is set
  end
  if req.routing == "self" then
    return sip.answer_locally(req)  -- OPTIONS 200, 501, 481 or 404
  end

  -- One of our users: the location service (RFC 3261 §16.5).
  local contacts, known = location.lookup(req.aor)
  if contacts == nil then
    return req:reply(500, "Location Service Unavailable")
  end
  if #contacts == 0 then
    if req.method == "OPTIONS" then
      return sip.answer_locally(req)  -- a ping for a name nobody registered
    end
    if known then
      return req:reply(480)  -- provisioned, not registered now
    end
    return req:reply(404)
  end
  return sip.relay(contacts)  -- parallel within a q-value, serial between them
end
