"""The Markdown section the benchmark suite (bench/compare/suite.py) writes into
docs/benchmarks.md, between the markers BEGIN and END, from the suite's JSON-able results.
"""

from __future__ import annotations

from pathlib import Path

BEGIN = "<!-- suite:begin -->"
END = "<!-- suite:end -->"
TITLES = {
    "options": "options: stateless OPTIONS → 200",
    "register": "register: unique users, MD5 digest (REGISTER → 401 → REGISTER → 200)",
    "call": "call: INVITE/100/180/200/ACK/BYE/200 through the target to a UAS, zero hold time",
}
UNITS = {"options": "OPTIONS", "register": "registrations", "call": "calls"}


def num(x, digits: int = 1) -> str:
    if x is None:
        return "n/a"
    if isinstance(x, (int, float)) and abs(x) >= 1000 and digits <= 1:
        return f"{x:,.0f}"
    return f"{x:.{digits}f}"


def ratio(a, b, digits: int = 2) -> str:
    return f"{a / b:.{digits}f}" if a is not None and b not in (None, 0) else "n/a"


def p99_text(run: dict | None) -> str:
    if not run:
        return "n/a"
    v = run.get("p99_ms")
    if v is None:
        return "n/a"
    # sipp traces whole milliseconds: "< 1" says more than "0".
    if run.get("latency_resolution_ms", 0) >= 1:
        return "< 1" if v < 1 else f"{v:.0f}"
    return f"{v:.2f}" if v < 10 else f"{v:.1f}"


def knee_text(k: dict | None) -> str:
    if not k:
        return "n/a"
    if not k.get("steps"):
        return "n/a" + (f" ({k['note']})" if k.get("note") else "")
    rate = k.get("rate") or 0
    if rate <= 0:
        return f"none (< {k['start']:,.0f})"
    text = f"{rate:,.0f}"
    if k.get("reached_top"):
        text = "≥ " + text + (" (budget cut)" if k.get("cut_by_deadline") else " (top step)")
    return text


def cpu(run: dict | None):
    return run.get("target_cpu_us") if run else None


def mib(cell: dict):
    m = cell.get("memory") or {}
    return m["pss_bytes"] / 2**20 if m.get("pss_bytes") else None


