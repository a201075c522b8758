#!/usr/bin/env python3
"""The WebSocket event stream /events (docs/api.md) against the real switch.

Clients: N `ws` clients in one Node process (node/stream_client.mjs: a real client library
checks the server's framing, answers pings, masks) and a raw Python client
(lib/ws_client.py: handshake by hand, for frames no library sends and for consumers that
never read). REGISTERs come from sipp (scenarios/register_burst.xml, one user per call) or
from Python, unauthenticated (no users file).

  (1) fan-out: 100 subscribers of ?event=REGISTER, a burst of 10,000 REGISTERs (sipp, 1000/s,
      each a distinct AOR): sipp got 200 for all; a reference subscriber got one event per
      AOR; every subscriber got the same seqs in order, or a `dropped` notice whose count
      makes up exactly for what it missed; /metrics centralita_stream_events_total covers
      what was received; the stream clients are gone once they closed
  (2) filters: ?event=REGISTER&aor=alice* gets alice1..3 only; a subscribe message gets
      "subscribed", then bob only; {"unsubscribe": id} stops it; no event parameter gets the
      REGISTERs and a CUSTOM from POST /api/events; {"unsubscribe": "REGISTER"} / "*" end
      those subscriptions, "CALL" (no event) none; bad filters (event=REGISTR, aorr=, a bad
      regex, since=abc) are refused with 400 before the upgrade, naming the problem (raw
      handshake and the ws library); bad messages get "error"
  (3) replay: ?since=<hello seq> after 5 REGISTERs -> the 5 events in order, "replayed" count
      5, then live events, nothing twice; ?since= in the middle of a 1,000-REGISTER burst ->
      the same seqs as a client connected all along; with [events] replay_buffer = 10, 30
      REGISTERs -> "missed" (>= 20), then the 10 newest, "replayed" count 10
  (4) auth (--http-token): no token -> 401, wrong token -> 401, ?token= or a Bearer header
      -> upgraded; Origin: http://evil.example -> 403; the listener's own origin is fine
  (5) malformed frames: unmasked -> 1002, binary -> 1003, bad UTF-8 -> 1007, garbage -> 1002,
      64 KiB + 1 (one frame or fragments) -> 1009 (64 KiB exactly is read), each followed by
      the TCP close; a client close is echoed, a ping answered, a non-object message gets
      "error"; the switch still answers /healthz and SIP OPTIONS
  (6) slow consumer ([http] ws_queue = 256): two clients stop reading (SO_RCVBUF 4 KiB) during
      a 5,000-REGISTER burst with a long User-Agent (so that the kernel's buffers cannot hold
      it all): both are cut off ("client too slow" logged, overflows counted); the one that
      reads at once then finds "dropped" (exact count and range) and close 1008; the switch
      closes the other's connection within 10 s (hard close); a normal client gets all 5,000
      events and sipp all 5,000 answers
  (7) keep-alive ([http] ws_ping_interval = 1): a raw client that never answers gets a
      ping within 2.5 s and close 1001 within 4.5 s; a Node client (answers pings) is still
      connected after 3 s; SIGTERM with a stream client connected -> exit code 0

    test_event_stream.py --binary build/centralita --source-dir . [--only slow,auth,...]
"""

import json
import sys
import threading
import time
import urllib.parse
from pathlib import Path

sys.dont_write_bytecode = True   # keep __pycache__ out of the source tree
sys.path.insert(0, str(Path(__file__).resolve().parent / "lib"))

from centralita_test import (HOST, Checks, SkipTest, Switch, check_clean_exit, main,  # noqa: E402
                             udp_options_ok)
from sip_core import SCENARIOS, register_udp, status_of  # noqa: E402
from ws_client import (OP_BINARY, OP_CLOSE, OP_CONT, OP_PING, OP_PONG, OP_TEXT,  # noqa: E402
                       RawWebSocket, StreamClients, api_stats, dropped_accounts, encode_frame, expand,
                       first_close, http_call, metric, node_missing, poll, server_socket_state,
                       stop_all_streams, stuck_frames)
import sipp as sipp_lib  # noqa: E402

FANOUT_CLIENTS = 100
FANOUT_BURST = 10000
SLOW_BURST = 5000
RATE = 1000                       # REGISTERs per second offered by sipp
TOKEN = "s3cret-stream-token"


# --------------------------------------------------------------------------- helpers

def start_switch(binary: str, config: str = "", extra: list[str] | None = None) -> Switch:
    sw = Switch(binary, extra_args=extra or [])
    if config:
        (sw.tmp / "centralita.toml").write_text(config)
        sw.args += ["--config", str(sw.tmp / "centralita.toml")]
    return sw.start()


def url(sw: Switch, query: str = "") -> str:
    return f"ws://{HOST}:{sw.http_port}/events" + (f"?{query}" if query else "")


def path(query: str = "") -> str:
    return "/events" + (f"?{query}" if query else "")


def aor(user: str) -> str:
    return f"{user}@{HOST}"


def register(sw: Switch, users: list[str]) -> list[int | None]:
    """One REGISTER each, in order (each answered before the next): their statuses."""
    return [status_of(register_udp(sw.port, u, f"<sip:{u}@{HOST}:5999>")[1]) for u in users]


