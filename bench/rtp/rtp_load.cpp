// centralita-rtp-load: a bounded RTP generator and receiver for N calls through a media
// relay (bench/compare/media_bench.py drives it; docs/benchmarks.md has the numbers).
//
//   1. binds 2N UDP sockets (a caller and a callee side per call, kernel-chosen ports)
//      and prints them as one JSON line: {"calls":[{"caller":"ip:port","callee":...}]}
//   2. reads one JSON line from stdin: {"calls":[{"caller_to":"ip:port",
//      "callee_to":"ip:port"}, ...]}: where each side must send (the relay's ports)
//   3. prints {"started": <unix ms>} and for --seconds sends a 20 ms packet from every
//      socket every 20 ms, on a 1 ms tick that spreads the sockets over the 20 slots,
//      while receiving on all of them; then waits --drain-ms for stragglers (less when
//      everything has arrived)
//   4. prints one JSON line with the counts, loss, jitter and its own CPU time.
//
// One thread, one io_uring (SINGLE_ISSUER | DEFER_TASKRUN): sends are sendmsg SQEs
// whose successes post no completion (IOSQE_CQE_SKIP_SUCCESS), receives are one
// multishot recvmsg per socket over one shared provided-buffer ring, and the thread
// enters the kernel once per millisecond tick to submit and reap everything at once.
// Every wait is bounded and alarm() ends the process if anything still hangs.

#include "bench/rtp/rtp_options.hpp"
#include "bench/rtp/rtp_payload.hpp"
#include "bench/rtp/rtp_stream.hpp"

#include <liburing.h>
#include <nlohmann/json.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace centralita::rtp_load {
namespace {

using json = nlohmann::json;

constexpr uint32_t ptime_ms = 20;            // RFC 3551 §4.5: 20 ms packets
constexpr unsigned buffer_count = 16384;     // provided buffers (power of two, ≤ 32768)
constexpr std::size_t buffer_size = 512;     // recvmsg_out + name + cmsg + payload
constexpr uint64_t tag_recv = uint64_t{1} << 32;
constexpr uint64_t tag_send = uint64_t{2} << 32;
constexpr uint16_t buffer_group = 0;

[[noreturn]] void fail(const std::string& message) {
  std::fprintf(stderr, "centralita-rtp-load: %s\n", message.c_str());
  std::exit(1);
}

int64_t mono_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

int64_t real_ns() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

double cpu_seconds(const rusage& ru, bool user) {
  const timeval& tv = user ? ru.ru_utime : ru.ru_stime;
  return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6;
}

std::string to_text(const sockaddr_in& a) {
  char ip[INET_ADDRSTRLEN] = {};
  inet_ntop(AF_INET, &a.sin_addr, ip, sizeof(ip));
  return std::string(ip) + ":" + std::to_string(ntohs(a.sin_port));
}

bool parse_address(const std::string& text, sockaddr_in& out) {
  auto colon = text.rfind(':');
  if (colon == std::string::npos)
    return false;
  out = sockaddr_in{};
  out.sin_family = AF_INET;
  unsigned port = 0;
  auto [p, ec] = std::from_chars(text.data() + colon + 1, text.data() + text.size(), port);
  if (ec != std::errc{} || p != text.data() + text.size() || port == 0 || port > 65535)
    return false;
  out.sin_port = htons(static_cast<uint16_t>(port));
  return inet_pton(AF_INET, text.substr(0, colon).c_str(), &out.sin_addr) == 1;
}

/// Two header buffers per stream, used alternately: a send queued on one tick may in
/// principle still be in flight when the next one of the same stream is prepared.
struct send_slot {
  std::array<uint8_t, rtp_header_size> header{};
  iovec iov[2]{};
  msghdr msg{};
};

struct stream {
  int fd = -1;
  bool caller = true;      // the caller side of its call (index 2k), else the callee (2k+1)
  sockaddr_in local{};
  sockaddr_in dest{};
  codec sends = codec::pcma;
  uint8_t payload_type = 8;
  uint32_t ssrc = 0;
  uint16_t first_seq = 0;
  uint32_t first_ts = 0;
  uint32_t sent = 0;
  uint32_t send_errors = 0;
  send_slot slots[2];
  receive_stats rx;
};

struct totals {
  uint64_t sent = 0, received = 0, unique = 0, lost = 0, lost_in_gaps = 0, duplicates = 0,
           late = 0, out_of_range = 0, send_errors = 0;
  json to_json() const {
    return {{"sent", sent},         {"received", received},         {"lost", lost},
            {"lost_in_gaps", lost_in_gaps}, {"duplicates", duplicates}, {"late", late},
            {"out_of_range", out_of_range}, {"send_errors", send_errors}};
  }
};

class load {
public:
  explicit load(options o) : opts_(std::move(o)) {}

