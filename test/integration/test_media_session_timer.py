#!/usr/bin/env python3
"""RFC 4028 session timers on a bridged call, end to end (issue 8, point 1): the real switch
with scripts/examples/dtmf-hangup.lua (sip.bridge, relay mode), `[media] session_expires =
90` and `min_se = 90` (the smallest interval RFC 4028 §4 allows), a Python caller that asks
for a 90 s timer with itself as the refresher and then never refreshes, and a Python callee
that takes part in the timer (its 200s carry `Session-Expires: 90;refresher=uac`) and answers
whatever comes in its dialog.

  (1) negotiation: the caller's 200 has `Session-Expires: 90;refresher=uac` and
      `Require: timer` (§9); the callee's INVITE asks for 90 s with the switch refreshing
      (`refresher=uac`, `Supported: timer`, `Min-SE: 90`);
  (2) refresh: half-way (45 s after the answer, §10) the switch refreshes leg B itself, a
      re-INVITE or UPDATE inside the callee's dialog, and the callee's 200 keeps the call up;
  (3) enforcement: leg A's refresher (the caller) sends nothing, so at 90 - min(32, 90/3) =
      60 s the switch ends the call: BYE to both parties with `Reason: SIP;cause=408`,
      CALL_END with reason "session expired", and the media ports are free again.

About 65 s: the shortest interval the RFC allows sets the pace. Every wait is bounded.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.dont_write_bytecode = True   # keep __pycache__ out of the source tree
sys.path.insert(0, str(Path(__file__).resolve().parent / "lib"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from centralita_test import Checks, main  # noqa: E402
from media_peers import Callee, Caller, method_of  # noqa: E402
from test_media_bridge import MediaSwitch, check_freed, in_leg_b_dialog  # noqa: E402

INTERVAL = 90
REFRESH_AT = INTERVAL / 2                        # RFC 4028 §10
EXPIRE_AT = INTERVAL - min(32, INTERVAL / 3)     # 60 s
SLACK = 5.0                                      # timers, scheduling, a loaded CI machine


def header(m, name: str) -> str:
    return (m.get(name) or "") if m is not None else ""


def run(checks: Checks, args) -> None:
    ms = MediaSwitch(args, pairs=4, extra_media=f"session_expires = {INTERVAL}\n"
                                                f"min_se = {INTERVAL}\n")
    # The callee takes part (RFC 4028 §9): its 200s name the switch, leg B's UAC, the
    # refresher. (A 200 without Session-Expires would mean no timer on leg B, §7.2.)
    callee = Callee(answer_headers=["Require: timer",
                                    f"Session-Expires: {INTERVAL};refresher=uac"]).start()
    caller = Caller(ms.port, invite_headers=["Supported: timer",
                                             f"Session-Expires: {INTERVAL};refresher=uac"])
    try:
        checks.check("the callee registers as bob (200)", callee.register(ms.port) == 200,
                     callee.dump())
        caller.invite()
        final = caller.wait_final()
        answered_at = time.monotonic()
        calls = callee.wait_call(1, 2)
        if not checks.check(f"the call is answered ({final.status if final else None})",
                            final is not None and final.status == 200 and calls,
                            caller.dump() + "\n" + callee.dump() + "\n" + ms.log()):
            return
        call = calls[0]
        se = header(final, "session-expires").replace(" ", "").lower()
        checks.check(f"(1) the caller's 200 has Session-Expires: {INTERVAL};refresher=uac "
                     f"(got {se!r}) and Require: timer (got {header(final, 'require')!r})",
                     se == f"{INTERVAL};refresher=uac"
                     and "timer" in header(final, "require").lower(), final.raw.decode())
        inv = call.invite
        se_b = header(inv, "session-expires").replace(" ", "").lower()
        checks.check(f"(1) the callee's INVITE asks for {INTERVAL} s with the switch refreshing "
                     f"(Session-Expires {se_b!r}, Supported {header(inv, 'supported')!r}, "
                     f"Min-SE {header(inv, 'min-se')!r})",
                     se_b == f"{INTERVAL};refresher=uac"
                     and "timer" in header(inv, "supported").lower()
                     and header(inv, "min-se").strip() == str(INTERVAL), inv.raw.decode())

        got = callee.wait_until(lambda: bool(call.in_dialog),
                                REFRESH_AT + SLACK - (time.monotonic() - answered_at))
        at = time.monotonic() - answered_at
        refresh = call.in_dialog[0] if call.in_dialog else None
        checks.check(f"(2) the switch refreshes leg B half-way: {method_of(refresh) if refresh else None} "
                     f"after {at:.1f} s (expected {REFRESH_AT:.0f} s), in the callee's dialog",
                     got and refresh is not None and method_of(refresh) in ("INVITE", "UPDATE")
                     and REFRESH_AT - SLACK <= at <= REFRESH_AT + SLACK
                     and in_leg_b_dialog(call, refresh), callee.dump() + "\n" + ms.log())
        checks.check("(2) the call is still up after the refresh (no BYE yet)",
                     call.bye is None and caller.bye is None)

        bye_a = caller.wait_bye(EXPIRE_AT + SLACK - (time.monotonic() - answered_at))
        at = time.monotonic() - answered_at
        checks.check(f"(3) the caller never refreshed: BYE to the caller after {at:.1f} s "
                     f"(expected {EXPIRE_AT:.0f} s) with Reason {header(bye_a, 'reason')!r}",
                     bye_a is not None and EXPIRE_AT - SLACK <= at <= EXPIRE_AT + SLACK
                     and "cause=408" in header(bye_a, "reason").replace(" ", ""),
                     caller.dump() + "\n" + ms.log())
        checks.check("(3) and BYE to the callee in leg B's dialog",
                     callee.wait_until(lambda: call.bye is not None, 5)
                     and in_leg_b_dialog(call, call.bye), callee.dump())
        end = ms.events.wait(lambda e: e["name"] == "CALL_END"
                             and e.get("call_id") == caller.call_id, 5)
        checks.check(f"(3) CALL_END says \"session expired\" (got {end.get('reason') if end else None!r})",
                     end is not None and end.get("reason") == "session expired", ms.events.dump())
        check_freed(checks, "(3) session expiry", ms)
    finally:
        caller.close()
        callee.close()
        ms.stop(checks)


if __name__ == "__main__":
    main(run)