def burst(sw: Switch, prefix: str, count: int, ua: str = "sipp-burst") -> sipp_lib.SippResult:
    """count REGISTERs for prefix1..prefixN at RATE/s (sipp, at most 200 outstanding), with
    User-Agent ua (which every REGISTER event carries)."""
    return sipp_lib.run_sipp(SCENARIOS / "register_burst.xml", sw.port, calls=count, rate=RATE,
                             limit=200, global_timeout_s=60, recv_timeout_ms=5000,
                             extra=["-s", prefix, "-key", "ua", ua])


class BackgroundBurst:
    """burst() in a thread, so that the test can act while it runs; join() is bounded (sipp
    is: its global timeout + 15 s) and gives the SippResult (None if it did not finish)."""

    def __init__(self, sw: Switch, prefix: str, count: int, ua: str = "sipp-burst") -> None:
        self.result: sipp_lib.SippResult | None = None
        self.thread = threading.Thread(target=self._run, args=(sw, prefix, count, ua), daemon=True)
        self.thread.start()

    def _run(self, *a) -> None:
        self.result = burst(*a)

    def join(self, timeout: float = 80.0) -> sipp_lib.SippResult | None:
        self.thread.join(timeout)
        return self.result


def slow_user_agent() -> str:
    """A User-Agent long enough that the slow-consumer burst is 3 times what the kernel can
    hold for a client that never reads (the switch's send buffer grows up to tcp_wmem's
    maximum: 4 MiB by default, i.e. 10,000 ordinary events), so the switch's own queue is
    what fills up."""
    try:
        wmem = int(Path("/proc/sys/net/ipv4/tcp_wmem").read_text().split()[2])
    except (OSError, ValueError, IndexError):
        wmem = 4 << 20
    per_event = 3 * (wmem + (1 << 20)) // SLOW_BURST
    return "slow-consumer-" + "x" * min(8000, max(0, per_event - 450))


def no_stream_clients(sw: Switch, timeout: float = 5.0, token: str = "") -> bool:
    """Whether /api/stats shows no stream client (within timeout)."""
    return bool(poll(lambda: api_stats(sw.http_port, token).get("events", {}).get("stream_clients") == 0,
                     timeout))


def burst_ok(r: sipp_lib.SippResult, count: int) -> bool:
    return r.exit_code == 0 and r.successful == count and r.failed == 0 and not r.timed_out


def burst_detail(r: sipp_lib.SippResult) -> str:
    return (f"sipp exit {r.exit_code}, created {r.created}, successful {r.successful}, failed "
            f"{r.failed} {r.failed_detail}, {r.elapsed_s:.1f} s\n{' '.join(r.command)}\n"
            f"{r.output_tail}")


def aors_of(events: list[dict]) -> list[str]:
    return [e.get("attributes", {}).get("aor") for e in events]


def is_type(t: str):
    return lambda f: f.get("type") == t


def event_for(user: str):
    return lambda f: f.get("type") == "event" and f.get("attributes", {}).get("aor") == aor(user)


# --------------------------------------------------------------------------- (1) fan-out

def fan_out(checks: Checks, sw: Switch) -> float | None:
    """Returns the burst's wall time (for the slow-consumer comparison)."""
    clients = StreamClients([url(sw, "event=REGISTER")], clients=FANOUT_CLIENTS,
                            print_frames="notices",
                            args=["--expect-event", "REGISTER", "--until-count", str(FANOUT_BURST),
                                  "--record-attr", "aor", "--timeout-ms", "120000"])
    ready = clients.wait_ready(20)
    if not checks.check(f"fan-out: {FANOUT_CLIENTS} clients connected and got their hello",
                        bool(ready) and ready["open"] == FANOUT_CLIENTS,
                        f"READY {ready}\n{clients.detail()}"):
        clients.stop()
        return None
    r = burst(sw, "fan-", FANOUT_BURST)
    checks.check(f"fan-out: sipp got 200 for all {FANOUT_BURST} REGISTERs", burst_ok(r, FANOUT_BURST),
                 burst_detail(r))
    summary = clients.wait_summary(45)
    if not checks.check("fan-out: the Node clients reported (SUMMARY)", summary is not None,
                        clients.detail()):
        return r.elapsed_s
    cs = summary["clients"]
    ref = cs[0]
    want = {aor(f"fan-{k}") for k in range(1, FANOUT_BURST + 1)}
    got_aors = ref.get("attrs") or []
    checks.check(f"fan-out: the reference subscriber got one REGISTER event per AOR "
                 f"({FANOUT_BURST} distinct)",
                 len(got_aors) == FANOUT_BURST and set(got_aors) == want and ref["ordered"],
                 f"{len(got_aors)} events, {len(set(got_aors))} distinct, missing "
                 f"{sorted(want - set(got_aors))[:10]}, unexpected {sorted(set(got_aors) - want)[:10]}")
    ref_seqs = expand(ref["seqs"])
    complete, cut, bad = 0, 0, []
    for c in cs:
        drops = [n for n in c["notices"] if n.get("type") == "dropped"]
        if (not drops and c["seqs"] == ref["seqs"] and c["ordered"] and c["duplicates"] == 0
                and c["counted"] == FANOUT_BURST and c["close"] and c["close"]["by"] == "client"):
            complete += 1
        elif drops and c["close"] and c["close"]["code"] == 1008:
            ok, why = dropped_accounts(expand(c["seqs"]), c["ordered"], drops[0], ref_seqs)
            cut += ok
            if not ok:
                bad.append(f"client {c['i']}: {why}")
        else:
            bad.append(f"client {c['i']}: {c['counted']} events, seqs {c['seqs'][:4]}, ordered "
                       f"{c['ordered']}, duplicates {c['duplicates']}, close {c['close']}, "
                       f"notices {c['notices'][:3]}, error {c['error']}")
    print(f"fan-out: {complete} of {len(cs)} subscribers got all {FANOUT_BURST} events, {cut} were "
          f"cut off with an exact 'dropped' notice; burst {r.elapsed_s:.1f} s, clients done "
          f"{summary['elapsed_ms'] / 1000:.1f} s after connecting", flush=True)
    checks.check("fan-out: every subscriber got every event in order, or an exact dropped notice",
                 not bad and complete + cut == FANOUT_CLIENTS and not clients.gave_up,
                 "\n".join(bad[:10]) + f"\nsummary reason {summary['reason']}")
    received = sum(c["events"] for c in cs)
    written = metric(sw.http_port, "centralita_stream_events_total")
    checks.check(f"fan-out: centralita_stream_events_total >= the {received} events received "
                 f"(1,000,000 when all complete)",
                 written is not None and written >= received and (cut or written >= 1_000_000),
                 f"metric {written}")
    dropped_metric = metric(sw.http_port, "centralita_events_dropped_total", 'where="stream"')
    dropped_sum = sum(n.get("count", 0) for c in cs for n in c["notices"] if n.get("type") == "dropped")
    checks.check("fan-out: centralita_events_dropped_total{where=\"stream\"} = the dropped counts",
                 dropped_metric == dropped_sum, f"metric {dropped_metric}, notices {dropped_sum}")
    checks.check("fan-out: no stream client left in /api/stats once they closed", no_stream_clients(sw),
                 json.dumps(api_stats(sw.http_port).get("events")))
    return r.elapsed_s


