// `options`: one stateless OPTIONS per attempt (RFC 3261 §11).
#include "bench/loadgen/scenario.hpp"

#include <charconv>

namespace centralita::loadgen {

namespace {

class options_scenario final : public scenario {
public:
  explicit options_scenario(target_params target) : target_(std::move(target)) {}

  std::string_view name() const override { return "options"; }
  void resize(std::size_t) override {}

  void begin(client_ops& ops, uint32_t slot, uint64_t number) override {
    auto branch = ops.next_branch(slot);
    auto sent_by = ops.sent_by(slot);
    auto& out = ops.request(slot);
    // RFC 3261 §8.1.1: the mandatory headers, a fresh Call-ID and From tag
    // per attempt; rport (RFC 3581) so the answer comes back to this socket.
    out += "OPTIONS ";
    out += target_.uri;
    out += " SIP/2.0\r\nVia: SIP/2.0/";
    out += ops.via_transport();
    out += ' ';
    out += sent_by;
    out += ";branch=";
    out += branch;
    out += ";rport\r\nMax-Forwards: 70\r\nFrom: <sip:centralita-bench@";
    out += sent_by;
    out += ">;tag=";
    out += ops.run_token();
    append_hex(out, number);
    out += "\r\nTo: <";
    out += target_.uri;
    out += ">\r\nCall-ID: ";
    out += ops.run_token();
    out += '-';
    append_hex(out, number);
    out += "@centralita-bench\r\nCSeq: 1 OPTIONS\r\nAccept: application/sdp\r\n"
           "User-Agent: centralita-bench\r\nContent-Length: 0\r\n\r\n";
    ops.send(slot, "OPTIONS");
  }

  void on_final(client_ops& ops, uint32_t slot, const scanned_response& r) override {
    ops.record_latency(slot);
    if (r.status >= 200 && r.status < 300) {
      ops.finish(slot, {});
      return;
    }
    ops.finish(slot, status_text(r.status));
  }

private:
  target_params target_;
};

} // namespace

std::unique_ptr<scenario> make_options_scenario(target_params target) {
  return std::make_unique<options_scenario>(std::move(target));
}

} // namespace centralita::loadgen
