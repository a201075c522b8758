#include "drivers/rtp/rtp_engine.hpp"

#include <netinet/in.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace centralita::drivers {

namespace {

// Room in each provided buffer for the io_uring_recvmsg_out header and the
// source address ahead of the payload.
constexpr std::size_t recv_headroom = sizeof(io_uring_recvmsg_out) + sizeof(sockaddr_storage);
// The largest datagram relayed: an Ethernet MTU's worth of RTP with room to
// spare; anything longer is not media we carry (and is counted, not cut).
constexpr std::size_t max_packet = 1600;
constexpr std::size_t send_chunk = 256;

int64_t steady_ns(reactor::clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

// RFC 5761 §4: with RTP and RTCP on one port, RTCP is told apart by its
// packet type in the second byte (RTCP 192-223; RTP payload types with the
// marker bit never land there when 64-95 are avoided, which §4 requires).
bool looks_like_rtcp(const uint8_t* data, std::size_t len) {
  return len >= 8 && (data[0] >> 6) == 2 && data[1] >= 192 && data[1] <= 223;
}

} // namespace

struct rtp_engine::send_slot final : completion {
  rtp_engine* engine = nullptr;
  msghdr msg{};
  iovec iov{};
  sockaddr_storage to{};
  uint8_t data[max_packet];