# --------------------------------------------------------------------------- (2) filters

def refused_filters(checks: Checks, sw: Switch) -> None:
    cases = [("event=REGISTR", "REGISTR"), ("event=REGISTER&aorr=x", "aorr"),
             ("event=REGISTER&aor=" + urllib.parse.quote("~(unclosed"), "aor"),
             ("event=REGISTER&since=abc", "since")]
    for query, named in cases:
        with RawWebSocket(sw.http_port, path(query)) as ws:
            body = ws.body.decode("utf-8", "replace")
            checks.check(f"filters: ?{query} refused with 400 before the upgrade, naming '{named}'",
                         ws.status == 400 and named in body, f"{ws.status} {ws.reason} {body}")
    status, headers, body = http_call(sw.http_port, "GET", "/events?event=REGISTER")
    checks.check("filters: GET /events without Upgrade -> 426 with Upgrade: websocket",
                 status == 426 and headers.get("upgrade", "").lower() == "websocket",
                 f"{status} {headers} {body!r}")


def filters(checks: Checks, sw: Switch) -> None:
    refused_filters(checks, sw)
    urls = [url(sw, "event=REGISTER&aor=" + urllib.parse.quote("alice*")),
            url(sw, "event=CUSTOM&subclass=never"), url(sw), url(sw, "event=REGISTR")]
    sc = StreamClients(urls, stdin=True)
    try:
        ready = sc.wait_ready(10)
        checks.check("filters: 3 clients connected, the 4th (event=REGISTR) refused",
                     bool(ready) and ready["open"] == 3 and ready["failed"] == 1,
                     f"READY {ready}\n{sc.detail()}")
        refused = sc.wait_frame(3, is_type("_http"), 1)
        checks.check("filters: the ws library's handshake with event=REGISTR fails with 400",
                     bool(refused) and refused["status"] == 400 and "REGISTR" in refused["body"],
                     f"{refused} {sc.frames[3]}")
        sc.send(1, {"subscribe": "REGISTER", "filter": {"aor": aor("bob")}})
        sub = sc.wait_frame(1, lambda f: f.get("type") in ("subscribed", "error"))
        sub_id = (sub or {}).get("id")
        checks.check("filters: a subscribe message gets \"subscribed\" with an id and the filter",
                     bool(sub) and sub["type"] == "subscribed" and isinstance(sub_id, int)
                     and sub.get("event") == "REGISTER" and f"aor={aor('bob')}" in sub.get("filter", ""),
                     f"{sub}")
        statuses = register(sw, ["alice1", "alice2", "bob", "carol"])
        st, _, body = http_call(sw.http_port, "POST", "/api/events",
                                json.dumps({"subclass": "test::x", "attributes": {"k": "v"}}),
                                {"Content-Type": "application/json"})
        statuses += register(sw, ["alice3"])
        checks.check("filters: 5 REGISTERs answered 200, POST /api/events 202",
                     statuses == [200] * 5 and st == 202, f"{statuses} {st} {body!r}")
        # Events reach one client in the bus's order: alice3, registered last, ends what
        # client 0 gets from this round, and client 2's too.
        sc.wait_frame(0, event_for("alice3"))
        got0 = aors_of(sc.events(0))
        checks.check("filters: aor=alice* got alice1, alice2, alice3 and nothing else",
                     got0 == [aor("alice1"), aor("alice2"), aor("alice3")], f"{got0}")
        sc.wait_frame(2, event_for("alice3"))
        mine = {aor(u) for u in ("alice1", "alice2", "bob", "carol", "alice3")}
        got2 = [a for a in aors_of(sc.events(2, "REGISTER")) if a in mine]
        custom = [e for e in sc.events(2, "CUSTOM") if e["attributes"].get("subclass") == "test::x"]
        checks.check("filters: no event parameter: the 5 REGISTERs in order and the CUSTOM event",
                     got2 == [aor(u) for u in ("alice1", "alice2", "bob", "carol", "alice3")]
                     and len(custom) == 1 and custom[0]["attributes"].get("k") == "v",
                     f"REGISTER {got2}\nCUSTOM {custom}\nall {[f.get('name') for f in sc.events(2)]}")
        sc.wait_frame(1, event_for("bob"))
        sc.send(1, {"unsubscribe": sub_id})
        unsub = sc.wait_frame(1, lambda f: f.get("type") in ("unsubscribed", "error"))
        checks.check("filters: {\"unsubscribe\": id} -> \"unsubscribed\" with that id",
                     bool(unsub) and unsub == {"type": "unsubscribed", "id": sub_id}, f"{unsub}")
        mark = len(sc.frames[1])
        sc.send(1, {"subscribe": "REGISTER", "filter": {"aor": aor("dave")}})
        sc.wait_frame(1, is_type("subscribed"), start=mark)
        statuses = register(sw, ["bob", "dave"])   # dave's event comes after bob's refresh
        sc.wait_frame(1, event_for("dave"))
        got1 = aors_of(sc.events(1))
        checks.check("filters: the subscribed client got bob, then (unsubscribed) not bob's "
                     "refresh, then dave", statuses == [200, 200]
                     and got1 == [aor("bob"), aor("dave")], f"{statuses} {got1}")
        mark = len(sc.frames[1])
        sc.send(1, {"unsubscribe": 999999})
        sc.send(1, {"subscribe": "REGISTER", "filter": {"aorr": "x"}})
        sc.send(1, "[1, 2]")
        sc.wait_frame(1, lambda f: f.get("type") == "error" and "JSON object" in f.get("message", ""),
                      start=mark)
        errors = [f.get("message", "") for f in sc.frames[1][mark:] if f.get("type") == "error"]
        checks.check("filters: unknown id, a bad attribute, a non-object -> 3 \"error\" notices",
                     len(errors) == 3 and "no such subscription" in errors[0] and "aorr" in errors[1],
                     f"{sc.frames[1][mark:]}")
        unsubscribe_by_name(checks, sw, sc)
    finally:
        summary = sc.finish()
    closes = [c["close"] for c in (summary or {}).get("clients", [])[:3]]
    checks.check("filters: the clients stayed connected until they closed",
                 len(closes) == 3 and all(c and c["by"] == "client" and c["code"] == 1000 for c in closes),
                 f"{closes}")