  void open_sockets();
  void print_sockets() const;
  void read_relay_addresses();
  void setup_ring();
  void run();
  void report() const;

private:
  void arm(uint32_t index);
  void send_tick(uint32_t slot, uint32_t packet_index);
  void reap();
  void on_receive(uint32_t index, const io_uring_cqe& cqe);
  io_uring_sqe* sqe();

  options opts_;
  std::vector<stream> streams_;
  std::vector<uint64_t> bitmaps_;
  tone_payloads caller_payloads_;
  tone_payloads callee_payloads_;
  uint32_t packets_per_stream_ = 0;

  io_uring ring_{};
  io_uring_buf_ring* buf_ring_ = nullptr;
  std::unique_ptr<uint8_t[]> buffers_;
  msghdr recv_template_{};
  unsigned recycled_ = 0;
  bool skip_success_ = true;

  uint64_t total_sent_ = 0;
  uint64_t total_unique_ = 0;
  uint64_t rtcp_ = 0;
  uint64_t foreign_ = 0;
  uint64_t truncated_ = 0;
  uint64_t no_buffers_ = 0;
  uint64_t rearms_ = 0;
  uint64_t recv_errors_ = 0;
  uint64_t completions_ = 0;
  uint64_t enters_ = 0;
  int64_t max_send_lag_ns_ = 0;
  int64_t t0_real_ns_ = 0;        // slot 0 of packet 0 on CLOCK_REALTIME (receive stamps' clock)
  delay_histogram delay_;
  uint64_t sends_late_ = 0;       // packets sent more than 2 ms after their slot
  double wall_s_ = 0;
  double drain_s_ = 0;
  rusage ru_start_{};
  rusage ru_end_{};
};

void load::open_sockets() {
  // 2N sockets plus stdio and the ring: raise the descriptor limit to the hard limit.
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  sockaddr_in bind_addr{};
  if (!parse_address(opts_.host + ":1", bind_addr))
    usage_error("--host wants an IPv4 address, got '" + opts_.host + "'");
  bind_addr.sin_port = 0;
  std::mt19937 rng(opts_.seed);
  streams_.resize(std::size_t{opts_.calls} * 2);
  packets_per_stream_ = opts_.seconds * (1000 / ptime_ms);
  std::size_t words = (packets_per_stream_ + 63) / 64;
  bitmaps_.assign(streams_.size() * words, 0);
  for (std::size_t i = 0; i < streams_.size(); ++i) {
    stream& s = streams_[i];
    s.caller = (i % 2) == 0;
    s.fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s.fd < 0)
      fail("socket #" + std::to_string(i) + ": " + std::strerror(errno)
           + " (raise the open-files limit, ulimit -n)");
    int one = 1;
    // The kernel's receive time per datagram: jitter must not include our 1 ms tick.
    ::setsockopt(s.fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one));
    if (::bind(s.fd, reinterpret_cast<const sockaddr*>(&bind_addr), sizeof(bind_addr)) < 0)
      fail("bind " + opts_.host + ": " + std::strerror(errno));
    socklen_t len = sizeof(s.local);
    ::getsockname(s.fd, reinterpret_cast<sockaddr*>(&s.local), &len);
    s.sends = s.caller ? opts_.caller_codec : opts_.callee_codec;
    s.payload_type = s.sends == codec::opus ? opts_.opus_pt : 8;  // RFC 3551 §6: PCMA = 8
    // RFC 3550 §5.1: random SSRC, first sequence number and timestamp.
    s.ssrc = rng();
    s.first_seq = static_cast<uint16_t>(rng());
    s.first_ts = rng();
  }
  for (std::size_t i = 0; i < streams_.size(); ++i) {
    const stream& peer = streams_[i ^ 1];
    streams_[i].rx.init({peer.ssrc, peer.first_seq, packets_per_stream_},
                        std::span<uint64_t>(bitmaps_.data() + i * words, words));
  }
  std::string err;
  if (!caller_payloads_.build(opts_.caller_codec, opts_.opus_bitrate, err)
      || !callee_payloads_.build(opts_.callee_codec, opts_.opus_bitrate, err))
    fail(err);
}

