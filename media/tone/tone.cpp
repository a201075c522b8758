#include "media/tone/tone.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>

namespace centralita::media {

namespace {

constexpr double two_pi = 2.0 * std::numbers::pi;

// G.711: a full-scale sine is +3.14 dBm0 (spandsp's DBM0_MAX_SINE_POWER).
constexpr double full_scale_sine_dbm0 = 3.14;

int16_t saturate(double v) noexcept {
  return static_cast<int16_t>(std::clamp(std::lround(v), -32768L, 32767L));
}

// |DTFT|² at `freq_hz` of the first `len` samples under a Hann window (which keeps
// a strong tone's leakage from hiding or shifting a nearby peak). The window's
// cosine comes from a rotating phasor: no trigonometric call per sample.
double hann_goertzel_power(std::span<const int16_t> pcm, double freq_hz, uint32_t rate) noexcept {
  const std::size_t len = pcm.size();
  const double coeff = 2.0 * std::cos(two_pi * freq_hz / rate);
  const double step = two_pi / static_cast<double>(len - 1);
  const double rot_c = std::cos(step);
  const double rot_s = std::sin(step);
  double wc = 1.0;
  double ws = 0.0;
  double s1 = 0.0;
  double s2 = 0.0;
  for (std::size_t i = 0; i < len; ++i) {
    const double x = pcm[i] * (0.5 - 0.5 * wc);
    const double s0 = x + coeff * s1 - s2;
    s2 = s1;
    s1 = s0;
    const double next_c = wc * rot_c - ws * rot_s;
    ws = ws * rot_c + wc * rot_s;
    wc = next_c;
  }
  return s1 * s1 + s2 * s2 - coeff * s1 * s2;
}

struct peak {
  double freq;
  double power;
};

// The grid point of highest windowed power in [lo, hi] with spacing `step`.
peak scan(std::span<const int16_t> pcm, uint32_t rate, double lo, double hi, double step) noexcept {
  peak best{lo, -1.0};
  for (double f = lo; f <= hi + step * 1e-9; f += step) {
    const double p = hann_goertzel_power(pcm, f, rate);
    if (p > best.power)
      best = {f, p};
  }
  return best;
}

} // namespace

double dbm0_to_amplitude(double dbm0) noexcept {
  return 32767.0 * std::pow(10.0, (dbm0 - full_scale_sine_dbm0) / 20.0);
}

double power_dbm0(std::span<const int16_t> pcm) noexcept {
  if (pcm.empty())
    return -std::numeric_limits<double>::infinity();
  double sum = 0.0;
  for (int16_t s : pcm)
    sum += static_cast<double>(s) * s;
  const double mean_square = sum / static_cast<double>(pcm.size());
  const double a0 = dbm0_to_amplitude(0.0);
  return 10.0 * std::log10(mean_square / (a0 * a0 / 2.0)); // a sine's power is A²/2
}

void generate_sine(std::span<int16_t> out, double freq_hz, double amplitude, uint32_t rate,
                   double& phase) noexcept {
  const double step = two_pi * freq_hz / rate;
  for (auto& s : out) {
    s = saturate(amplitude * std::sin(phase));
    phase = std::fmod(phase + step, two_pi);
  }
}

void add_sine(std::span<int16_t> out, double freq_hz, double amplitude, uint32_t rate,
              double& phase) noexcept {
  const double step = two_pi * freq_hz / rate;
  for (auto& s : out) {
    s = saturate(s + amplitude * std::sin(phase));
    phase = std::fmod(phase + step, two_pi);
  }
}

double goertzel_power(std::span<const int16_t> pcm, double freq_hz, uint32_t rate) noexcept {
  const double coeff = 2.0 * std::cos(two_pi * freq_hz / rate);
  double s1 = 0.0;
  double s2 = 0.0;
  for (int16_t x : pcm) {
    const double s0 = x + coeff * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  return s1 * s1 + s2 * s2 - coeff * s1 * s2;
}

double dominant_frequency(std::span<const int16_t> pcm, uint32_t rate, double min_hz,
                          double max_hz) noexcept {
  constexpr std::size_t coarse_len = 4096;
  if (pcm.size() < 64 || rate == 0)
    return 0.0;
  const double nyquist = rate / 2.0;
  if (max_hz <= 0.0 || max_hz > nyquist)
    max_hz = nyquist;
  min_hz = std::max(min_hz, 0.0);
  if (min_hz >= max_hz)
    return 0.0;

  // Coarse: half-bin spacing over the first 4096 samples (a Hann peak is 4 bins
  // wide, so half a bin cannot step over it).
  std::size_t len = std::min(pcm.size(), coarse_len);
  double bin = static_cast<double>(rate) / static_cast<double>(len);
  peak best = scan(pcm.first(len), rate, min_hz, max_hz, bin / 2.0);

  // Zoom: each stage takes an 8× longer prefix (8× finer bins) and searches ±1.5
  // bins of the previous stage around its peak, so the whole costs O(length).
  while (len < pcm.size()) {
    const std::size_t next_len = std::min(pcm.size(), len * 8);
    const double next_bin = static_cast<double>(rate) / static_cast<double>(next_len);
    const double lo = std::max(min_hz, best.freq - 1.5 * bin);
    const double hi = std::min(max_hz, best.freq + 1.5 * bin);
    len = next_len;
    bin = next_bin;
    best = scan(pcm.first(len), rate, lo, hi, bin / 2.0);
  }

  // Parabolic interpolation of the log power through the peak and its neighbours.
  const double h = bin / 2.0;
  if (best.freq - h < min_hz || best.freq + h > max_hz || best.power <= 0.0)
    return best.freq;
  const auto window = pcm.first(len);
  const double l = std::log(std::max(hann_goertzel_power(window, best.freq - h, rate), 1e-300));
  const double c = std::log(best.power);
  const double r = std::log(std::max(hann_goertzel_power(window, best.freq + h, rate), 1e-300));
  const double denom = l - 2.0 * c + r;
  if (denom >= 0.0)
    return best.freq;
  const double offset = 0.5 * (l - r) / denom; // in units of h, within ±0.5
  return best.freq + std::clamp(offset, -0.5, 0.5) * h;
}

double snr_db(std::span<const int16_t> pcm, double freq_hz, uint32_t rate) noexcept {
  const std::size_t n = pcm.size();
  if (n < 3 || rate == 0)
    return -std::numeric_limits<double>::infinity();
  const double w = two_pi * freq_hz / rate;

  // Normal equations of the least-squares fit x ≈ a·cos(wi) + b·sin(wi) + d.
  double cc = 0, ss = 0, cs = 0, c1 = 0, s1 = 0, xc = 0, xs = 0, x1 = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const double c = std::cos(w * static_cast<double>(i));
    const double s = std::sin(w * static_cast<double>(i));
    const double x = pcm[i];
    cc += c * c;
    ss += s * s;
    cs += c * s;
    c1 += c;
    s1 += s;
    xc += x * c;
    xs += x * s;
    x1 += x;
  }
  const double nn = static_cast<double>(n);
  // Solve [[cc cs c1] [cs ss s1] [c1 s1 n]] · [a b d] = [xc xs x1] by Cramer's rule.
  auto det3 = [](double a11, double a12, double a13, double a21, double a22, double a23,
                 double a31, double a32, double a33) {
    return a11 * (a22 * a33 - a23 * a32) - a12 * (a21 * a33 - a23 * a31) +
           a13 * (a21 * a32 - a22 * a31);
  };
  const double det = det3(cc, cs, c1, cs, ss, s1, c1, s1, nn);
  if (std::abs(det) < 1e-9)
    return -std::numeric_limits<double>::infinity();
  const double a = det3(xc, cs, c1, xs, ss, s1, x1, s1, nn) / det;
  const double b = det3(cc, xc, c1, cs, xs, s1, c1, x1, nn) / det;
  const double d = det3(cc, cs, xc, cs, ss, xs, c1, s1, x1) / det;

  double tone = 0.0;
  double residual = 0.0;
  for (std::size_t i = 0; i < n; ++i) {
    const double fit = a * std::cos(w * static_cast<double>(i)) + b * std::sin(w * static_cast<double>(i));
    tone += fit * fit;
    const double e = pcm[i] - fit - d;
    residual += e * e;
  }
  if (residual <= 0.0)
    return std::numeric_limits<double>::infinity();
  return 10.0 * std::log10(tone / residual);
}

} // namespace centralita::media