def unsubscribe_by_name(checks: Checks, sw: Switch, sc: StreamClients) -> None:
    """{"unsubscribe": NAME} ends that event's subscriptions, "*" every one; a name that is no
    event's (CALL: a prefix of CALL_START, CALL_ANSWER, CALL_END) ends none."""
    mark = len(sc.frames[2])
    sc.send(2, {"unsubscribe": "CALL"})
    sc.wait_frame(2, lambda f: f.get("type") in ("error", "unsubscribed"), start=mark)
    sc.send(2, {"subscribe": "REGISTER", "filter": {"aor": aor("yan")}})   # a marker: in order
    sc.wait_frame(2, is_type("subscribed"), start=mark)
    after = [f for f in sc.frames[2][mark:] if f.get("type") in ("error", "unsubscribed")]
    checks.check("filters: {\"unsubscribe\": \"CALL\"} (no such event) -> \"error\", "
                 "no subscription ended", [f["type"] for f in after] == ["error"], f"{after}")
    marks = [len(sc.frames[i]) for i in range(3)]
    for i, what in ((0, "REGISTER"), (2, "*")):
        sc.send(i, {"unsubscribe": what})
        sc.send(i, {"subscribe": "REGISTER", "filter": {"aor": aor("zed")}})
        sc.wait_frame(i, is_type("subscribed"), start=marks[i])
    statuses = register(sw, ["alice4", "yan", "zed"])
    for i in (0, 2):
        sc.wait_frame(i, event_for("zed"), start=marks[i])
    got = {i: [f.get("type") if f.get("type") != "event" else f["attributes"]["aor"]
               for f in sc.frames[i][marks[i]:]] for i in (0, 2)}
    kinds = got[2].count("unsubscribed")
    checks.check("filters: {\"unsubscribe\": \"REGISTER\"} / \"*\" end every matching "
                 "subscription (an \"unsubscribed\" each): alice4 and yan reach neither client, "
                 "zed (subscribed after) both",
                 statuses == [200] * 3 and got[0] == ["unsubscribed", "subscribed", aor("zed")]
                 and kinds >= 10 and got[2] == ["unsubscribed"] * kinds + ["subscribed", aor("zed")],
                 f"{statuses} {got}")


# --------------------------------------------------------------------------- (3) replay

def hello_of(sw: Switch, query: str = "event=REGISTER") -> dict:
    """Connects, reads the hello, closes."""
    with RawWebSocket(sw.http_port, path(query)) as ws:
        hello = ws.recv_json()
        ws.send_close(1000)
    return hello if hello and hello.get("type") == "hello" else {}


