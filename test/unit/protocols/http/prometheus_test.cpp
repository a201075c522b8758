// metrics_writer: the exact exposition text for counters, gauges and a
// histogram; number formatting and escaping.

#include "protocols/http/prometheus.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

using namespace centralita::http;

TEST(prometheus, small_example) {
  metrics_writer w;
  w.family("centralita_sip_requests_total", "SIP requests received, by method.", "counter");
  w.sample("centralita_sip_requests_total", {{"method", "INVITE"}}, 1027);
  w.sample("centralita_sip_requests_total", {{"method", "REGISTER"}}, 3);
  w.family("centralita_active_calls", "Calls up now.", "gauge");
  w.sample("centralita_active_calls", {}, 12);
  w.family("centralita_setup_seconds", "Time from INVITE to 200 OK.", "histogram");
  const std::vector<double> bounds = {0.005, 0.1, 1, 2.5};
  const std::vector<uint64_t> counts = {2, 3, 0, 1, 4};
  w.histogram("centralita_setup_seconds", {{"trunk", "a"}}, bounds, counts, 53.25);
  EXPECT_EQ(w.text(),
            "# HELP centralita_sip_requests_total SIP requests received, by method.\n"
            "# TYPE centralita_sip_requests_total counter\n"
            "centralita_sip_requests_total{method=\"INVITE\"} 1027\n"
            "centralita_sip_requests_total{method=\"REGISTER\"} 3\n"
            "# HELP centralita_active_calls Calls up now.\n"
            "# TYPE centralita_active_calls gauge\n"
            "centralita_active_calls 12\n"
            "# HELP centralita_setup_seconds Time from INVITE to 200 OK.\n"
            "# TYPE centralita_setup_seconds histogram\n"
            "centralita_setup_seconds_bucket{trunk=\"a\",le=\"0.005\"} 2\n"
            "centralita_setup_seconds_bucket{trunk=\"a\",le=\"0.1\"} 5\n"
            "centralita_setup_seconds_bucket{trunk=\"a\",le=\"1\"} 5\n"
            "centralita_setup_seconds_bucket{trunk=\"a\",le=\"2.5\"} 6\n"
            "centralita_setup_seconds_bucket{trunk=\"a\",le=\"+Inf\"} 10\n"
            "centralita_setup_seconds_sum{trunk=\"a\"} 53.25\n"
            "centralita_setup_seconds_count{trunk=\"a\"} 10\n");
  const std::string taken = w.take();
  EXPECT_EQ(taken.substr(0, 7), "# HELP ");
}

TEST(prometheus, histogram_without_labels) {
  metrics_writer w;
  const std::vector<double> bounds = {1};
  const std::vector<uint64_t> counts = {0, 0};
  w.histogram("h", {}, bounds, counts, 0);
  EXPECT_EQ(w.text(), "h_bucket{le=\"1\"} 0\nh_bucket{le=\"+Inf\"} 0\nh_sum 0\nh_count 0\n");
}

TEST(prometheus, numbers) {
  auto fmt = [](double v) {
    metrics_writer w;
    w.sample("m", {}, v);
    std::string t = w.take();
    return t.substr(2, t.size() - 3);
  };
  EXPECT_EQ(fmt(0), "0");
  EXPECT_EQ(fmt(-0.0), "0");
  EXPECT_EQ(fmt(42), "42");
  EXPECT_EQ(fmt(-7), "-7");
  EXPECT_EQ(fmt(1e6), "1000000");
  EXPECT_EQ(fmt(123456789012345), "123456789012345");
  EXPECT_EQ(fmt(0.5), "0.5");
  EXPECT_EQ(fmt(0.1), "0.1");
  EXPECT_EQ(fmt(3.5), "3.5");
  EXPECT_EQ(fmt(1e-9), "1e-09");
  EXPECT_EQ(std::stod(fmt(1e300)), 1e300);
  EXPECT_EQ(fmt(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(fmt(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(fmt(std::nan("")), "NaN");
}

TEST(prometheus, escaping) {
  metrics_writer w;
  w.family("m", "a \\ back\nslash \"quoted\"", "gauge");
  w.sample("m", {{"path", "C:\\x \"y\"\nz"}, {"b", ""}}, 1);
  EXPECT_EQ(w.text(),
            "# HELP m a \\\\ back\\nslash \"quoted\"\n"
            "# TYPE m gauge\n"
            "m{path=\"C:\\\\x \\\"y\\\"\\nz\",b=\"\"} 1\n");
}

TEST(prometheus, content_type) {
  EXPECT_EQ(metrics_writer::content_type, "text/plain; version=0.0.4; charset=utf-8");
}
