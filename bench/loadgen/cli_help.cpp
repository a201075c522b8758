// The --help text of centralita-bench (cli.hpp: usage_text), apart from the
// parser so that each stays readable.
#include "bench/loadgen/cli.hpp"

namespace centralita::loadgen {

std::string usage_text() {
  return R"(Usage: centralita-bench <scenario> [options] TARGET

centralita's load generator: runs a SIP scenario against TARGET (any SIP
server, not only centralita) at a paced rate and reports what it carried.

Scenarios:
  options                    one OPTIONS per attempt; success is a 2xx
  register                   REGISTER unique users, digest auth (MD5, SHA-256)
                             on 401/407; success is a 200 after at most one
                             challenge
  call                       INVITE/1xx/200/ACK, hold, BYE/200 (RFC 3261 §13, §15),
                             with its own UAS (--uas) or against yours
  events                     N WebSocket subscribers of a centralita switch's
                             /events, counting delivered events and gaps;
                             TARGET is its HTTP listener (http://HOST:PORT)
  push-wake                  calls to sleeping phones (RFC 8599): the switch pushes
                             through the webhook gateway this generator runs, the
                             phone registers again from the UAS and takes the call

TARGET                       sip:HOST:PORT or HOST:PORT (port 5060 if omitted)

Load:
  --rate R                   attempts per second (default 100)
  --ramp FROM:TO:SECONDS     rate rising linearly from FROM to TO over SECONDS,
                             then steady at TO (the last of --rate/--ramp wins)
  --count N                  attempts to make (default 1000 when no --duration)
  --duration S               stop starting attempts after S seconds (with
                             --count too: whichever comes first)
  --max-inflight N           attempts in progress at most; more wait (default 10000)
  --sockets N                local UDP sockets, one source port each (default 4),
                             taking turns every 32 attempts; a target with
                             SO_REUSEPORT workers spreads them by source port
                             (use 1 to compare with sipp -t u1)

Find the knee (--knee: steps of rising rate instead of one run):
  --knee                     run steps at a fixed rate each, rising until a step
                             fails; report the highest rate that passed (not with
                             --rate, --ramp, --count or --duration)
  --knee-start R             the first step's rate (default 100/s)
  --knee-step R              added to the rate per step (default 100/s)
  --knee-factor F            instead, multiply the rate by F (> 1) per step
  --knee-max R               the highest rate tried (default 100000/s)
  --step-duration S          seconds per step (default 10)
  --max-failures PCT         a step fails when more than PCT% of its attempts
                             fail (default 0.1)
  --max-p99 MS               ... or when its p99 latency passes MS (default 0:
                             no latency bound); a step also fails when less
                             than 90% of its rate succeeds per second

Transactions (RFC 3261 §17.1.2):
  --timeout-ms MS            no final answer within MS: "timeout" (default 32000)
  --t1-ms MS, --t2-ms MS     retransmission timers T1 and T2 (default 500, 4000)
  --no-retransmit            send each request once (no Timer E)
  --tick-us US               while answers are awaited, handle them every US
                             microseconds, all at once (default 1000); latencies
                             stay exact (kernel receive timestamps) and the time
                             an attempt waits in the generator between its
                             transactions is left out; 0: wake for every answer
                             (more CPU; the built-in UAS answers sooner)
  --transport udp|tcp        default udp; with tcp each of --sockets is a TCP
                             connection to the target, requests are not
                             retransmitted (RFC 3261 §17.1.1.2, §17.1.2.2), Via and
                             Contact say TCP, and latencies are taken when an
                             answer is handled (no kernel timestamps); the
                             built-in UAS of `call` still listens on UDP
  --local-ip ADDR            address to send from (default: the one routing to TARGET)

register:
  --users PREFIX[START-END]  users PREFIXSTART..PREFIXEND, e.g. user[1-10000]
                             (leading zeros in START pad: u[0001-5000])
  --users-csv FILE           one "user;password" per line ('#' comments)
  --password P               the password of every --users user (default empty)
  --domain D                 the AoR domain and Request-URI sip:D (default: the
                             target's host, Request-URI = the target)
  --expires S                Expires of the REGISTER (default 3600)
  --unregister               afterwards, REGISTER with Expires: 0 (also counted)
  Attempt n registers user n mod the number of users: a count above the
  number of users makes refreshes (same Call-ID, higher CSeq).

call:
  --callee USER              INVITE sip:USER@DOMAIN (default uas)
  --caller USER              From sip:USER@DOMAIN (default centralita-bench)
  --domain D                 the AoRs' domain (default: the target's host:port)
  --hold S                   seconds between the ACK and the BYE (default 0)
  --uas ADDR:PORT            run the built-in UAS on ADDR:PORT (port 0: any free
                             one): 180 and 200 to every INVITE, 200 retransmitted
                             until the ACK, BYE/CANCEL/OPTIONS answered; first it
                             REGISTERs sip:CALLEE@DOMAIN at TARGET with itself as
                             Contact (digest with --password when challenged)
                             and removes the binding at the end
  --no-uas-register          do not REGISTER (the target routes to the UAS itself)
  --ring S                   the built-in UAS answers S seconds after its 180
                             (default 0)
  Latencies: "setup" (INVITE to 200; the headline) and "pdd" (INVITE to the
  first 18x). Failures: the INVITE's status ("486"), "timeout", "transport",
  "no-contact", "bye:<cause>".

push-wake (the call flags, plus):
  --webhook ADDR:PORT        the push gateway to run (the switch's [push.<name>]
                             type = "webhook", url = "http://ADDR:PORT/push")
  --uas ADDR:PORT            where the woken phones take their calls (required)
  --users PREFIX[START-END]  the phones; attempt n calls phone n mod their number;
                             each first REGISTERs with pn-provider, pn-prid (its
                             name) and pn-param, asleep (Contact port 9)
  --password P               the phones' password, when the switch challenges
  --wake-delay S             push received -> the phone's REGISTER (default 0)
  --pn-provider NAME         default webhook; --pn-param TEXT: default
                             centralita-bench
  --expires S                of the phones' REGISTERs (default 3600)
  Latencies: "push" (INVITE to the push at the gateway), "wake" (the phone's
  REGISTER to the INVITE reaching it), "setup" and "pdd" as for call.

events (TARGET: http://HOST:PORT, ws://HOST:PORT/events or HOST:PORT):
  --subscribers N            WebSocket subscribers (default 10)
  --filter QUERY             appended to /events? (default: every event; with
                             --drive, event=REGISTER), e.g. "event=REGISTER"
  --token T                  sent as "Authorization: Bearer T"
  --count N                  stop once every subscriber has N events
  --duration S               at most S seconds in all (default 10, or what the
                             driver needs plus --drain)
  --slow K                   K subscribers stop reading after their first
                             event, for --slow-pause S (default 3), with a small
                             receive window: the switch's slow-client handling
  --connect-timeout S        connect, upgrade and hello within S (default 5)
  --drive register           meanwhile, once every subscriber has its hello,
                             REGISTER at --rate (the register options apply:
                             --users, default events[1-M], --password...)
  --sip sip:HOST:PORT        the driver's target (the switch's SIP port)
  --drive-count M            REGISTERs the driver makes (default 1000)
  --drain S                  after the driver, wait up to S for the last events
                             (default 5)
  Gaps: events a subscriber should have had and did not: fewer REGISTER
  events than the driver's successes, or seqs other subscribers saw.

Output:
  --json FILE                write the report as JSON to FILE ("-": stdout; the
                             summary table then goes to stderr)
  --html FILE                write a self-contained HTML report with charts
                             (headline numbers, rate and latency over time,
                             percentiles; with --knee, the steps)
  --target-pid PID           the target's process on this machine: its CPU time
                             per successful attempt and its memory are reported
                             (summed with all its descendants: Kamailio's children)
  --progress, --no-progress  the live line on stderr once a second (default:
                             only when stderr is a terminal)
  --config FILE              a TOML file with the same keys without dashes
                             (rate = 2000, max-inflight = 500, target = "..."),
                             at the top level or in a [<scenario>] table;
                             flags override it
  --help                     this text

Exit status: 0 the run completed (even with failures), 1 the target never
answered or the setup failed, 2 bad usage.
)";
}

} // namespace centralita::loadgen
