#include "bench/loadgen/html_chart.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace centralita::loadgen::html {

namespace {

// The plot area inside the viewBox: room for tick labels and axis titles on
// the left and bottom (and the right with a second axis), and for the labels
// of vertical marks at the top.
constexpr double margin_left = 76;
constexpr double margin_right_plain = 28;
constexpr double margin_right_axis = 76;
constexpr double margin_top = 26;
constexpr double margin_bottom = 50;

/// A coordinate in the viewBox: one decimal is finer than a screen pixel.
std::string coord(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

std::string tooltip(std::string_view title) {
  return title.empty() ? std::string() : "<title>" + escape(title) + "</title>";
}

} // namespace

std::string escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string number(double v, int decimals) {
  if (!std::isfinite(v)) return "-";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", std::clamp(decimals, 0, 6), v);
  std::string s = buf;
  // Separators in the integer part only, after the sign.
  const std::size_t start = s[0] == '-' ? 1 : 0;
  std::size_t end = s.find('.');
  if (end == std::string::npos) end = s.size();
  for (std::size_t i = end; i > start + 3; i -= 3) s.insert(i - 3, ",");
  return s;
}

axis_scale nice_scale(double max_value, int ticks) {
  axis_scale a;
  if (!(max_value > 0) || !std::isfinite(max_value)) return a;  // 0..1 by 0.2
  ticks = std::max(ticks, 1);
  const double raw = max_value / ticks;
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  const double norm = raw / magnitude;
  const double mult = norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 5 ? 5 : 10;
  a.step = mult * magnitude;
  a.hi = std::ceil(max_value / a.step - 1e-9) * a.step;
  if (a.hi <= 0) a.hi = a.step;
  a.decimals = std::max(0, static_cast<int>(std::ceil(-std::log10(a.step) - 1e-9)));
  return a;
}

svg_chart::svg_chart(axis_scale x, std::string x_title, axis_scale y, std::string y_title)
    : x_(x), y_(y), x_title_(std::move(x_title)), y_title_(std::move(y_title)) {}

void svg_chart::right_axis(axis_scale y, std::string title) {
  y2_ = y;
  y2_title_ = std::move(title);
  has_right_ = true;
}

double svg_chart::px(double x) const {
  const double right = has_right_ ? margin_right_axis : margin_right_plain;
  const double span = x_.hi - x_.lo;
  const double f = span > 0 ? std::clamp((x - x_.lo) / span, 0.0, 1.0) : 0.0;
  return margin_left + f * (width - margin_left - right);
}

double svg_chart::py(double y, bool right) const {
  const axis_scale& a = right ? y2_ : y_;
  const double span = a.hi - a.lo;
  const double f = span > 0 ? std::clamp((y - a.lo) / span, 0.0, 1.0) : 0.0;
  return height - margin_bottom - f * (height - margin_top - margin_bottom);
}

void svg_chart::line(const std::vector<point>& points, std::string_view cls, bool right) {
  std::string pts;
  for (const auto& p : points) {
    if (!pts.empty()) pts += ' ';
    pts += coord(px(p.x)) + "," + coord(py(p.y, right));
  }
  body_ += "<polyline class=\"series " + escape(cls) + "\" points=\"" + pts + "\"/>\n";
}

void svg_chart::marker(point p, std::string_view cls, std::string_view title, bool right,
                       bool square) {
  const double x = px(p.x);
  const double y = py(p.y, right);
  if (square) {
    body_ += "<rect class=\"marker " + escape(cls) + "\" x=\"" + coord(x - 4) + "\" y=\""
             + coord(y - 4) + "\" width=\"8\" height=\"8\">" + tooltip(title) + "</rect>\n";
  } else {
    body_ += "<circle class=\"marker " + escape(cls) + "\" cx=\"" + coord(x) + "\" cy=\""
             + coord(y) + "\" r=\"4.5\">" + tooltip(title) + "</circle>\n";
  }
}

void svg_chart::axis_marker(double x, std::string_view cls, std::string_view title) {
  const double cx = px(x);
  const double base = height - margin_bottom;
  body_ += "<path class=\"marker " + escape(cls) + "\" d=\"M" + coord(cx) + " " + coord(base - 9)
           + " L" + coord(cx + 5) + " " + coord(base) + " L" + coord(cx - 5) + " " + coord(base)
           + " Z\">" + tooltip(title) + "</path>\n";
}

void svg_chart::bar(double x0, double x1, double y, std::string_view cls, std::string_view title) {
  const double left = px(x0);
  const double w = std::max(px(x1) - left, 1.0);
  const double top = py(y);
  const double h = std::max(height - margin_bottom - top, 0.0);
  body_ += "<rect class=\"bar " + escape(cls) + "\" x=\"" + coord(left) + "\" y=\"" + coord(top)
           + "\" width=\"" + coord(w) + "\" height=\"" + coord(h) + "\">" + tooltip(title)
           + "</rect>\n";
}

void svg_chart::vline(double x, std::string_view cls, std::string_view label) {
  const double cx = px(x);
  body_ += "<g class=\"" + escape(cls) + "\"><line x1=\"" + coord(cx) + "\" y1=\""
           + coord(margin_top - 4) + "\" x2=\"" + coord(cx) + "\" y2=\""
           + coord(height - margin_bottom) + "\"/>";
  if (!label.empty()) {
    // Right of the line, or left of it when it would run off the viewBox (a
    // mark at the right end); about 7.5 units per character at 12-13 px.
    const double room = width - 4 - cx;
    const bool left = 7.5 * static_cast<double>(label.size()) + 4 > room;
    body_ += "<text x=\"" + coord(left ? cx - 4 : cx + 4) + "\" y=\"" + coord(margin_top - 8)
             + (left ? "\" text-anchor=\"end\">" : "\">") + escape(label) + "</text>";
  }
  body_ += "</g>\n";
}

void svg_chart::note(std::string_view text, std::string_view cls) {
  const double right = has_right_ ? margin_right_axis : margin_right_plain;
  const double cx = (margin_left + width - right) / 2;
  const double cy = (margin_top + height - margin_bottom) / 2;
  body_ += "<text class=\"" + escape(cls) + "\" x=\"" + coord(cx) + "\" y=\"" + coord(cy)
           + "\" text-anchor=\"middle\">" + escape(text) + "</text>\n";
}

std::string svg_chart::render(std::string_view label) const {
  const double right = has_right_ ? margin_right_axis : margin_right_plain;
  const double left_x = margin_left;
  const double right_x = width - right;
  const double bottom = height - margin_bottom;
  std::string out = "<svg class=\"chart\" viewBox=\"0 0 " + coord(width) + " " + coord(height)
                    + "\" role=\"img\" xmlns=\"http://www.w3.org/2000/svg\"><title>"
                    + escape(label) + "</title>\n";

  // Horizontal grid lines and the left axis' labels, one per tick.
  auto ticks = [](const axis_scale& a) {
    std::vector<double> t;
    const int n = a.step > 0 ? static_cast<int>(std::floor((a.hi - a.lo) / a.step + 1e-9)) : 0;
    for (int i = 0; i <= n && i <= 100; ++i) t.push_back(a.lo + a.step * i);
    return t;
  };
  out += "<g class=\"grid\">";
  for (double v : ticks(y_))
    out += "<line x1=\"" + coord(left_x) + "\" y1=\"" + coord(py(v)) + "\" x2=\"" + coord(right_x)
           + "\" y2=\"" + coord(py(v)) + "\"/>";
  out += "</g>\n<g class=\"axis y\">";
  for (double v : ticks(y_))
    out += "<text x=\"" + coord(left_x - 8) + "\" y=\"" + coord(py(v) + 4)
           + "\" text-anchor=\"end\">" + number(v, y_.decimals) + "</text>";
  out += "<text class=\"axis-title\" transform=\"translate(16 " + coord((margin_top + bottom) / 2)
         + ") rotate(-90)\" text-anchor=\"middle\">" + escape(y_title_) + "</text></g>\n";
  if (has_right_) {
    out += "<g class=\"axis y2\">";
    for (double v : ticks(y2_))
      out += "<text x=\"" + coord(right_x + 8) + "\" y=\"" + coord(py(v, true) + 4) + "\">"
             + number(v, y2_.decimals) + "</text>";
    out += "<text class=\"axis-title\" transform=\"translate(" + coord(width - 14) + " "
           + coord((margin_top + bottom) / 2) + ") rotate(90)\" text-anchor=\"middle\">"
           + escape(y2_title_) + "</text></g>\n";
  }
  out += "<g class=\"axis x\"><line x1=\"" + coord(left_x) + "\" y1=\"" + coord(bottom)
         + "\" x2=\"" + coord(right_x) + "\" y2=\"" + coord(bottom) + "\"/>";
  for (double v : ticks(x_)) {
    out += "<line x1=\"" + coord(px(v)) + "\" y1=\"" + coord(bottom) + "\" x2=\"" + coord(px(v))
           + "\" y2=\"" + coord(bottom + 5) + "\"/><text x=\"" + coord(px(v)) + "\" y=\""
           + coord(bottom + 19) + "\" text-anchor=\"middle\">" + number(v, x_.decimals)
           + "</text>";
  }
  out += "<text class=\"axis-title\" x=\"" + coord((left_x + right_x) / 2) + "\" y=\""
         + coord(height - 8) + "\" text-anchor=\"middle\">" + escape(x_title_) + "</text></g>\n";
  out += body_;
  out += "</svg>\n";
  return out;
}

} // namespace centralita::loadgen::html
