#!/usr/bin/env python3
"""Registrar and digest authentication of centralita (issue 3, point 7), with --users FILE:

  (a) REGISTER without credentials -> 401 with two WWW-Authenticate: SHA-256 first, then MD5
      (RFC 8760), both qop="auth"
  (b) digest computed here (RFC 7616) for MD5 and for SHA-256 -> 200 with the Contact
  (c) wrong password -> 401 again
  (d) the exact same Authorization replayed (same nonce, same nc) -> 401; nc=2 -> 200
  (e) Expires below min_expires -> 423 with Min-Expires; several contacts returned in the 200;
      Contact: * with Expires: 0 removes them all (a query REGISTER then lists none)
  (f) INVITE from a configured local user without Proxy-Authorization -> 407; with correct
      Proxy-Authorization (uri = the Request-URI) the call proceeds to the UAS
  (g) restart keeps bindings: after SIGTERM, and after kill -9 > 1.5 s after the REGISTER

    test_sip_core_register.py --binary build/centralita --source-dir .
"""

import signal
import sys
import time
from pathlib import Path

sys.dont_write_bytecode = True   # keep __pycache__ out of the source tree
sys.path.insert(0, str(Path(__file__).resolve().parent / "lib"))

from centralita_test import (HOST, Checks, Switch, check_clean_exit, main, new_branch,  # noqa: E402
                             new_call_id, new_tag, parse_message, tag_of)
from sip_core import (LoggedUdp, PyUas, authorization, contact_uris, invite_request,  # noqa: E402
                      parse_challenge, register_request)

USERS = {"alice": "alice-secret", "bob": "bob-secret", "carol": "carol-secret",
         "dave": "dave-secret", "erin": "erin-secret"}


class Registrant:
    """One user's REGISTER dialog (fixed Call-ID and From tag, increasing CSeq) over UDP,
    every datagram logged for failure details."""

    def __init__(self, switch: Switch, user: str) -> None:
        self.switch = switch
        self.user = user
        self.c = LoggedUdp()
        self.call_id = new_call_id()
        self.tag = new_tag()
        self.cseq = 0

    def send(self, contacts=None, expires=600, auth: str | None = None):
        self.cseq += 1
        req = register_request(self.switch.port, self.user, contacts=contacts, expires=expires,
                               local_port=self.c.port, call_id=self.call_id, cseq=self.cseq,
                               from_tag=self.tag, authorization=auth)
        self.c.send(req, self.switch.port)
        self.last_request = req
        data = self.c.recv(5, self.call_id)
        self.last_response = data
        return parse_message(data) if data else None

    def retransmit(self):
        """Sends the last REGISTER again, byte for byte (same branch): the raw answer."""
        self.c.send(self.last_request, self.switch.port)
        return self.c.recv(5, self.call_id)

    def challenge(self, algorithm: str, contacts=None, expires=600):
        """REGISTER without credentials; returns (401 message, the challenge for algorithm)."""
        msg = self.send(contacts, expires)
        ch = None
        if msg is not None:
            for v in msg.all("www-authenticate"):
                p = parse_challenge(v)
                if p.get("algorithm", "MD5").upper() == algorithm.upper():
                    ch = p
        return msg, ch

    def register(self, contacts=None, expires=600, algorithm="SHA-256", password=None):
        """Challenge + credentials; returns the answer to the authenticated REGISTER."""
        _, ch = self.challenge(algorithm, contacts, expires)
        if ch is None:
            return None
        auth = authorization(ch, self.user, password or USERS[self.user], "REGISTER", f"sip:{HOST}")
        return self.send(contacts, expires, auth)

    def dump(self) -> str:
        return self.c.dump(f"REGISTER {self.user}")

    def close(self) -> None:
        self.c.close()


def restart(old: Switch, binary: str, users: Path) -> Switch:
    """A new switch on the same --data-dir as old (old must be stopped)."""
    s = Switch(binary, ["--users", str(users)])
    i = s.args.index("--data-dir")
    s.args[i + 1] = str(old.data_dir)
    s.data_dir = old.data_dir
    return s.start()


