-- late-branch.lua: a call already ringing a user's desk phone also rings the
-- user's mobile as soon as the mobile registers (Kamailio tsilo's ts_append,
-- OpenSIPS's t_inject_branches).
--
--   centralita --script scripts/examples/late-branch.lua
--
-- Every INVITE for a local user is relayed to the contacts registered now
-- and, while it rings, a handler subscribed to REGISTER for that user adds
-- every newly registered contact as a new branch of the same transaction. If
-- every branch fails, the transaction waits up to LINGER seconds for one more
-- to come (opts.wait_for_branches) before answering. The first 200 wins and
-- the other branches are CANCELled, as with any parallel fork.
--
-- Everything else is routed as scripts/default.lua does.

local RING = 60    -- seconds a call may ring waiting for new contacts
local LINGER = 10  -- seconds to wait for a new contact once every branch failed

local function ring_everywhere(req, contacts)
  local seen = {}
  for _, c in ipairs(contacts) do seen[c.uri] = true end
  events.subscribe("REGISTER", {aor = req.aor}, function(ev)
    if seen[ev.contact] then return end  -- a refresh of a contact already ringing
    seen[ev.contact] = true
    -- The binding as the location service holds it (NAT flow, Path) is the
    -- one to add: look it up by the contact the event names.
    local target = ev.contact
    for _, c in ipairs(location.lookup(req.aor) or {}) do
      if c.uri == ev.contact then target = c end
    end
    local ok, why = sip.append_branch(target)
    log.info("new contact", ev.contact, "for", req.aor, ok and "added as a branch" or why)
  end, {timeout = RING, scope = "transaction"})
  log.info("ringing", #contacts, "contact(s) of", req.aor, "and watching for more")
  if #contacts == 0 then
    -- Nothing to ring yet: wait for the first contact.
    return sip.relay({}, {wait_for_branches = LINGER})
  end
  return sip.relay(contacts, {wait_for_branches = LINGER})
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
  if req.method == "INVITE" then return ring_everywhere(req, contacts) end
  if #contacts == 0 then return req:reply(480) end
  return sip.relay(contacts)
end
