-- push.lua: push-notification wake-up of sleeping mobile phones (RFC 8599).
--
--   centralita --config centralita.toml --script scripts/push.lua
--
-- The config needs a [push.<pn-provider>] section per provider the phones use
-- (docs/push.md). A phone registers with pn-provider, pn-prid and pn-param in
-- its Contact URI; then, for an INVITE or a MESSAGE to its user:
--
--   1. the contacts without push parameters (a desk phone) are relayed to at
--      once;
--   2. every push-capable binding gets one push (push.send: once per call and
--      device, however often the request is retried), and a handler watches
--      for that device's REGISTER (same AOR and pn-prid, and +sip.instance
--      and reg-id when it has them);
--   3. each phone that re-registers becomes a new branch of the same
--      transaction (late forking): the first 2xx wins, the other branches are
--      CANCELled;
--   4. nobody answers within WAIT seconds: 480; the caller CANCELs: 487, and
--      every wait and handler of the call ends with it.
--
-- Mid-dialog requests to a phone that may sleep again (a BYE, a re-INVITE)
-- carry the pn-purr the phone put in its Contact: it is pushed and the request
-- waits for its REGISTER in the same way (RFC 8599 §4.1.3).
--
-- A REGISTER through a digest challenge makes one branch: only the REGISTER
-- that is saved publishes a REGISTER event. Everything else is routed as
-- scripts/default.lua does.

-- Seconds an INVITE waits for sleeping phones: [push] wait in the config.
local WAIT = config.push_wait or 30
-- A MESSAGE must be answered before the sender's Timer F (32 s).
local MESSAGE_WAIT = math.min(WAIT, 20)

local function has_push(c)
  return c.pn_provider ~= "" and c.pn_prid ~= ""
end

-- Pushes every sleeping device of the callee and adds each one that wakes up
-- as a branch; relays to the awake contacts at once.
local function wake_and_fork(req, contacts)
  local awake, sleeping = {}, {}
  for _, c in ipairs(contacts) do
    table.insert(has_push(c) and sleeping or awake, c)
  end
  if #sleeping == 0 then
    if #awake == 0 then return req:reply(480) end
    return sip.relay(awake)
  end
  local wait = req.method == "INVITE" and WAIT or MESSAGE_WAIT
  local kind = req.method == "INVITE" and "call" or "message"
  local added = {}
  for _, c in ipairs(sleeping) do
    local filter = {aor = req.aor, pn_prid = c.pn_prid}
    if c.instance ~= "" then filter.instance = c.instance end      -- RFC 5626: the same device
    if c.reg_id ~= 0 then filter.reg_id = tostring(c.reg_id) end  -- and the same flow
    events.subscribe("REGISTER", filter, function(ev)
      if added[ev.contact] then return end  -- a second REGISTER of a phone already ringing
      added[ev.contact] = true
      -- The binding as the location service holds it (NAT flow, Path).
      local target = ev.contact
      for _, b in ipairs(location.lookup(req.aor) or {}) do
        if b.uri == ev.contact then target = b end
      end
      local ok, why = sip.append_branch(target)
      log.info("woken", req.aor, ev.contact, ok and "added as a branch" or why)
    end, {timeout = wait, scope = "transaction"})
    local id, why = push.send(c, {kind = kind})
    if not id then log.warn("no push to", req.aor, c.pn_prid, why) end
  end
  return sip.relay(awake, {wait_for_branches = wait})
end

-- A mid-dialog request (re-INVITE, BYE, ...) for a phone that may sleep: its
-- Contact, the request's target, carries the pn-purr the registrar gave it
-- (RFC 8599 §4.1.3). The phone is pushed, and once it registers again the
-- request goes over its new registration's flow.
local function wake_for_dialog(req, purr)
  local b = location.lookup_purr(purr)
  if not b then return sip.relay() end  -- not a binding of ours (any more): as addressed
  push.send(b, {kind = "purr"})
  local wait = req.method == "INVITE" and WAIT or MESSAGE_WAIT
  local ev, why = events.wait("REGISTER", {aor = b.aor, pn_prid = b.pn_prid}, wait)
  if not ev then return req:reply(480, "Temporarily Unavailable") end
  local now = location.lookup_purr(purr) or b
  return sip.relay({uri = req.ruri, received = now.received, transport = now.transport,
                    conn = now.conn, via_source = true})
end

function on_request(req)
  if req.method == "REGISTER" then
    if req.routing ~= "local" then return req:reply(403, "Not Our Domain") end
    if auth.required(req) and not auth.check(req) then return end
    return location.save(req)
  end
  if req.routing == "dialog" then
    local purr = req.ruri:match(";pn%-purr=([^;?>]+)")
    if purr then return wake_for_dialog(req, purr) end
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
  if req.method == "INVITE" or req.method == "MESSAGE" then
    return wake_and_fork(req, contacts)
  end
  if #contacts == 0 then return req:reply(480) end
  return sip.relay(contacts)
end

-- Nobody answered and no branch gave a better answer (RFC 3261 §16.7 would
-- send 408): the callee is not available.
function on_failure(branch, req)
  if branch.status == 408 then return req:reply(480, "Temporarily Unavailable") end
end