def scenario_table(cells: dict[str, dict]) -> list[str]:
    c, k = cells.get("centralita"), cells.get("kamailio")
    lines = ["| target | CPU-µs/op (centralita-bench) | CPU-µs/op (sipp) | highest rate < 0.1% failures (/s) "
             "| p99 ms (centralita-bench) | p99 ms (sipp) | memory MiB (PSS) |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for cell in (c, k):
        if not cell:
            continue
        lines.append(f"| {cell['label']} | {num(cpu(cell.get('bench')))} | {num(cpu(cell.get('sipp')))} "
                     f"| {knee_text(cell.get('knee'))} | {p99_text(cell.get('bench'))} "
                     f"| {p99_text(cell.get('sipp'))} | {num(mib(cell))} |")
    if c and k:
        def knee_rate(cell):
            kn = cell.get("knee") or {}
            return kn.get("rate") or None

        def p99(cell, gen):
            r = cell.get(gen) or {}
            v = r.get("p99_ms")
            return v if v and r.get("latency_resolution_ms", 0) < 1 else None
        lines.append(f"| centralita / Kamailio | {ratio(cpu(c.get('bench')), cpu(k.get('bench')))} "
                     f"| {ratio(cpu(c.get('sipp')), cpu(k.get('sipp')))} | {ratio(knee_rate(c), knee_rate(k))} "
                     f"| {ratio(p99(c, 'bench'), p99(k, 'bench'))} | n/a | {ratio(mib(c), mib(k))} |")
    return lines


def runs_details(scenario: str, cells: dict[str, dict]) -> list[str]:
    lines = ["<details><summary>Every run</summary>", "",
             "| target | generator | offered (/s) | ok / attempted | achieved (/s) | p50 / p99 ms "
             "| target CPU-µs/op: stat / schedstat / reported | target wake-ups/op | generator CPU-µs/op |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for cell in cells.values():
        for r in (cell.get("bench_runs") or []) + (cell.get("sipp_runs") or []):
            lat = (f"{num(r.get('p50_ms'), 0)} / {num(r.get('p99_ms'), 0)}" if r["latency_resolution_ms"] >= 1
                   else f"{num(r.get('p50_ms'), 3)} / {num(r.get('p99_ms'), 3)}")
            lines.append(f"| {cell['label']} | {r['generator']} | {r['rate']:,.0f} | {r['succeeded']:,} / "
                         f"{r['attempted']:,} | {r['achieved_rate']:,.0f} | {lat} "
                         f"| {num(r.get('target_cpu_us'))} / {num(r.get('target_cpu_us_sched'))} / "
                         f"{num(r.get('target_cpu_us_reported'))} | {num(r.get('target_wakeups_per_op'), 2)} "
                         f"| {num(r.get('generator_cpu_us'))} |")
    lines.append("")
    for cell in cells.values():
        k = cell.get("knee")
        if not k:
            continue
        steps = ", ".join(f"{s['offered']:,.0f} {'✓' if s.get('passed') else '✗'}"
                          + ("" if s.get("passed") else
                             f" ({100 * (s.get('failed') or 0) / max(s.get('attempted') or 1, 1):.2f}% failed, "
                             f"{(s.get('achieved') or 0):,.0f}/s)")
                          for s in k.get("steps") or [])
        extra = f"; {k['note']}" if k.get("note") else ""
        lines.append(f"Knee steps, {cell['label']} ({k['method']}, {k['step_s']:g} s each): "
                     f"{steps or 'none'}{extra}.")
        lines.append("")
    for cell in cells.values():
        for note in cell.get("notes") or []:
            lines += [f"Note ({cell['label']}): {note}", ""]
    lines += ["</details>", ""]
    return lines


def generator_table(results: dict) -> list[str]:
    lines = ["| scenario | target | centralita-bench CPU-µs/op | sipp CPU-µs/op | centralita-bench / sipp |",
             "|---|---|---:|---:|---:|"]
    for scen, cells in results["scenarios"].items():
        for cell in cells.values():
            b, s = cell.get("bench") or {}, cell.get("sipp") or {}
            lines.append(f"| {scen} | {cell['label']} | {num(b.get('generator_cpu_us'))} "
                         f"| {num(s.get('generator_cpu_us'))} "
                         f"| {ratio(b.get('generator_cpu_us'), s.get('generator_cpu_us'))} |")
    return lines


def section(results: dict) -> str:
    m, v, plans = results["machine"], results["versions"], results["plans"]
    out = [BEGIN, "## Benchmark suite (`make bench`)", "",
           "Written by `bench/compare/suite.py` (`make bench`); everything between the `suite:begin` "
           "and `suite:end` markers is replaced on the next run.", "",
           f"* Date: {results['date']}; the suite took {results['wall_s']:.0f} s "
           f"(budget {results['budget_s']:.0f} s).",
           f"* Machine: {m['cpu']}, {m['cores']} cores, Linux {m['kernel']}, CLK_TCK {m['clk_tck']}.",
           f"* Versions: centralita `{v['centralita']}`, Kamailio {v['kamailio']}, sipp {v['sipp']}.",
           f"* Command: `{results['command']}`", ""]
    out += ["How to read it:", "",
            "* **CPU-µs/op**: the target's CPU per successful operation at a fixed rate below the knee "
            "(median of the runs): "
            "Δ(utime + stime) from `/proc/<pid>/stat` of the target's main process and every "
            "descendant (Kamailio runs one process per receiver plus timers; centralita is one "
            "process), sampled before the load generator starts and after it exits, divided by the "
            "operations that succeeded. The same run is made once with centralita-bench and once with "
            "sipp, interleaved (both from one UDP socket, no retransmissions, 2 s timeout), so the two "
            "columns are "
            "two generators' view of the same target. The schedstat (ns) figure, "
            "centralita-bench's own `--target-pid` figure and the target's wake-ups per operation "
            "(timeslices its threads ran, from schedstat) are in the run details.",
            "* **highest rate < 0.1% failures**: the knee search of centralita-bench (default 4 "
            "source sockets): steps of rising fixed rate, each one a fresh run of the step's length; "
            "a step passes with at most 0.1% failed operations and at least 90% of its rate achieved, "
            "and the search stops at the first step that fails. \"≥ N (top step)\" means every step "
            "passed up to the plan's top; \"budget cut\" that the suite's time budget shortened the "
            "search. The generator runs on the same 2 cores as the target, so a knee can be the "
            "machine's rather than the target's (compare the generator's CPU per operation). "
            "centralita-bench numbers each step's attempts from 0, so in the register search "
            "every step starts again at the first user of its list (from new source ports: a further "
            "Contact for users the previous step registered).",
            "* **p99**: of the fixed-rate run; OPTIONS and REGISTER from the first request to the final "
            "200 (with the 401 round trip), calls from INVITE to 200 (setup time, including the 10 ms "
            "both UASes wait between 180 and 200). sipp traces whole milliseconds, so its p99 reads "
            "\"< 1\" below a millisecond.",
            "* **memory**: PSS (sum of `Pss:` in `/proc/<pid>/smaps_rollup` over the target's process "
            "tree) after the warm-up and the fixed-rate runs, before the knee search; for register it "
            f"includes the {results['users']:,} users both targets load at start.",
            "* **generator CPU-µs/op**: the load generator's own CPU (getrusage of the finished "
            "process) per successful operation; for calls sipp's figure adds its UAS process, since "
            "centralita-bench plays both sides. Issue 7 asks centralita-bench for at most half of sipp's.",
            ""]
    for scen, cells in results["scenarios"].items():
        p = plans[scen]
        out += [f"### {TITLES.get(scen, scen)}", "",
                f"Fixed rate {p['rate']:,.0f}/s, {p['count']:,} {UNITS.get(scen, 'operations')} per run, "
                f"{p['repeats']} run{'s' if p['repeats'] > 1 else ''} per generator (medians), after "
                f"{p['warm']:,} warm-up {UNITS.get(scen, 'operations')}; knee steps "
                f"{p['knee_start']:,.0f}, +{p['knee_step']:,.0f} … {p['knee_max']:,.0f}/s, "
                f"{p['step_s']:g} s each.", ""]
        out += scenario_table(cells) + [""] + runs_details(scen, cells)
    out += ["### Load generators: centralita-bench vs sipp", "",
            "The generator's own CPU per successful operation in the fixed-rate runs above.", ""]
    out += generator_table(results) + ["", END]
    return "\n".join(out)


def write_docs(path: Path, text: str) -> None:
    """Replaces the section between the markers, or inserts it before the first "## "
    section when the file has no markers yet."""
    doc = path.read_text()
    if BEGIN in doc and END in doc:
        a = doc.index(BEGIN)
        b = doc.index(END) + len(END)
        doc = doc[:a] + text + doc[b:]
    else:
        i = doc.find("\n## ")
        i = len(doc) if i < 0 else i + 1
        doc = doc[:i] + text + "\n\n" + doc[i:]
    tmp = path.with_suffix(".md.suite-tmp")
    tmp.write_text(doc)
    tmp.replace(path)