void load::print_sockets() const {
  json calls = json::array();
  for (std::size_t i = 0; i < streams_.size(); i += 2)
    calls.push_back({{"caller", to_text(streams_[i].local)},
                     {"callee", to_text(streams_[i + 1].local)}});
  json line = {{"calls", calls},
               {"caller_codec", codec_name(opts_.caller_codec)},
               {"callee_codec", codec_name(opts_.callee_codec)},
               {"opus_pt", opts_.opus_pt}};
  std::printf("%s\n", line.dump().c_str());
  std::fflush(stdout);
}

void load::read_relay_addresses() {
  // One line, bounded in size and time.
  std::string line;
  int64_t deadline = mono_ns() + int64_t{opts_.setup_timeout_s} * 1'000'000'000;
  char buf[65536];
  while (line.find('\n') == std::string::npos) {
    int64_t left_ms = (deadline - mono_ns()) / 1'000'000;
    if (left_ms <= 0)
      fail("no relay addresses on stdin within " + std::to_string(opts_.setup_timeout_s) + " s");
    pollfd p{STDIN_FILENO, POLLIN, 0};
    int rc = ::poll(&p, 1, static_cast<int>(left_ms));
    if (rc < 0 && errno != EINTR)
      fail(std::string("poll(stdin): ") + std::strerror(errno));
    if (rc <= 0)
      continue;
    ssize_t n = ::read(STDIN_FILENO, buf, sizeof(buf));
    if (n < 0 && errno != EINTR && errno != EAGAIN)
      fail(std::string("read(stdin): ") + std::strerror(errno));
    if (n == 0)
      fail("stdin closed before the relay addresses came");
    if (n > 0)
      line.append(buf, static_cast<std::size_t>(n));
    if (line.size() > (64u << 20))
      fail("stdin line longer than 64 MiB");
  }
  line.resize(line.find('\n'));
  json j = json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object() || !j.contains("calls") || !j["calls"].is_array())
    fail("stdin: expected {\"calls\":[{\"caller_to\":..,\"callee_to\":..},..]}");
  const json& calls = j["calls"];
  if (calls.size() != opts_.calls)
    fail("stdin: " + std::to_string(calls.size()) + " calls given, " + std::to_string(opts_.calls)
         + " expected");
  for (std::size_t k = 0; k < calls.size(); ++k) {
    const json& c = calls[k];
    auto get = [&](const char* key, sockaddr_in& out) {
      if (!c.is_object() || !c.contains(key) || !c[key].is_string()
          || !parse_address(c[key].get<std::string>(), out))
        fail("stdin: call #" + std::to_string(k) + " has no valid \"" + key + "\" (ip:port)");
    };
    get("caller_to", streams_[2 * k].dest);
    get("callee_to", streams_[2 * k + 1].dest);
  }
}

