#pragma once

// The --html report of centralita-bench: one self-contained HTML file (inline
// CSS and SVG, no script, no fetches) that a person would rather look at than
// read: the headline numbers, failures by cause, the rate and the latency
// over time, a percentile table per histogram and, for a knee search, the
// steps with the knee marked. Pure: builds a string, writes nothing.

#include "bench/loadgen/knee_run.hpp"
#include "bench/loadgen/report.hpp"

#include <string>
#include <vector>

namespace centralita::loadgen {

/// What the report says about how it was made (shown escaped; may be empty).
struct html_context {
  std::string command;    ///< the command line, to run it again
  std::string generated;  ///< when ("2026-11-23 03:10:04 UTC")
};

/// The whole document. With `knee` (nullable) the headline numbers are `r`'s
/// (the step that set the knee), the charts over time span every step, and
/// a section shows the steps: achieved rate and p99 per step, the knee marked.
std::string html_report(const run_report& r, const knee_summary* knee,
                        const html_context& ctx = {});

/// One span of the charts over time: seconds [t0, t1] of the whole run and
/// what happened in them. A knee search's steps follow one another.
struct time_slice {
  double t0 = 0;
  double t1 = 0;
  std::size_t run = 0;  ///< which step (0 for a single run)
  second_sample sample;
};

/// The timeline(s) as slices on one time axis: `r.timeline`, or every step's
/// one after the other (offset by the steps before) when `knee` is given.
std::vector<time_slice> time_slices(const run_report& r, const knee_summary* knee);

/// The slices the charts over time plot: a slice shorter than half a second
/// (the last moments of a run, while the last answers come in) is merged into
/// the one before it of the same run, so that 3 answers in 2 ms do not read as
/// 1500/s, nor their latency as the latency of a second (the merged slice
/// keeps the worse p99 and the longer slice's median). Slices of different
/// steps are never merged.
std::vector<time_slice> chart_slices(const run_report& r, const knee_summary* knee);

} // namespace centralita::loadgen