def replay(checks: Checks, sw: Switch) -> None:
    since = hello_of(sw).get("seq")
    users = [f"rp{k}" for k in range(1, 6)]
    statuses = register(sw, users)
    sc = StreamClients([url(sw, f"event=REGISTER&since={since}")], stdin=True)
    try:
        done = sc.wait_frame(0, is_type("replayed"))
        frames = list(sc.frames[0])
        types = [f.get("type") for f in frames]
        ev = [f for f in frames if f.get("type") == "event"]
        seqs = [e["seq"] for e in ev]
        checks.check("replay: ?since=<hello seq> after 5 REGISTERs: hello, the 5 events in order, "
                     "then \"replayed\"",
                     since is not None and statuses == [200] * 5
                     and types == ["hello"] + ["event"] * 5 + ["replayed"]
                     and aors_of(ev) == [aor(u) for u in users] and seqs == sorted(seqs)
                     and seqs[0] > since, f"since {since}, {statuses}\n{frames}")
        checks.check("replay: \"replayed\" count 5, up_to >= the last replayed seq",
                     bool(done) and done.get("count") == 5 and done.get("up_to", 0) >= max(seqs or [0]),
                     f"{done}")
        register(sw, ["rp6"])
        live = sc.wait_frame(0, event_for("rp6"))
        checks.check("replay: then the live stream (rp6, after up_to)",
                     bool(live) and bool(done) and live["seq"] > done.get("up_to", 0), f"{live} {done}")
    finally:
        summary = sc.finish()
    c = (summary or {}).get("clients", [{}])[0]
    checks.check("replay: nothing twice, in order (6 events)",
                 c.get("events") == 6 and c.get("duplicates") == 0 and c.get("ordered"), f"{c}")


def replay_mid_burst(checks: Checks, sw: Switch) -> None:
    """?since= while events pour in: the replay, the events held meanwhile and the live ones
    join without a gap or a duplicate (compared with a client connected all along)."""
    since = hello_of(sw).get("seq", 0)
    n = 1000
    args = ["--expect-event", "REGISTER", "--until-count", str(n), "--timeout-ms", "30000"]
    ref = StreamClients([url(sw, "event=REGISTER")], print_frames="notices", args=args)
    joiner = StreamClients([url(sw, f"event=REGISTER&since={since}")], print_frames="notices",
                           args=args + ["--defer-connect"], stdin=True)
    sender = None
    try:
        ref.wait_ready(10)
        sender = BackgroundBurst(sw, "mid-", n)
        poll(lambda: api_stats(sw.http_port).get("events", {}).get("last_seq", 0) >= since + 200, 10)
        joiner.command({"connect": True})
        sj, sr = joiner.wait_summary(30), ref.wait_summary(30)
        r = sender.join()
        checks.check(f"replay mid-burst: sipp got 200 for all {n} REGISTERs",
                     r is not None and burst_ok(r, n), burst_detail(r) if r else "no result")
        j = (sj or {}).get("clients", [{}])[0]
        c = (sr or {}).get("clients", [{}])[0]
        replayed = [x for x in j.get("notices", []) if x.get("type") == "replayed"]
        print(f"replay mid-burst: {replayed[0]['count'] if replayed else '?'} of {n} events "
              f"replayed, the rest live", flush=True)
        checks.check("replay mid-burst: the joiner's replay covered part of the burst (0 < count < "
                     f"{n}), one \"replayed\"",
                     len(replayed) == 1 and 0 < replayed[0].get("count", 0) < n, f"{j.get('notices')}")
        checks.check("replay mid-burst: the joiner got the same seqs as a client there all along, "
                     "in order, none twice",
                     j.get("counted") == n and j.get("seqs") == c.get("seqs") and j.get("ordered")
                     and j.get("duplicates") == 0 and c.get("counted") == n,
                     f"joiner {j.get('counted')} {j.get('seqs')} ordered {j.get('ordered')} dups "
                     f"{j.get('duplicates')}; reference {c.get('counted')} {c.get('seqs')}")
    finally:
        if sender:
            sender.join()
        ref.stop()
        joiner.stop()


def replay_small(checks: Checks, binary: str) -> None:
    sw = start_switch(binary, "[events]\nreplay_buffer = 10\n")
    try:
        hello = hello_of(sw)   # REGISTER is kept from the first stream subscription on
        since = hello.get("seq")
        checks.check("replay (buffer 10): the hello says replay_size 10", hello.get("replay_size") == 10,
                     f"{hello}")
        users = [f"rb{k}" for k in range(1, 31)]
        statuses = register(sw, users)
        frames = []
        with RawWebSocket(sw.http_port, path(f"event=REGISTER&since={since}")) as ws:
            while (f := ws.recv_json()) is not None:
                frames.append(f)
                if f.get("type") == "replayed":
                    break
        types = [f.get("type") for f in frames]
        missed = next((f for f in frames if f.get("type") == "missed"), {})
        ev = [f for f in frames if f.get("type") == "event"]
        print(f"replay_buffer = 10: missed {missed}", flush=True)
        checks.check("replay (buffer 10): 30 REGISTERs later: hello, \"missed\" (count >= 20, from "
                     "since+1), the 10 newest in order, \"replayed\" count 10",
                     since is not None and statuses == [200] * 30
                     and types == ["hello", "missed"] + ["event"] * 10 + ["replayed"]
                     and missed.get("count", 0) >= 20 and missed.get("first_seq") == since + 1
                     and missed.get("last_seq", 0) < ev[0]["seq"]
                     and aors_of(ev) == [aor(u) for u in users[-10:]]
                     and frames[-1].get("count") == 10,
                     f"since {since} statuses {set(statuses)}\n" + "\n".join(map(str, frames)))
        no_stream_clients(sw)
        check_clean_exit(checks, sw)
    finally:
        sw.stop(check=False)