void load::setup_ring() {
  io_uring_params p{};
  // The completion queue takes every receive of a tick (up to 2N/20 × 2 packets a
  // millisecond and more after a stall) without overflowing.
  p.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_CQSIZE;
  p.cq_entries = 65536;
  int rc = io_uring_queue_init_params(4096, &ring_, &p);
  if (rc == -EINVAL) {  // a kernel before 6.1: no deferred task work
    p = {};
    p.flags = IORING_SETUP_CQSIZE;
    p.cq_entries = 65536;
    rc = io_uring_queue_init_params(4096, &ring_, &p);
  }
  if (rc < 0)
    fail(std::string("io_uring_queue_init: ") + std::strerror(-rc)
         + " (io_uring disabled? kernel.io_uring_disabled, seccomp)");
  if ((p.features & IORING_FEAT_EXT_ARG) == 0)
    fail("the kernel's io_uring lacks IORING_FEAT_EXT_ARG (Linux 5.11+ needed)");
  // Successful sends post no completion where the kernel can skip them (Linux 5.17+).
  skip_success_ = (p.features & IORING_FEAT_CQE_SKIP) != 0;

  // Provided buffer ring shared by every socket's multishot recvmsg (liburing 2.3 has
  // no io_uring_setup_buf_ring: map and register it by hand).
  std::size_t ring_bytes = buffer_count * sizeof(io_uring_buf);
  void* mem = ::mmap(nullptr, ring_bytes, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE,
                     -1, 0);
  if (mem == MAP_FAILED)
    fail(std::string("mmap(buffer ring): ") + std::strerror(errno));
  buf_ring_ = static_cast<io_uring_buf_ring*>(mem);
  io_uring_buf_ring_init(buf_ring_);
  io_uring_buf_reg reg{};
  reg.ring_addr = reinterpret_cast<uint64_t>(mem);
  reg.ring_entries = buffer_count;
  reg.bgid = buffer_group;
  if (int r = io_uring_register_buf_ring(&ring_, &reg, 0); r < 0)
    fail(std::string("io_uring_register_buf_ring: ") + std::strerror(-r)
         + " (Linux 5.19+ needed for provided buffer rings)");
  buffers_.reset(new uint8_t[std::size_t{buffer_count} * buffer_size]);
  for (unsigned i = 0; i < buffer_count; ++i)
    io_uring_buf_ring_add(buf_ring_, buffers_.get() + std::size_t{i} * buffer_size, buffer_size,
                          static_cast<unsigned short>(i), io_uring_buf_ring_mask(buffer_count),
                          static_cast<int>(i));
  io_uring_buf_ring_advance(buf_ring_, static_cast<int>(buffer_count));
  recv_template_.msg_namelen = sizeof(sockaddr_in);
  recv_template_.msg_controllen = CMSG_SPACE(sizeof(timespec));

  for (uint32_t i = 0; i < streams_.size(); ++i)
    arm(i);
  io_uring_submit(&ring_);

  // Send templates: the header changes per packet, the destination never.
  for (auto& s : streams_) {
    for (auto& slot : s.slots) {
      slot.iov[0] = {slot.header.data(), slot.header.size()};
      slot.msg.msg_name = &s.dest;
      slot.msg.msg_namelen = sizeof(s.dest);
      slot.msg.msg_iov = slot.iov;
      slot.msg.msg_iovlen = 2;
    }
  }
}

io_uring_sqe* load::sqe() {
  io_uring_sqe* e = io_uring_get_sqe(&ring_);
  if (e == nullptr) {  // the submission queue is full: hand it to the kernel first
    io_uring_submit(&ring_);
    e = io_uring_get_sqe(&ring_);
  }
  return e;
}

void load::arm(uint32_t index) {
  io_uring_sqe* e = sqe();
  io_uring_prep_recvmsg_multishot(e, streams_[index].fd, &recv_template_, 0);
  e->flags |= IOSQE_BUFFER_SELECT;
  e->buf_group = buffer_group;
  io_uring_sqe_set_data64(e, tag_recv | index);
}

void load::send_tick(uint32_t slot, uint32_t packet_index) {
  // Streams slot, slot+20, slot+40, ... send in this millisecond: the 2N sockets are
  // spread evenly over the 20 ms packet interval instead of bursting together.
  for (std::size_t i = slot; i < streams_.size(); i += ptime_ms) {
    stream& s = streams_[i];
    send_slot& b = s.slots[packet_index & 1];
    const tone_payloads& payloads = s.caller ? caller_payloads_ : callee_payloads_;
    auto frame = payloads.frame(packet_index);
    // RFC 3550 §5.1: sequence +1 per packet; timestamp + samples per packet at the
    // codec's clock (160 at 8 kHz, 960 for Opus at 48 kHz, RFC 7587 §4.1).
    uint32_t ts_step = clock_rate(s.sends) / 1000 * ptime_ms;
    write_header(b.header, s.payload_type, static_cast<uint16_t>(s.first_seq + packet_index),
                 s.first_ts + packet_index * ts_step, s.ssrc);
    b.iov[1] = {const_cast<uint8_t*>(frame.data()), frame.size()};
    io_uring_sqe* e = sqe();
    io_uring_prep_sendmsg(e, s.fd, &b.msg, 0);
    if (skip_success_)
      e->flags |= IOSQE_CQE_SKIP_SUCCESS;
    io_uring_sqe_set_data64(e, tag_send | i);
    ++s.sent;
    ++total_sent_;
  }
}

