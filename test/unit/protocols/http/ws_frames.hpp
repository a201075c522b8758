#pragma once

// Test-side RFC 6455 framing, written independently of wslay: a client's
// frame encoder (masked by default) and a strict decoder for what a server
// sends (unmasked, lengths in their shortest form).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace centralita::http::test {

/// One frame as a client sends it (§5.2). `masked` false makes the illegal
/// unmasked client frame; `length_bytes` 2 or 8 forces a longer length form.
inline std::string client_frame(uint8_t opcode, std::string_view payload, bool fin = true, bool masked = true,
                                uint32_t key = 0x37fa213d, int length_bytes = 0) {
  std::string f;
  f.push_back(static_cast<char>((fin ? 0x80 : 0) | (opcode & 0x0F)));
  const uint64_t n = payload.size();
  const char mask_bit = masked ? static_cast<char>(0x80) : 0;
  if (length_bytes == 0) length_bytes = n < 126 ? 0 : n <= 0xFFFF ? 2 : 8;
  if (length_bytes == 0) {
    f.push_back(static_cast<char>(mask_bit | static_cast<char>(n)));
  } else if (length_bytes == 2) {
    f.push_back(static_cast<char>(mask_bit | 126));
    f.push_back(static_cast<char>(n >> 8));
    f.push_back(static_cast<char>(n));
  } else {
    f.push_back(static_cast<char>(mask_bit | 127));
    for (int shift = 56; shift >= 0; shift -= 8) f.push_back(static_cast<char>(n >> shift));
  }
  if (!masked) return f.append(payload);
  const char k[4] = {static_cast<char>(key >> 24), static_cast<char>(key >> 16), static_cast<char>(key >> 8),
                     static_cast<char>(key)};
  f.append(k, 4);
  for (std::size_t i = 0; i < payload.size(); ++i) f.push_back(static_cast<char>(payload[i] ^ k[i % 4]));
  return f;
}

inline std::string close_payload(uint16_t code, std::string_view reason = {}) {
  std::string p;
  p.push_back(static_cast<char>(code >> 8));
  p.push_back(static_cast<char>(code));
  return p.append(reason);
}

struct server_frame {
  bool fin = false;
  uint8_t opcode = 0;
  std::string payload;
  uint16_t close_code() const {
    return payload.size() >= 2 ? static_cast<uint16_t>((uint8_t(payload[0]) << 8) | uint8_t(payload[1])) : 0;
  }
};

/// Decodes everything in `bytes` as server frames; nullopt when anything is
/// off: a mask, reserved bits, a length not in its shortest form, a cut frame.
inline std::optional<std::vector<server_frame>> decode_server_frames(std::string_view bytes) {
  std::vector<server_frame> out;
  while (!bytes.empty()) {
    if (bytes.size() < 2) return std::nullopt;
    const auto b0 = static_cast<uint8_t>(bytes[0]);
    const auto b1 = static_cast<uint8_t>(bytes[1]);
    if ((b0 & 0x70) != 0 || (b1 & 0x80) != 0) return std::nullopt;
    std::size_t pos = 2;
    uint64_t n = b1 & 0x7F;
    if (n == 126) {
      if (bytes.size() < 4) return std::nullopt;
      n = (uint64_t(uint8_t(bytes[2])) << 8) | uint8_t(bytes[3]);
      if (n < 126) return std::nullopt;
      pos = 4;
    } else if (n == 127) {
      if (bytes.size() < 10) return std::nullopt;
      n = 0;
      for (int i = 0; i < 8; ++i) n = (n << 8) | uint8_t(bytes[2 + i]);
      if (n <= 0xFFFF || (n >> 63) != 0) return std::nullopt;
      pos = 10;
    }
    if (bytes.size() - pos < n) return std::nullopt;
    server_frame f;
    f.fin = (b0 & 0x80) != 0;
    f.opcode = b0 & 0x0F;
    f.payload.assign(bytes.substr(pos, n));
    out.push_back(std::move(f));
    bytes.remove_prefix(pos + n);
  }
  return out;
}

} // namespace centralita::http::test
