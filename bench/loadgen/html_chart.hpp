#pragma once

// Inline SVG charts for the HTML report (html_report.hpp): linear axes with
// round ticks, lines, markers, bars and labelled vertical marks, as plain SVG
// elements that the report's stylesheet colours by class. No script: the
// report reads the same with JavaScript off. Pure string building.

#include <string>
#include <string_view>
#include <vector>

namespace centralita::loadgen::html {

/// Text for HTML element content and attribute values: & < > " ' escaped.
std::string escape(std::string_view text);

/// `v` with `decimals` decimals and thousands separators: 1234567.8 → "1,234,568".
std::string number(double v, int decimals);

/// A linear axis from `lo` to `hi` with a tick every `step` (1, 2 or 5 times
/// a power of ten), labels with `decimals` decimals.
struct axis_scale {
  double lo = 0;
  double hi = 1;
  double step = 0.2;
  int decimals = 1;
};

/// From 0 to the first tick at or above `max_value`, about `ticks` ticks;
/// 0..1 when there is nothing to show (max_value <= 0, NaN).
axis_scale nice_scale(double max_value, int ticks = 5);

struct point {
  double x = 0;
  double y = 0;
};

class svg_chart {
public:
  static constexpr double width = 960;
  static constexpr double height = 300;

  svg_chart(axis_scale x, std::string x_title, axis_scale y, std::string y_title);

  /// A second y axis, on the right (series drawn with `right` use it).
  void right_axis(axis_scale y, std::string title);

  /// A polyline through the points (class "series <cls>").
  void line(const std::vector<point>& points, std::string_view cls, bool right = false);
  /// A dot (circle) or, with `square`, a square at `p`; `title` is its tooltip.
  void marker(point p, std::string_view cls, std::string_view title, bool right = false,
              bool square = false);
  /// A small triangle on the x axis at `x` pointing up (events such as failures).
  void axis_marker(double x, std::string_view cls, std::string_view title);
  /// A bar from x0 to x1, from 0 up to y.
  void bar(double x0, double x1, double y, std::string_view cls, std::string_view title);
  /// A vertical line across the plot at `x`, `label` at its top.
  void vline(double x, std::string_view cls, std::string_view label);
  /// Centred text in the plot area (e.g. "no data").
  void note(std::string_view text, std::string_view cls);

  /// The <svg> element; `label` is its accessible title.
  std::string render(std::string_view label) const;

  double px(double x) const;
  double py(double y, bool right = false) const;

private:
  axis_scale x_;
  axis_scale y_;
  axis_scale y2_;
  bool has_right_ = false;
  std::string x_title_;
  std::string y_title_;
  std::string y2_title_;
  std::string body_;
};

} // namespace centralita::loadgen::html