void load::on_receive(uint32_t index, const io_uring_cqe& cqe) {
  stream& s = streams_[index];
  bool more = (cqe.flags & IORING_CQE_F_MORE) != 0;
  if (cqe.flags & IORING_CQE_F_BUFFER) {
    auto id = static_cast<uint16_t>(cqe.flags >> IORING_CQE_BUFFER_SHIFT);
    uint8_t* buf = buffers_.get() + std::size_t{id} * buffer_size;
    if (cqe.res > 0) {
      auto* out = io_uring_recvmsg_validate(buf, cqe.res, &recv_template_);
      if (out == nullptr || (out->flags & MSG_TRUNC) != 0) {
        ++truncated_;
      } else {
        auto len = io_uring_recvmsg_payload_length(out, cqe.res, &recv_template_);
        auto* payload = static_cast<const uint8_t*>(io_uring_recvmsg_payload(out, &recv_template_));
        int64_t arrival = 0;
        for (auto* c = io_uring_recvmsg_cmsg_firsthdr(out, &recv_template_); c != nullptr;
             c = io_uring_recvmsg_cmsg_nexthdr(out, &recv_template_, c)) {
          if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
            timespec ts;
            std::memcpy(&ts, CMSG_DATA(c), sizeof(ts));
            arrival = int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
          }
        }
        if (arrival == 0)
          arrival = real_ns();
        rtp_header h;
        switch (classify({payload, len}, h)) {
        case packet_kind::rtp: {
          uint32_t before = s.rx.unique();
          // The clock of what this side receives: the other side's codec.
          uint32_t rate = h.payload_type == opts_.opus_pt ? 48000 : 8000;
          int64_t sent_index = s.rx.on_packet(h, arrival, rate);
          total_unique_ += s.rx.unique() - before;
          if (sent_index >= 0) {
            // One-way delay from the moment the sender's schedule put the packet out:
            // packet k of the stream in slot j leaves at t0 + 20k + j ms.
            int64_t slot = static_cast<int64_t>((index ^ 1) % ptime_ms);
            delay_.record(arrival - (t0_real_ns_ + (sent_index * ptime_ms + slot) * 1'000'000));
          }
          break;
        }
        case packet_kind::rtcp:
          ++rtcp_;
          break;
        case packet_kind::foreign:
          ++foreign_;
          break;
        }
      }
    }
    io_uring_buf_ring_add(buf_ring_, buf, buffer_size, id, io_uring_buf_ring_mask(buffer_count),
                          static_cast<int>(recycled_++));
  } else if (cqe.res == -ENOBUFS) {
    ++no_buffers_;
  } else if (cqe.res < 0) {
    ++recv_errors_;  // e.g. ECONNREFUSED from an ICMP error: the socket keeps working
  }
  // The kernel ends a multishot receive on errors and when buffers run out: re-arm.
  if (!more) {
    ++rearms_;
    arm(index);
  }
}

void load::reap() {
  unsigned head = 0;
  unsigned count = 0;
  io_uring_cqe* cqe = nullptr;
  io_uring_for_each_cqe(&ring_, head, cqe) {
    ++count;
    uint64_t data = io_uring_cqe_get_data64(cqe);
    auto index = static_cast<uint32_t>(data);
    if ((data & ~uint64_t{0xffffffff}) == tag_recv) {
      on_receive(index, *cqe);
    } else if ((data & ~uint64_t{0xffffffff}) == tag_send && cqe->res < 0) {
      ++streams_[index].send_errors;
      --streams_[index].sent;
      --total_sent_;
    }
  }
  io_uring_cq_advance(&ring_, count);
  completions_ += count;
  if (recycled_ != 0) {  // hand the batch's buffers back with one tail update
    io_uring_buf_ring_advance(buf_ring_, static_cast<int>(recycled_));
    recycled_ = 0;
  }
}

