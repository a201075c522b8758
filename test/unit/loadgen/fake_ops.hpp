#pragma once

// A fake client_ops for the scenarios' unit tests: it records what a scenario
// sends and how its attempts end (no sockets, no clock), and builds answers
// to its requests with the real SIP parser (protocols/sip).

#include "bench/loadgen/scenario.hpp"

#include "protocols/sip/message.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <string>
#include <vector>

namespace centralita::loadgen::testing {

class fake_ops final : public client_ops {
public:
  struct sent {
    uint32_t slot;
    std::string method;
    std::string bytes;
  };
  std::vector<sent> sends;
  std::map<uint32_t, std::string> outcome;  // slot → "" (success) or the cause
  std::vector<uint32_t> latencies;
  std::vector<std::pair<uint32_t, std::string>> named_latencies;
  std::vector<sent> acks;
  std::map<uint32_t, std::string> next_hops;
  std::vector<std::pair<uint32_t, std::chrono::milliseconds>> wakes;
  std::map<uint32_t, std::string> buffers;
  uint32_t branch_counter = 0;
  std::string branch_text;

  std::string_view sent_by(uint32_t slot) const override {
    static const std::string by[] = {"127.0.0.1:40000", "127.0.0.1:40001"};
    return by[slot % 2];
  }
  std::string_view next_branch(uint32_t) override {
    branch_text = "z9hG4bK-test" + std::to_string(++branch_counter);
    return branch_text;
  }
  std::string& request(uint32_t slot) override {
    auto& b = buffers[slot];
    b.clear();
    return b;
  }
  void send(uint32_t slot, std::string_view method) override {
    sends.push_back({slot, std::string(method), buffers[slot]});
  }
  void record_latency(uint32_t slot) override { latencies.push_back(slot); }
  void record_latency(uint32_t slot, std::string_view name) override {
    named_latencies.emplace_back(slot, std::string(name));
  }
  void send_ack(uint32_t slot) override { acks.push_back({slot, "ACK", buffers[slot]}); }
  bool set_next_hop(uint32_t slot, std::string_view uri) override {
    next_hops[slot] = std::string(uri);
    return true;
  }
  void wake_after(uint32_t slot, std::chrono::milliseconds delay) override {
    wakes.emplace_back(slot, delay);
  }
  void finish(uint32_t slot, std::string_view cause) override {
    ASSERT_EQ(outcome.count(slot), 0u) << "finished twice";
    outcome[slot] = std::string(cause);
  }
  std::string_view run_token() const override { return "0badf00d"; }
};

/// The request as sip::message (so it is checked by the real parser).
inline sip::message parsed(const std::string& bytes) {
  auto m = sip::message::parse(bytes);
  EXPECT_TRUE(m) << (m ? "" : m.err().reason) << "\n" << bytes;
  return std::move(m.value());
}

/// A response to `request` as the scanner sees it; `extra` header lines appended.
struct answer {
  std::string bytes;
  scanned_response scanned;
};
inline answer respond(const std::string& request, int status, const std::vector<std::string>& extra = {}) {
  auto req = parsed(request);
  auto resp = sip::make_response(req, status);
  EXPECT_TRUE(resp);
  for (auto& line : extra) {
    auto colon = line.find(':');
    resp->add_header(line.substr(0, colon), line.substr(colon + 2));
  }
  answer a;
  a.bytes = resp->serialize();
  auto s = scan_response(a.bytes);
  EXPECT_TRUE(s) << a.bytes;
  a.scanned = s.value();
  return a;
}

} // namespace centralita::loadgen::testing