# --------------------------------------------------------------------------- (4) auth

def auth(checks: Checks, binary: str) -> None:
    sw = start_switch(binary, extra=["--http-token", TOKEN])
    sc = None
    try:
        own = f"http://{HOST}:{sw.http_port}"
        cases = [("no token", "event=REGISTER", [], 401),
                 ("a wrong token", "event=REGISTER&token=nope", [], 401),
                 ("?token=T", f"event=REGISTER&token={TOKEN}", [], 101),
                 ("Authorization: Bearer T", "event=REGISTER", [("Authorization", f"Bearer {TOKEN}")], 101),
                 ("?token=T, Origin: http://evil.example", f"event=REGISTER&token={TOKEN}",
                  [("Origin", "http://evil.example")], 403),
                 ("?token=T, the listener's own Origin", f"event=REGISTER&token={TOKEN}",
                  [("Origin", own)], 101)]
        for name, query, headers, want in cases:
            with RawWebSocket(sw.http_port, path(query), headers=headers) as ws:
                hello = ws.recv_json() if ws.accepted else None
                upgraded = ws.accepted and bool(hello) and hello["type"] == "hello"
                ok = ws.status == want and (want != 101 or upgraded)
                if want == 401:
                    ok = ok and "bearer" in ws.headers.get("www-authenticate", "").lower()
                if want == 403:
                    ok = ok and b"evil.example" in ws.body
                checks.check(f"auth: upgrade with {name} -> {want}", bool(ok),
                             f"{ws.status} {ws.reason} {ws.headers} {ws.body!r} hello {hello}")
        sc = StreamClients([url(sw, "event=REGISTER"), url(sw, f"event=REGISTER&token={TOKEN}")],
                           stdin=True)
        ready = sc.wait_ready(10)
        refused = sc.wait_frame(0, is_type("_http"), 1)
        checks.check("auth: the ws library: refused with 401 without the token, connected with it",
                     bool(ready) and ready["open"] == 1 and bool(refused) and refused["status"] == 401
                     and bool(sc.wait_frame(1, is_type("hello"), 1)), f"{ready} {sc.frames}")
        sc.finish()
        checks.check("auth: /api/stats with the token: no stream client left",
                     no_stream_clients(sw, token=TOKEN), json.dumps(api_stats(sw.http_port, TOKEN)))
        check_clean_exit(checks, sw)
    finally:
        if sc:
            sc.finish()
        sw.stop(check=False)


# --------------------------------------------------------------------------- (5) malformed

def protocol_error(checks: Checks, sw: Switch, name: str, send, code: int) -> None:
    with RawWebSocket(sw.http_port, path("event=REGISTER")) as ws:
        hello = ws.recv_json()
        send(ws)
        frames, closed = ws.read_to_close(5)
    close = first_close(frames)
    checks.check(f"malformed: {name} -> close {code}, then the TCP connection is closed",
                 bool(hello) and close is not None and close.close_code == code and closed,
                 f"hello {hello}; frames {[f.brief() for f in frames]}; tcp closed {closed}")


def malformed(checks: Checks, sw: Switch) -> None:
    big = b"a" * 70000
    cases = [
        ("an unmasked text frame",
         lambda ws: ws.send_frame(OP_TEXT, b'{"unsubscribe":"*"}', mask=False), 1002),
        ("a binary frame", lambda ws: ws.send_frame(OP_BINARY, b"\x00\x01\x02"), 1003),
        ("a text frame with invalid UTF-8", lambda ws: ws.send_frame(OP_TEXT, b'{"x":"\xff\xfe"}'), 1007),
        ("garbage bytes", lambda ws: ws.send_raw(b"this is not a websocket frame\r\n" * 8), 1002),
        ("a text frame of 64 KiB + 1 byte", lambda ws: ws.send_frame(OP_TEXT, big[:65537]), 1009),
        ("a 70,000-byte message in two fragments",
         lambda ws: ws.send_raw(encode_frame(OP_TEXT, big[:35000], fin=False)
                                + encode_frame(OP_CONT, big[35000:])),
         1009),
        ("a close frame (1000) from the client", lambda ws: ws.send_close(1000, "bye"), 1000),
    ]
    for name, send, code in cases:
        protocol_error(checks, sw, name, send, code)
    with RawWebSocket(sw.http_port, path("event=REGISTER")) as ws:
        hello = ws.recv_json()
        ws.send_frame(OP_PING, b"are you there")
        pong = ws.recv_frame(5)
        ws.send_text("not json")
        err = ws.recv_json()
        pad = 65536 - len('{"x":""}')   # exactly 64 KiB: the largest message taken
        ws.send_text('{"x":"' + "a" * pad + '"}')
        err64 = ws.recv_json()
        ws.send_close(1000)
        frames, closed = ws.read_to_close(5)
    checks.check("malformed: a ping is answered with a pong carrying its payload",
                 bool(hello) and pong is not None and pong.opcode == OP_PONG
                 and pong.payload == b"are you there", f"{pong.brief() if pong else None}")
    close = first_close(frames)
    checks.check("malformed: a text frame that is not JSON -> \"error\", the stream goes on",
                 bool(err) and err.get("type") == "error" and closed
                 and close is not None and close.close_code == 1000,
                 f"{err} {[f.brief() for f in frames]}")
    checks.check("malformed: a message of exactly 64 KiB is read (answered \"error\": no subscribe)",
                 bool(err64) and err64.get("type") == "error" and "subscribe" in err64.get("message", ""),
                 f"{err64}")
    status, _, body = http_call(sw.http_port, "GET", "/healthz")
    ok, data = udp_options_ok(sw.port)
    checks.check("malformed: afterwards the switch answers /healthz and SIP OPTIONS",
                 status == 200 and ok, f"healthz {status} {body!r}; OPTIONS {data!r}")