  void on_completion(reactor&, const io_uring_cqe& cqe) override {
    if (cqe.res < 0)
      engine->counters_.send_errors.fetch_add(1, std::memory_order_relaxed);
    engine->free_sends_.push_back(this);
  }
};

void rtp_socket::on_completion(reactor&, const io_uring_cqe& cqe) {
  engine->on_receive(*this, cqe);
}

rtp_engine::rtp_engine(reactor& r, const rtp_relay_options& opts, rtp_relay_events& events,
                       rtp_port_pool& pool, rtp_relay_counters& counters)
  : r_(r), opts_(opts), events_(events), pool_(pool), counters_(counters) {
  recv_template_.msg_namelen = sizeof(sockaddr_storage);
}

rtp_engine::~rtp_engine() {
  // The process is ending (the reactors have stopped): close what is open.
  // Functions still posted to the reactor hold a weak reference only.
  r_.timers().cancel(sweep_);
  for (auto& s : slots_) {
    for (auto* sock : {&s->rtp, &s->rtcp})
      if (sock->fd >= 0)
        ::close(sock->fd);
  }
  if (registered_)
    io_uring_unregister_buf_ring(r_.ring(), opts_.buffer_group);
  if (buf_ring_ != nullptr)
    ::munmap(buf_ring_, buf_ring_bytes_);
}

result<void> rtp_engine::start() {
  unsigned count = 1;
  while (count < opts_.buffers_per_reactor && count < 32768)
    count <<= 1;
  buffer_count_ = count;
  // +1 so a datagram longer than max_packet shows as truncated; 64-aligned.
  buffer_size_ = (max_packet + 1 + recv_headroom + 63) & ~std::size_t{63};
  buf_ring_bytes_ = count * sizeof(io_uring_buf);
  void* mem = ::mmap(nullptr, buf_ring_bytes_, PROT_READ | PROT_WRITE,
                     MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
  if (mem == MAP_FAILED)
    return error{errc::io_error, std::string("mmap(rtp buffer ring): ") + std::strerror(errno)};
  buf_ring_ = static_cast<io_uring_buf_ring*>(mem);
  io_uring_buf_ring_init(buf_ring_);
  io_uring_buf_reg reg{};
  reg.ring_addr = reinterpret_cast<uint64_t>(mem);
  reg.ring_entries = count;
  reg.bgid = opts_.buffer_group;
  if (int rc = io_uring_register_buf_ring(r_.ring(), &reg, 0); rc < 0)
    return error{errc::io_error,
                 std::string("io_uring_register_buf_ring(rtp): ") + std::strerror(-rc)};
  registered_ = true;
  buffers_.reset(new uint8_t[count * buffer_size_]);
  for (unsigned i = 0; i < count; ++i)
    io_uring_buf_ring_add(buf_ring_, buffers_.get() + i * buffer_size_,
                          static_cast<unsigned>(buffer_size_), static_cast<unsigned short>(i),
                          io_uring_buf_ring_mask(count), static_cast<int>(i));
  io_uring_buf_ring_advance(buf_ring_, static_cast<int>(count));
  schedule_sweep();
  return {};
}

void rtp_engine::schedule_sweep() {
  sweep_ = r_.timers().schedule(r_.now() + opts_.sweep_interval, this, 0);
}

result<rtp_relay::opened> rtp_engine::open(uint64_t cookie) {
  auto pair = pool_.acquire();
  if (!pair)
    return pair.err();
  rtp_side* s;
  {
    std::lock_guard lock(slab_mu_);
    if (!free_.empty()) {
      s = slots_[free_.back()].get();
      free_.pop_back();
    } else {
      if (slots_.size() >= 0xffffff) {
        ::close(pair->rtp_fd);
        ::close(pair->rtcp_fd);
        pool_.release(pair->rtp_local.port());
        return error{errc::io_error, "too many media sides on one reactor"};
      }
      slots_.push_back(std::make_unique<rtp_side>());
      s = slots_.back().get();
      s->slot = static_cast<uint32_t>(slots_.size() - 1);
    }
    // A free slot is touched by no one else: the reactor only reads sides
    // it started, and this one is not started until the post below runs.
    s->st = rtp_side::state::opening;
    s->cookie = cookie;
    for (auto* sock : {&s->rtp, &s->rtcp}) {
      sock->engine = this;
      sock->side = s;
      sock->armed = false;
      sock->closing = false;
    }
    s->rtp.fd = pair->rtp_fd;
    s->rtp.rtcp = false;
    s->rtcp.fd = pair->rtcp_fd;
    s->rtcp.rtcp = true;
    s->stats = rtp_side_stats{};
    s->stats.rtp_local = pair->rtp_local;
  }
  auto id = s->id(r_.index());
  open_count_.fetch_add(1, std::memory_order_relaxed);
  counters_.sides_opened.fetch_add(1, std::memory_order_relaxed);
  r_.post([w = weak_from_this(), s] {
    if (auto e = w.lock())
      e->begin(s);
  });
  return rtp_relay::opened{id, pair->rtp_local, pair->rtcp_local};
}

void rtp_engine::begin(rtp_side* s) {
  if (s->st != rtp_side::state::opening)
    return;  // closed before it started
  s->st = rtp_side::state::live;
  s->configured_ns = steady_ns(r_.now());
  s->live_index = live_.size();
  live_.push_back(s);
  arm(s->rtp);
  arm(s->rtcp);
}

rtp_side* rtp_engine::find(rtp_side_id id) {
  rtp_side* s = nullptr;
  {
    std::lock_guard lock(slab_mu_);
    if (id.slot() < slots_.size())
      s = slots_[id.slot()].get();
  }
  if (s == nullptr || s->generation != id.generation())
    return nullptr;
  if (s->st != rtp_side::state::live && s->st != rtp_side::state::opening)
    return nullptr;
  return s;
}

void rtp_engine::arm(rtp_socket& sock) {
  auto* sqe = r_.get_sqe();
  io_uring_prep_recvmsg_multishot(sqe, sock.fd, &recv_template_, 0);
  sqe->flags |= IOSQE_BUFFER_SELECT;
  sqe->buf_group = opts_.buffer_group;
  io_uring_sqe_set_data(sqe, static_cast<completion*>(&sock));
  sock.armed = true;
}

void rtp_engine::recycle(uint16_t buffer_id) {
  io_uring_buf_ring_add(buf_ring_, buffers_.get() + std::size_t{buffer_id} * buffer_size_,
                        static_cast<unsigned>(buffer_size_), buffer_id,
                        io_uring_buf_ring_mask(buffer_count_), 0);
  io_uring_buf_ring_advance(buf_ring_, 1);
}

void rtp_engine::on_receive(rtp_socket& sock, const io_uring_cqe& cqe) {
  const bool more = (cqe.flags & IORING_CQE_F_MORE) != 0;
  if (cqe.flags & IORING_CQE_F_BUFFER) {
    auto bid = static_cast<uint16_t>(cqe.flags >> IORING_CQE_BUFFER_SHIFT);
    uint8_t* buf = buffers_.get() + std::size_t{bid} * buffer_size_;
    if (cqe.res > 0 && !sock.closing) {
      auto* out = io_uring_recvmsg_validate(buf, cqe.res, &recv_template_);
      if (out != nullptr) {
        auto len = io_uring_recvmsg_payload_length(out, cqe.res, &recv_template_);
        if ((out->flags & MSG_TRUNC) != 0 || len > max_packet) {
          counters_.truncated.fetch_add(1, std::memory_order_relaxed);
        } else {
          auto namelen = std::min<socklen_t>(out->namelen, sizeof(sockaddr_storage));
          endpoint src(static_cast<const sockaddr*>(io_uring_recvmsg_name(out)), namelen);
          handle(sock, src, static_cast<uint8_t*>(io_uring_recvmsg_payload(out, &recv_template_)),
                 len);
        }
      }
    }
    recycle(bid);
  } else if (cqe.res == -ENOBUFS) {
    counters_.no_buffers.fetch_add(1, std::memory_order_relaxed);
  }
  if (more)
    return;
  // The multishot receive ended: cancelled (closing), or the kernel stopped
  // it (buffers ran out, an ICMP error on the socket): re-arm unless closing.
  sock.armed = false;
  if (sock.closing)
    socket_ended(sock);
  else if (cqe.res != -EBADF)
    arm(sock);
}

const endpoint* rtp_engine::destination(const rtp_side& s, bool rtcp) const {
  if (!rtcp || s.cfg.rtcp_mux) {
    if (s.stats.latched_rtp)
      return &*s.stats.latched_rtp;
    return s.cfg.remote_rtp ? &*s.cfg.remote_rtp : nullptr;
  }
  if (s.stats.latched_rtcp)
    return &*s.stats.latched_rtcp;
  return s.cfg.remote_rtcp ? &*s.cfg.remote_rtcp : nullptr;
}

void rtp_engine::handle(rtp_socket& sock, const endpoint& source, uint8_t* data, std::size_t len) {
  rtp_side& s = *sock.side;
  if (s.st != rtp_side::state::live)
    return;
  const int64_t now = steady_ns(r_.now());
  const bool rtcp = sock.rtcp || looks_like_rtcp(data, len);
  counters_.rx_packets.fetch_add(1, std::memory_order_relaxed);
  ++s.stats.rx_packets;
  s.stats.rx_bytes += len;
  if (rtcp)
    ++s.stats.rtcp_rx_packets;

  // Symmetric RTP (RFC 4961 §3): the party receives where it sends from, so
  // the first source seen is where its packets go from now on (NAT). Another
  // source is refused while the latched one is alive, and wins once it has
  // been silent for relatch_after (the party moved).
  if (s.cfg.latch) {
    auto& latched = sock.rtcp ? s.stats.latched_rtcp : s.stats.latched_rtp;
    auto& latched_at = sock.rtcp ? s.latched_rtcp_ns : s.latched_rtp_ns;
    if (!latched || !(*latched == source)) {
      const int64_t quiet = now - latched_at;
      if (latched
          && quiet < std::chrono::duration_cast<std::chrono::nanoseconds>(s.cfg.relatch_after).count()) {
        ++s.stats.wrong_source;
        counters_.dropped.fetch_add(1, std::memory_order_relaxed);
        return;
      }
      latched = source;
    }
    latched_at = now;
  }
  s.stats.last_rx_ns = now;

  if (!rtcp && len >= 12) {
    // SSRC changes (a transfer, a media server switching sources) are
    // tolerated: counted, never a reason to drop.
    uint32_t ssrc = (uint32_t{data[8]} << 24) | (uint32_t{data[9]} << 16)
                    | (uint32_t{data[10]} << 8) | data[11];
    if (ssrc != s.stats.ssrc) {
      if (s.stats.rx_packets - s.stats.rtcp_rx_packets > 1)
        ++s.stats.ssrc_changes;
      s.stats.ssrc = ssrc;
    }
  }

  if (s.cfg.tap) {
    rtp_packet_view view{std::span<uint8_t>(data, len), len, source, rtcp, now};
    if (s.cfg.tap->on_packet(view) == tap_verdict::drop) {
      ++s.stats.tap_dropped;
      return;
    }
    len = std::min(view.length, len);
  }

  rtp_side* peer = s.peer;
  if (peer == nullptr || peer->generation != s.peer_generation || peer->st != rtp_side::state::live) {
    ++s.stats.no_destination;
    counters_.dropped.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  const endpoint* to = destination(*peer, rtcp);
  if (to == nullptr) {
    ++s.stats.no_destination;
    counters_.dropped.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  if (transmit(*peer, rtcp, *to, data, len)) {
    ++s.stats.forwarded;
    counters_.forwarded.fetch_add(1, std::memory_order_relaxed);
  }
}

bool rtp_engine::transmit(rtp_side& from, bool rtcp, const endpoint& to, const uint8_t* data,
                          std::size_t len) {
  if (len > max_packet)
    return false;
  if (free_sends_.empty()) {
    if (send_slots_ >= opts_.max_send_slots) {
      counters_.send_overflow.fetch_add(1, std::memory_order_relaxed);
      ++from.stats.send_errors;
      return false;
    }
    // Grows only when more sends are in flight than ever before.
    send_chunks_.push_back(std::make_unique<send_slot[]>(send_chunk));
    for (std::size_t i = 0; i < send_chunk; ++i) {
      send_chunks_.back()[i].engine = this;
      free_sends_.push_back(&send_chunks_.back()[i]);
    }
    send_slots_ += send_chunk;
  }
  send_slot* slot = free_sends_.back();
  free_sends_.pop_back();
  std::memcpy(slot->data, data, len);
  std::memcpy(&slot->to, to.data(), to.size());
  slot->iov.iov_base = slot->data;
  slot->iov.iov_len = len;
  slot->msg = msghdr{};
  slot->msg.msg_name = &slot->to;
  slot->msg.msg_namelen = to.size();
  slot->msg.msg_iov = &slot->iov;
  slot->msg.msg_iovlen = 1;
  const int fd = rtcp && !from.cfg.rtcp_mux ? from.rtcp.fd : from.rtp.fd;
  auto* sqe = r_.get_sqe();
  io_uring_prep_sendmsg(sqe, fd, &slot->msg, 0);
  io_uring_sqe_set_data(sqe, static_cast<completion*>(slot));
  ++from.stats.sent;
  return true;
}

void rtp_engine::configure(rtp_side_id id, rtp_side_config cfg) {
  rtp_side* s = find(id);
  if (s == nullptr)
    return;
  // A new address from the SDP (re-INVITE) means the party may have moved:
  // learn it again.
  if (cfg.remote_rtp != s->cfg.remote_rtp) {
    s->stats.latched_rtp.reset();
    s->stats.latched_rtcp.reset();
  }
  s->cfg = std::move(cfg);
  s->peer = nullptr;
  s->peer_generation = 0;
  if (s->cfg.peer.valid() && s->cfg.peer.reactor() == r_.index()) {
    if (rtp_side* p = find(s->cfg.peer)) {
      s->peer = p;
      s->peer_generation = p->generation;
    }
  }
  s->configured_ns = steady_ns(r_.now());
  s->inactive_reported = false;
}

void rtp_engine::send(rtp_side_id id, std::span<const uint8_t> bytes, bool rtcp) {
  rtp_side* s = find(id);
  if (s == nullptr || s->st != rtp_side::state::live)
    return;
  const endpoint* to = destination(*s, rtcp);
  if (to == nullptr) {
    ++s->stats.no_destination;
    return;
  }
  if (transmit(*s, rtcp, *to, bytes.data(), bytes.size()))
    counters_.originated.fetch_add(1, std::memory_order_relaxed);
}

void rtp_engine::query(rtp_side_id id, const std::function<void(const rtp_side_stats*)>& fn) {
  rtp_side* s = find(id);
  fn(s != nullptr ? &s->stats : nullptr);
}

void rtp_engine::close(rtp_side_id id) {
  rtp_side* s = find(id);
  if (s == nullptr)
    return;
  const bool started = s->st == rtp_side::state::live;
  s->st = rtp_side::state::closing;
  s->cfg.tap.reset();
  if (started) {
    // Remove from the sweep list (swap with the last).
    live_[s->live_index] = live_.back();
    live_[s->live_index]->live_index = s->live_index;
    live_.pop_back();
  }
  for (auto* sock : {&s->rtp, &s->rtcp}) {
    sock->closing = true;
    if (sock->armed) {
      // The multishot receive holds the socket: cancel it; its last
      // completion (ECANCELED, no F_MORE) ends the socket.
      auto* sqe = r_.get_sqe();
      io_uring_prep_cancel64(sqe, reinterpret_cast<uint64_t>(static_cast<completion*>(sock)), 0);
      io_uring_sqe_set_data(sqe, nullptr);
    }
  }
  for (auto* sock : {&s->rtp, &s->rtcp})
    if (!sock->armed)
      socket_ended(*sock);
}

void rtp_engine::socket_ended(rtp_socket& sock) {
  rtp_side* s = sock.side;
  if (s->st != rtp_side::state::closing || s->release_posted || s->rtp.armed || s->rtcp.armed)
    return;
  // Both receives are over. Sends queued in this batch still name the fds:
  // close them after the batch is submitted (a posted function runs then).
  s->release_posted = true;
  r_.post([w = weak_from_this(), s] {
    if (auto e = w.lock())
      e->release(s);
  });
}

void rtp_engine::release(rtp_side* s) {
  const uint16_t port = s->stats.rtp_local.port();
  const auto id = s->id(r_.index());
  const uint64_t cookie = s->cookie;
  for (auto* sock : {&s->rtp, &s->rtcp}) {
    if (sock->fd >= 0)
      ::close(sock->fd);
    sock->fd = -1;
    sock->armed = false;
    sock->closing = false;
  }
  s->release_posted = false;
  pool_.release(port);
  s->cfg = rtp_side_config{};
  s->peer = nullptr;
  {
    std::lock_guard lock(slab_mu_);
    s->st = rtp_side::state::free;
    if (++s->generation == 0)
      s->generation = 1;
    free_.push_back(s->slot);
  }
  open_count_.fetch_sub(1, std::memory_order_relaxed);
  counters_.sides_released.fetch_add(1, std::memory_order_relaxed);
  events_.on_released(id, cookie);
}

void rtp_engine::on_timer(uint64_t) {
  const int64_t now = steady_ns(r_.now());
  for (std::size_t i = 0; i < live_.size(); ++i) {
    rtp_side* s = live_[i];
    if (s->cfg.inactivity_timeout.count() <= 0 || s->inactive_reported)
      continue;
    const int64_t since = std::max(s->stats.last_rx_ns, s->configured_ns);
    if (now - since
        >= std::chrono::duration_cast<std::chrono::nanoseconds>(s->cfg.inactivity_timeout).count()) {
      s->inactive_reported = true;
      counters_.inactive.fetch_add(1, std::memory_order_relaxed);
      events_.on_inactive(s->id(r_.index()), s->cookie);
    }
  }
  schedule_sweep();
}

} // namespace centralita::drivers
