#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace centralita::drivers {

/// An IPv4 or IPv6 socket address (value type, no resolution: literals only).
class endpoint {
public:
  endpoint() = default;
  /// From a kernel address (as filled by recvmsg/accept).
  endpoint(const sockaddr* sa, socklen_t len);

  /// Parses "1.2.3.4:5060", "[::1]:5060"; a missing port gives `default_port`.
  static std::optional<endpoint> parse(std::string_view text, uint16_t default_port = 5060);
  /// From an address literal and a port ("127.0.0.1", "::1", "[::1]").
  static std::optional<endpoint> from(std::string_view address, uint16_t port);

  const sockaddr* data() const { return reinterpret_cast<const sockaddr*>(&storage_); }
  sockaddr* data() { return reinterpret_cast<sockaddr*>(&storage_); }
  socklen_t size() const { return len_; }
  int family() const { return storage_.sa.sa_family; }
  bool valid() const { return len_ != 0; }
  uint16_t port() const;
  /// The address without port ("127.0.0.1", "::1").
  std::string address() const;
  /// "127.0.0.1:5060" or "[::1]:5060".
  std::string to_string() const;
  /// Same family, address and port.
  bool operator==(const endpoint& other) const;
  std::size_t hash() const;

private:
  // An IPv4 or IPv6 address only: 28 bytes rather than sockaddr_storage's
  // 128 (an endpoint sits in every transaction, call and routing run).
  union storage {
    sockaddr sa;
    sockaddr_in v4;
    sockaddr_in6 v6;
  };
  storage storage_{};
  socklen_t len_ = 0;
};

struct endpoint_hash {
  std::size_t operator()(const endpoint& e) const { return e.hash(); }
};

} // namespace centralita::drivers
