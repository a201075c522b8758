#include "drivers/net/endpoint.hpp"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>
#include <functional>

namespace centralita::drivers {

endpoint::endpoint(const sockaddr* sa, socklen_t len) {
  if (sa == nullptr || len == 0 || len > sizeof(storage_))
    return;
  std::memcpy(&storage_, sa, len);
  len_ = len;
}

std::optional<endpoint> endpoint::from(std::string_view address, uint16_t port) {
  if (address.size() >= 2 && address.front() == '[' && address.back() == ']')
    address = address.substr(1, address.size() - 2);
  std::string text(address);
  endpoint e;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&e.storage_);
  if (inet_pton(AF_INET, text.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    e.len_ = sizeof(sockaddr_in);
    return e;
  }
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&e.storage_);
  if (inet_pton(AF_INET6, text.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    e.len_ = sizeof(sockaddr_in6);
    return e;
  }
  return std::nullopt;
}

std::optional<endpoint> endpoint::parse(std::string_view text, uint16_t default_port) {
  std::string_view host = text;
  std::string_view port_text;
  if (!text.empty() && text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string_view::npos)
      return std::nullopt;
    host = text.substr(0, close + 1);
    auto rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':')
        return std::nullopt;
      port_text = rest.substr(1);
    }
  } else if (auto colon = text.rfind(':'); colon != std::string_view::npos
             && text.find(':') == colon) {
    host = text.substr(0, colon);
    port_text = text.substr(colon + 1);
  }
  uint16_t port = default_port;
  if (!port_text.empty() || host.size() != text.size()) {
    unsigned value = 0;
    auto [ptr, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), value);
    if (ec != std::errc{} || ptr != port_text.data() + port_text.size() || value > 65535)
      return std::nullopt;
    port = static_cast<uint16_t>(value);
  }
  return from(host, port);
}

uint16_t endpoint::port() const {
  if (family() == AF_INET)
    return ntohs(reinterpret_cast<const sockaddr_in*>(&storage_)->sin_port);
  if (family() == AF_INET6)
    return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_port);
  return 0;
}

std::string endpoint::address() const {
  char buf[INET6_ADDRSTRLEN] = {0};
  if (family() == AF_INET)
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&storage_)->sin_addr, buf, sizeof(buf));
  else if (family() == AF_INET6)
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_addr, buf, sizeof(buf));
  return buf;
}

std::string endpoint::to_string() const {
  if (family() == AF_INET6)
    return "[" + address() + "]:" + std::to_string(port());
  return address() + ":" + std::to_string(port());
}

bool endpoint::operator==(const endpoint& other) const {
  if (family() != other.family())
    return false;
  if (family() == AF_INET) {
    auto* a = reinterpret_cast<const sockaddr_in*>(&storage_);
    auto* b = reinterpret_cast<const sockaddr_in*>(&other.storage_);
    return a->sin_port == b->sin_port && a->sin_addr.s_addr == b->sin_addr.s_addr;
  }
  if (family() == AF_INET6) {
    auto* a = reinterpret_cast<const sockaddr_in6*>(&storage_);
    auto* b = reinterpret_cast<const sockaddr_in6*>(&other.storage_);
    return a->sin6_port == b->sin6_port
           && std::memcmp(&a->sin6_addr, &b->sin6_addr, sizeof(a->sin6_addr)) == 0;
  }
  return len_ == other.len_;
}

std::size_t endpoint::hash() const {
  std::size_t h = port();
  if (family() == AF_INET) {
    h ^= std::hash<uint32_t>{}(reinterpret_cast<const sockaddr_in*>(&storage_)->sin_addr.s_addr) << 1;
  } else if (family() == AF_INET6) {
    auto* a = reinterpret_cast<const sockaddr_in6*>(&storage_);
    std::string_view bytes(reinterpret_cast<const char*>(&a->sin6_addr), sizeof(a->sin6_addr));
    h ^= std::hash<std::string_view>{}(bytes) << 1;
  }
  return h;
}

} // namespace centralita::drivers