# --------------------------------------------------------------------------- (6) slow consumer

def too_slow_log(client: RawWebSocket) -> str:
    return rf"event stream {HOST}:{client.local_port}: client too slow, \d+ event"


def slow_consumer(checks: Checks, binary: str, fan_out_burst_s: float | None) -> None:
    sw = start_switch(binary, "[http]\nws_queue = 256\n")
    node = sender = None
    stuck: list[RawWebSocket] = []
    try:
        node = StreamClients([url(sw, "event=REGISTER")], print_frames="notices",
                             args=["--expect-event", "REGISTER", "--until-count", str(SLOW_BURST),
                                   "--timeout-ms", "90000"])
        ready = node.wait_ready(10)
        # Two clients stop reading after their hello: "late" reads again as soon as the
        # switch gives up on it, "never" only once the switch must have closed it.
        late, never = (RawWebSocket(sw.http_port, path("event=REGISTER"), rcvbuf=4096) for _ in "ab")
        stuck += [late, never]
        hellos = [late.recv_json(), never.recv_json()]
        checks.check("slow: a normal client and two that stop reading (SO_RCVBUF 4 KiB) connected",
                     bool(ready) and ready["open"] == 1 and all(hellos), f"{ready} {hellos}")
        ua = slow_user_agent()
        sender = BackgroundBurst(sw, "slow-", SLOW_BURST, ua)
        late_cut = sw.wait_for_log(too_slow_log(late), 20)
        late_seen = stuck_frames(late, 10) if late_cut else ([], [], None, False)
        never_cut = sw.wait_for_log(too_slow_log(never), 20)
        t_never = time.monotonic()
        r = sender.join()
        if r is None:
            checks.check("slow: the sipp burst finished", False, "no result from the sender thread")
            return
        print(f"slow: the burst of {SLOW_BURST} (User-Agent of {len(ua)} bytes) took "
              f"{r.elapsed_s:.1f} s with two stuck clients ({FANOUT_BURST} took "
              f"{fan_out_burst_s or 0:.1f} s with {FANOUT_CLIENTS} readers)", flush=True)
        checks.check(f"slow: sipp got 200 for all {SLOW_BURST} REGISTERs, none timed out",
                     burst_ok(r, SLOW_BURST), burst_detail(r))
        checks.check("slow: the switch logs \"client too slow\" for both stuck clients",
                     late_cut and never_cut, sw.stderr_tail())
        overflows = metric(sw.http_port, "centralita_stream_overflows_total")
        dropped = metric(sw.http_port, "centralita_events_dropped_total", 'where="stream"')
        checks.check("slow: centralita_stream_overflows_total >= 2, events dropped for the stream",
                     (overflows or 0) >= 2 and (dropped or 0) >= 1,
                     f"overflows {overflows}, dropped {dropped}")
        summary = node.wait_summary(30)
        c = (summary or {}).get("clients", [{}])[0]
        checks.check(f"slow: the normal client got all {SLOW_BURST} events, in order, none dropped",
                     c.get("counted") == SLOW_BURST and len(c.get("seqs", [])) == 1 and c.get("ordered")
                     and not any(n.get("type") == "dropped" for n in c.get("notices", [])),
                     f"{c}")
        events, notices, close, closed = late_seen
        drop = next((n for n in notices if n.get("type") == "dropped"), None)
        print(f"slow: the late reader got {len(events)} events, then {drop}", flush=True)
        checks.check("slow: the late reader finds \"dropped\", close 1008, then the TCP close",
                     bool(drop) and close is not None and close.close_code == 1008 and closed
                     and notices[-1] is drop, f"notices {notices}; close {close and close.brief()}; "
                     f"tcp closed {closed}; {len(events)} events")
        if drop and c.get("seqs"):
            ok, why = dropped_accounts(events, events == sorted(events), drop, expand(c["seqs"]))
            checks.check("slow: its dropped count and range make up exactly for what it missed", ok, why)
        # The switch's end of the never-read connection leaves ESTABLISHED by itself (the
        # hard close, 5 s after the 1008 it could not write), and its session ends.
        gone = poll(lambda: server_socket_state(sw.http_port, never.local_port) != "ESTABLISHED"
                    and no_stream_clients(sw, 0), max(0.0, 10 - (time.monotonic() - t_never)))
        checks.check("slow: the switch closed the never-reading client's connection within 10 s",
                     bool(gone), f"server side {server_socket_state(sw.http_port, never.local_port)}, "
                     f"stream_clients {api_stats(sw.http_port).get('events', {}).get('stream_clients')}")
        events, notices, close, closed = stuck_frames(never, 10)
        drop = next((n for n in notices if n.get("type") == "dropped"), None)
        how = ("dropped + close 1008" if drop and close and close.close_code == 1008
               else "EOF (hard close)" if closed and close is None else "neither")
        print(f"slow: the never-reader read {len(events)} events at last, then {how}", flush=True)
        checks.check("slow: reading at last, the never-reader finds \"dropped\" and close 1008, "
                     "or the hard close's EOF", closed and how != "neither",
                     f"tcp closed {closed}; notices {notices}; close {close and close.brief()}; "
                     f"{len(events)} events; {len(never.buf)} bytes of a cut frame")
        for ws in stuck:
            ws.close()
        no_stream_clients(sw)
        check_clean_exit(checks, sw)
    finally:
        if sender:
            sender.join()
        for ws in stuck:
            ws.close()
        if node:
            node.stop()
        sw.stop(check=False)