void load::run() {
  std::printf("{\"started\":%lld}\n", static_cast<long long>(real_ns() / 1'000'000));
  std::fflush(stdout);
  getrusage(RUSAGE_SELF, &ru_start_);
  const int64_t start = mono_ns();
  const int64_t t0 = start + 2'000'000;  // slot 0 of packet 0
  t0_real_ns_ = real_ns() + (t0 - mono_ns());
  const uint64_t total_ticks = uint64_t{packets_per_stream_} * ptime_ms;
  uint64_t tick = 0;
  int64_t drain_start = 0;
  int64_t drain_deadline = 0;
  bool stalled = opts_.stall_ms == 0;
  for (;;) {
    if (!stalled && tick >= total_ticks / 2) {  // --stall: a generator that froze once
      stalled = true;
      usleep(opts_.stall_ms * 1000);
    }
    int64_t now = mono_ns();
    uint32_t queued_ticks = 0;
    while (tick < total_ticks && t0 + static_cast<int64_t>(tick) * 1'000'000 <= now) {
      int64_t lag = now - (t0 + static_cast<int64_t>(tick) * 1'000'000);
      if (lag > max_send_lag_ns_)
        max_send_lag_ns_ = lag;
      if (lag > 2'000'000)
        sends_late_ += (streams_.size() + ptime_ms - 1 - tick % ptime_ms) / ptime_ms;
      send_tick(static_cast<uint32_t>(tick % ptime_ms), static_cast<uint32_t>(tick / ptime_ms));
      ++tick;
      // Catching up after a stall queues several packets per stream: hand them to the
      // kernel before a stream's next packet would reuse a header buffer still queued.
      if (++queued_ticks == ptime_ms) {
        io_uring_submit(&ring_);
        queued_ticks = 0;
      }
    }
    if (tick == total_ticks && drain_deadline == 0) {
      drain_start = now;
      drain_deadline = now + int64_t{opts_.drain_ms} * 1'000'000;
    }
    if (drain_deadline != 0 && (now >= drain_deadline || total_unique_ >= total_sent_))
      break;
    int64_t wake = drain_deadline != 0 ? std::min(drain_deadline, now + 1'000'000)
                                       : t0 + static_cast<int64_t>(tick) * 1'000'000;
    int64_t wait = std::max<int64_t>(wake - now, 0);
    __kernel_timespec ts{wait / 1'000'000'000, wait % 1'000'000'000};
    io_uring_cqe* cqe = nullptr;
    // Submit this tick's sends and sleep until the next tick: a wait count no tick
    // reaches means one wake-up per millisecond, whatever the packet rate
    // (DEFER_TASKRUN keeps the receives queued until then).
    int rc = io_uring_submit_and_wait_timeout(&ring_, &cqe, 1u << 20, &ts, nullptr);
    ++enters_;
    if (rc < 0 && rc != -ETIME && rc != -EINTR && rc != -EBUSY && rc != -EAGAIN)
      fail(std::string("io_uring_submit_and_wait_timeout: ") + std::strerror(-rc));
    reap();
  }
  int64_t end = mono_ns();
  getrusage(RUSAGE_SELF, &ru_end_);
  wall_s_ = static_cast<double>(end - start) / 1e9;
  drain_s_ = static_cast<double>(end - drain_start) / 1e9;
}