def run(checks: Checks, args) -> None:
    binary = str(Path(args.binary).resolve())
    first = Switch(binary)
    users = first.tmp / "users.txt"
    users.write_text("".join(f"{u}@{HOST} {p}\n" for u, p in USERS.items()))
    first.args += ["--users", str(users)]
    switch = first.start()
    stopped = False
    try:
        # (a) challenge
        r = Registrant(switch, "alice")
        msg = r.send([f"<sip:alice@{HOST}:5071>"])
        chs = [parse_challenge(v) for v in msg.all("www-authenticate")] if msg else []
        algs = [c.get("algorithm", "(none)").upper() for c in chs]
        checks.check("(a) REGISTER without credentials -> 401", msg is not None and msg.status == 401, r.dump())
        checks.check(f"(a) two WWW-Authenticate, SHA-256 first then MD5 (got {algs})",
                     algs == ["SHA-256", "MD5"], r.dump())
        checks.check("(a) both challenges offer qop=\"auth\" with a realm and a nonce",
                     len(chs) == 2 and all("auth" in [q.strip() for q in c.get("qop", "").split(",")]
                                           and c.get("realm") and c.get("nonce") for c in chs), r.dump())

        # (b) MD5 and SHA-256 credentials
        for alg in ("MD5", "SHA-256"):
            contact = f"<sip:alice@{HOST}:{5072 if alg == 'MD5' else 5073}>"
            ok = r.register([contact], 600, alg)
            uris = contact_uris(ok) if ok else []
            checks.check(f"(b) {alg} digest -> 200", ok is not None and ok.status == 200, r.dump())
            checks.check(f"(b) {alg}: the 200 lists the Contact {contact} (got {uris})",
                         ok is not None and contact.strip("<>") in uris, r.dump())

        # (c) wrong password
        bad = r.register([f"<sip:alice@{HOST}:5074>"], 600, "SHA-256", password="not-the-password")
        checks.check("(c) wrong password -> 401 again", bad is not None and bad.status == 401, r.dump())
        bad = r.register([f"<sip:alice@{HOST}:5074>"], 600, "MD5", password="not-the-password")
        checks.check("(c) wrong password (MD5) -> 401 again", bad is not None and bad.status == 401, r.dump())
        r.close()

        # (d) replay
        r = Registrant(switch, "bob")
        contact = f"<sip:bob@{HOST}:5081>"
        _, ch = r.challenge("SHA-256", [contact])
        if checks.check("(d) got a SHA-256 challenge", ch is not None, r.dump()):
            cnonce = "0a4f113b"
            auth1 = authorization(ch, "bob", USERS["bob"], "REGISTER", f"sip:{HOST}", nc=1, cnonce=cnonce)
            first_ok = r.send([contact], 600, auth1)
            checks.check("(d) nc=1 -> 200", first_ok is not None and first_ok.status == 200, r.dump())
            replay = r.send([contact], 600, auth1)
            checks.check(f"(d) the same Authorization replayed (same nonce, nc=1) -> 401 (got "
                         f"{replay.status if replay else None})",
                         replay is not None and replay.status == 401, r.dump())
            auth2 = authorization(ch, "bob", USERS["bob"], "REGISTER", f"sip:{HOST}", nc=2, cnonce=cnonce)
            second = r.send([contact], 600, auth2)
            checks.check(f"(d) nc=2 with the same nonce -> 200 (got {second.status if second else None})",
                         second is not None and second.status == 200, r.dump())
        r.close()

        # (e) 423, several contacts, Contact: *
        r = Registrant(switch, "carol")
        brief = r.register([f"<sip:carol@{HOST}:5091>"], 30)
        checks.check(f"(e) Expires 30 < min_expires 60 -> 423 with Min-Expires (got "
                     f"{brief.status if brief else None}, Min-Expires {brief.get('min-expires') if brief else None})",
                     brief is not None and brief.status == 423 and (brief.get("min-expires") or "").strip() == "60",
                     r.dump())
        contacts = [f"<sip:carol@{HOST}:5092>", f"<sip:carol@{HOST}:5093>;q=0.5"]
        two = r.register(contacts, 600)
        uris = contact_uris(two) if two else []
        checks.check(f"(e) two contacts in one REGISTER -> 200 listing both (got {uris})",
                     two is not None and two.status == 200
                     and {c.split(">")[0].strip("<") for c in contacts} <= set(uris), r.dump())
        # A retransmission after the final response (Completed, §17.2.2) gets
        # that response again, byte for byte; were it processed anew, the
        # registrar would refuse its CSeq (§10.3 step 7) or challenge it.
        first = r.last_response
        again = r.retransmit()
        checks.check("(e) a retransmitted REGISTER gets the same 200 again, byte for byte",
                     first is not None and again == first, r.dump())
        star = r.register(["*"], 0)
        checks.check("(e) Contact: * with Expires: 0 -> 200", star is not None and star.status == 200, r.dump())
        query = r.register(None, None)
        checks.check(f"(e) a query REGISTER then lists no contact (got {contact_uris(query) if query else None})",
                     query is not None and query.status == 200 and not contact_uris(query), r.dump())
        r.close()

        # (f) INVITE from a local user: 407, then with Proxy-Authorization
        def busy_uas(uas: PyUas) -> None:
            for _ in range(2):
                inv = uas.recv_request("INVITE", 10)
                if inv is None:
                    return
                uas.reply(inv, 486, "Busy Here")
                uas.recv_request("ACK", 5)

        uas = PyUas(busy_uas).start()
        try:
            r = Registrant(switch, "dave")
            ok = r.register([uas.contact], 600)
            checks.check("(f) dave registers the UAS -> 200", ok is not None and ok.status == 200, r.dump())
            r.close()
            c = LoggedUdp()
            call_id, ftag, ruri = new_call_id(), new_tag(), f"sip:dave@{HOST}:{switch.port}"
            br = new_branch()
            inv = invite_request(switch.port, "dave", c.port, from_user="alice", call_id=call_id,
                                 from_tag=ftag, branch=br)
            c.send(inv, switch.port)
            msgs = c.collect(5, call_id, until=lambda ms: any((m.status or 0) >= 200 for m in ms))
            final = next((m for m in msgs if (m.status or 0) >= 200), None)
            checks.check(f"(f) INVITE from alice (local user) without credentials -> 407 (got "
                         f"{final.status if final else None})",
                         final is not None and final.status == 407 and final.get("proxy-authenticate"),
                         c.dump())
            if final is not None and final.status >= 300:
                c.send(invite_request(switch.port, "dave", c.port, from_user="alice", call_id=call_id,
                                      from_tag=ftag, branch=br, method="ACK",
                                      to_tag=tag_of(final.get("to"))), switch.port)
            chs = [parse_challenge(v) for v in final.all("proxy-authenticate")] if final else []
            ch = next((x for x in chs if x.get("algorithm", "MD5").upper() == "SHA-256"), chs[0] if chs else None)
            if checks.check("(f) the 407 carries a Proxy-Authenticate challenge", ch is not None, c.dump()):
                auth = authorization(ch, "alice", USERS["alice"], "INVITE", ruri)
                br2 = new_branch()
                inv2 = invite_request(switch.port, "dave", c.port, from_user="alice", call_id=call_id,
                                      from_tag=ftag, branch=br2, cseq=2,
                                      extra=[("Proxy-Authorization", auth)])
                c.send(inv2, switch.port)
                msgs = c.collect(8, call_id, until=lambda ms: any((m.status or 0) >= 200 for m in ms))
                final = next((m for m in msgs if (m.status or 0) >= 200), None)
                if final is not None and final.status >= 300:
                    c.send(invite_request(switch.port, "dave", c.port, from_user="alice", call_id=call_id,
                                          from_tag=ftag, branch=br2, cseq=2, method="ACK",
                                          to_tag=tag_of(final.get("to"))), switch.port)
                uas.join(6)
                got_invite = any(d == "received" and b.startswith(b"INVITE ") for d, _, b in uas.log)
                checks.check("(f) with Proxy-Authorization the INVITE reaches the UAS",
                             got_invite, c.dump() + "\n" + uas.dump())
                checks.check(f"(f) the UAS's 486 comes back to the caller (got {final.status if final else None})",
                             final is not None and final.status == 486, c.dump() + "\n" + uas.dump())
            c.close()
        finally:
            uas.close()

        # (g) restart after SIGTERM keeps bindings
        def answer_one(uas: PyUas) -> None:
            inv = uas.recv_request("INVITE", 15)
            if inv is not None:
                uas.reply(inv, 486, "Busy Here")
                uas.recv_request("ACK", 3)

        uas = PyUas(answer_one).start()
        try:
            r = Registrant(switch, "erin")
            ok = r.register([uas.contact], 600)
            checks.check("(g) erin registers -> 200", ok is not None and ok.status == 200, r.dump())
            r.close()
            alive = switch.alive()
            rc = switch.stop()
            stopped = True
            checks.check(f"(g) SIGTERM -> exit code 0 (got {rc})", alive and rc == 0, switch.stderr_tail())
            second = restart(switch, binary, users)
            try:
                c = LoggedUdp()
                inv = invite_request(second.port, "erin", c.port, from_user="visitor")
                c.send(inv, second.port)
                msgs = c.collect(8, None, until=lambda ms: any((m.status or 0) >= 200 for m in ms))
                final = next((m for m in msgs if (m.status or 0) >= 200), None)
                uas.join(5)
                got_invite = any(d == "received" and b.startswith(b"INVITE ") for d, _, b in uas.log)
                checks.check(f"(g) after a SIGTERM restart, INVITE erin reaches the registered UAS "
                             f"(caller got {final.status if final else None})", got_invite,
                             c.dump() + "\n" + uas.dump() + "\n" + second.stderr_tail())
                if final is not None and final.status >= 300:
                    m = parse_message(inv)
                    c.send(invite_request(second.port, "erin", c.port, from_user="visitor",
                                          call_id=m.get("call-id"), branch=m.get("via").split("branch=")[1].split(";")[0],
                                          from_tag=tag_of(m.get("from")), method="ACK",
                                          to_tag=tag_of(final.get("to"))), second.port)
                c.close()
                r = Registrant(second, "erin")
                q = r.register(None, None)
                checks.check(f"(g) after a SIGTERM restart, a query REGISTER lists erin's contact "
                             f"(got {contact_uris(q) if q else None})",
                             q is not None and q.status == 200 and uas.contact.strip("<>") in contact_uris(q),
                             r.dump())
                r.close()

                # kill -9 more than 1.5 s after a REGISTER: the binding survives too
                r = Registrant(second, "alice")
                kcontact = f"<sip:alice@{HOST}:5099>"
                ok = r.register([kcontact], 600)
                checks.check("(g) alice registers a new contact before kill -9 -> 200",
                             ok is not None and ok.status == 200, r.dump())
                r.close()
                time.sleep(1.6)   # the store flushes every 1 s: wait past one flush
                second.stop(check=False, sig=signal.SIGKILL)
                third = restart(second, binary, users)
                try:
                    r = Registrant(third, "alice")
                    q = r.register(None, None)
                    checks.check(f"(g) after kill -9 (1.6 s after the REGISTER) the binding survives "
                                 f"(got {contact_uris(q) if q else None})",
                                 q is not None and q.status == 200 and kcontact.strip("<>") in contact_uris(q),
                                 r.dump() + "\n" + third.stderr_tail())
                    r.close()
                finally:
                    check_clean_exit(checks, third)
            finally:
                if second.alive():
                    second.stop(check=False)
                second.cleanup()
        finally:
            uas.close()
    finally:
        if not stopped and switch.alive():
            check_clean_exit(checks, switch)
        else:
            switch.stop(check=False)
            switch.cleanup()


if __name__ == "__main__":
    main(run)