# --------------------------------------------------------------------------- (7) keep-alive

def keep_alive(checks: Checks, binary: str) -> None:
    sw = start_switch(binary, "[http]\nws_ping_interval = 1\n")
    node = StreamClients([url(sw, "event=REGISTER")], stdin=True)
    try:
        t0 = time.monotonic()
        with RawWebSocket(sw.http_port, path("event=REGISTER")) as ws:
            hello = ws.recv_json(skip_control=False)
            ready = node.wait_ready(5)
            t_node = time.monotonic()
            ping_at = close_at = None
            close = None
            frames, closed = [], False
            deadline = t0 + 6
            while not closed and time.monotonic() < deadline:   # read, answer nothing
                got, closed = ws.read_to_close(0.1)
                for f in got:
                    frames.append(f)
                    if f.opcode == OP_PING and ping_at is None:
                        ping_at = time.monotonic() - t0
                    if f.opcode == OP_CLOSE and close is None:
                        close, close_at = f, time.monotonic() - t0
        print(f"keep-alive: ping after {ping_at} s, close after {close_at} s", flush=True)
        checks.check("keep-alive: a silent raw client gets a ping within 2.5 s",
                     bool(hello) and ping_at is not None and ping_at <= 2.5,
                     f"{[f.brief() for f in frames]}")
        checks.check("keep-alive: ... and close 1001 within 4.5 s, then the TCP close",
                     close is not None and close.close_code == 1001 and close_at <= 4.5 and closed,
                     f"close {close and close.brief()} at {close_at}; tcp closed {closed}")
        cut = node.wait_frame(0, is_type("_close"), max(0.0, 3 - (time.monotonic() - t_node)))
        summary = node.finish()
        c = (summary or {}).get("clients", [{}])[0]
        checks.check("keep-alive: the Node client (answers pings) is still connected after 3 s",
                     bool(ready) and ready["open"] == 1 and cut is None and c.get("pings", 0) >= 2
                     and (c.get("close") or {}).get("by") == "client",
                     f"close frame {cut}; {c}")
        shutdown_with_client(checks, sw)
    finally:
        node.stop()
        sw.stop(check=False)


def shutdown_with_client(checks: Checks, sw: Switch) -> None:
    """SIGTERM while a stream client is connected (a dashboard left open): a clean exit, and
    the client's connection closed."""
    with RawWebSocket(sw.http_port, path("event=REGISTER")) as ws:
        hello = ws.recv_json()
        rc = sw.stop()
        frames, closed = ws.read_to_close(5)
    checks.check("shutdown: SIGTERM with a stream client connected -> exit code 0, the client's "
                 "connection closed", bool(hello) and rc == 0 and closed,
                 f"exit code {rc}; client frames {[f.brief() for f in frames]}, tcp closed {closed}"
                 f"\n--- stderr tail ---\n{sw.stderr_tail()}")
    sw.cleanup()


# --------------------------------------------------------------------------- run

SECTIONS = ["fan-out", "filters", "replay", "malformed", "replay-buffer", "auth", "slow",
            "keep-alive"]


def run(checks: Checks, args) -> None:
    t0 = time.monotonic()
    if (why := node_missing()) is not None:
        raise SkipTest(why)
    if sipp_lib.sipp_binary() is None:
        checks.check("sipp is installed", False, "sip-tester missing: .ci/install-deps installs it")
        return
    only = set(args.only.split(",")) if args.only else set(SECTIONS)
    stamps = [("start", time.monotonic())]

    def step(name: str, fn, *a):
        if name not in only:
            return None
        out = fn(*a)
        stamps.append((fn.__name__.replace("_", " "), time.monotonic()))
        return out

    burst_s = None
    try:
        if only & {"fan-out", "filters", "replay", "malformed"}:
            sw = start_switch(args.binary)
            try:
                burst_s = step("fan-out", fan_out, checks, sw)
                step("filters", filters, checks, sw)
                step("replay", replay, checks, sw)
                step("replay", replay_mid_burst, checks, sw)
                step("malformed", malformed, checks, sw)
                no_stream_clients(sw)
                check_clean_exit(checks, sw)
            finally:
                sw.stop(check=False)
        step("replay-buffer", replay_small, checks, args.binary)
        step("auth", auth, checks, args.binary)
        step("slow", slow_consumer, checks, args.binary, burst_s)
        step("keep-alive", keep_alive, checks, args.binary)
        print("timings: " + ", ".join(f"{n} {b - a:.1f} s" for (_, a), (n, b) in zip(stamps, stamps[1:])),
              flush=True)
    finally:
        stop_all_streams()
    print(f"ran in {time.monotonic() - t0:.1f} s", flush=True)


def options(parser) -> None:
    parser.add_argument("--only", default="", help="comma-separated sections: " + ",".join(SECTIONS))


if __name__ == "__main__":
    main(run, options)