void load::report() const {
  totals dir[2];  // [0]: caller -> callee (received on callee sockets), [1]: the reverse
  double max_jitter = 0, jitter_sum = 0;
  uint64_t silent = 0, rewritten = 0, ssrc_changes = 0, send_errors = 0;
  std::size_t with_jitter = 0;
  for (std::size_t i = 0; i < streams_.size(); ++i) {
    const stream& rx_side = streams_[i];
    const stream& tx_side = streams_[i ^ 1];
    totals& t = dir[rx_side.caller ? 1 : 0];
    t.sent += tx_side.sent;
    t.send_errors += tx_side.send_errors;
    send_errors += tx_side.send_errors;
    t.received += rx_side.rx.received();
    t.unique += rx_side.rx.unique();
    t.lost += rx_side.rx.lost(tx_side.sent);
    t.lost_in_gaps += rx_side.rx.lost_in_gaps();
    t.duplicates += rx_side.rx.duplicates();
    t.late += rx_side.rx.late();
    t.out_of_range += rx_side.rx.out_of_range();
    if (rx_side.rx.unique() == 0)
      ++silent;
    if (rx_side.rx.ssrc_rewritten())
      ++rewritten;
    ssrc_changes += rx_side.rx.ssrc_changes();
    if (rx_side.rx.unique() > 1) {
      max_jitter = std::max(max_jitter, rx_side.rx.max_jitter_ms());
      jitter_sum += rx_side.rx.jitter_ms();
      ++with_jitter;
    }
  }
  totals all;
  for (const auto& t : dir) {
    all.sent += t.sent;
    all.received += t.received;
    all.unique += t.unique;
    all.lost += t.lost;
    all.lost_in_gaps += t.lost_in_gaps;
    all.duplicates += t.duplicates;
    all.late += t.late;
    all.out_of_range += t.out_of_range;
  }
  double user = cpu_seconds(ru_end_, true) - cpu_seconds(ru_start_, true);
  double sys = cpu_seconds(ru_end_, false) - cpu_seconds(ru_start_, false);
  double cpu_us = (user + sys) * 1e6;
  uint64_t packets = all.sent + all.received;
  json r = {
      {"calls", opts_.calls},
      {"streams", streams_.size()},
      {"seconds", opts_.seconds},
      {"packets_per_stream", packets_per_stream_},
      {"caller_codec", codec_name(opts_.caller_codec)},
      {"callee_codec", codec_name(opts_.callee_codec)},
      {"sent", all.sent},
      {"received", all.received},
      {"unique", all.unique},
      {"lost", all.lost},
      {"lost_in_gaps", all.lost_in_gaps},
      {"loss_pct", all.sent ? 100.0 * static_cast<double>(all.lost) / static_cast<double>(all.sent) : 0.0},
      {"duplicates", all.duplicates},
      {"late", all.late},
      {"out_of_range", all.out_of_range},
      {"rtcp", rtcp_},
      {"foreign", foreign_},
      {"truncated", truncated_},
      {"send_errors", send_errors},
      {"recv_errors", recv_errors_},
      {"no_buffers", no_buffers_},
      {"rearms", rearms_},
      {"streams_silent", silent},
      {"streams_ssrc_rewritten", rewritten},
      {"ssrc_changes", ssrc_changes},
      {"caller_to_callee", dir[0].to_json()},
      {"callee_to_caller", dir[1].to_json()},
      {"max_jitter_ms", max_jitter},
      {"mean_jitter_ms", with_jitter ? jitter_sum / static_cast<double>(with_jitter) : 0.0},
      {"delay_ms",
       {{"p50", delay_.quantile_ms(0.5)},
        {"p99", delay_.quantile_ms(0.99)},
        {"max", delay_.max_ms()},
        {"packets", delay_.count()}}},
      {"send_lag_max_ms", static_cast<double>(max_send_lag_ns_) / 1e6},
      {"sends_late", sends_late_},
      {"wall_s", wall_s_},
      {"drain_s", drain_s_},
      {"kernel_enters", enters_},
      {"completions", completions_},
      {"cpu_user_s", user},
      {"cpu_sys_s", sys},
      {"cpu_us", cpu_us},
      {"cpu_us_per_packet", packets ? cpu_us / static_cast<double>(packets) : 0.0},
  };
  std::printf("%s\n", r.dump().c_str());
  std::fflush(stdout);
}

} // namespace
} // namespace centralita::rtp_load

int main(int argc, char** argv) {
  using namespace centralita::rtp_load;
  options o = parse_options(argc, argv);
  // The process ends by itself whatever happens: set-up wait + traffic + drain + margin.
  alarm(o.setup_timeout_s + o.seconds + o.drain_ms / 1000 + 30);
  load l(o);
  l.open_sockets();
  l.print_sockets();
  l.read_relay_addresses();
  l.setup_ring();
  l.run();
  l.report();
  return 0;
}
