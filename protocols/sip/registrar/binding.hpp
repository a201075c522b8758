#pragma once

// One registrar binding (RFC 3261 §10): an address-of-record bound to a contact,
// with what the location service needs to reach it again (Path, the received
// source and transport, the TCP connection, RFC 5626 instance/reg-id, RFC 8599
// push parameters). A compact value type: every string lives in one owned buffer
// addressed by end offsets, so a typical binding costs one heap block.

#include "protocols/util/result.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory_resource>
#include <string>
#include <string_view>
#include <vector>

namespace centralita::sip {

/// A registered contact of one address-of-record (RFC 3261 §10.3).
struct binding {
  /// Allocator-aware (std::pmr): a registrar shard keeps its bindings in a
  /// memory pool of its own, away from the heap that transactions churn (which
  /// would otherwise strand one binding on every page). Copies made with the
  /// copy constructor use the default resource, so a copy that leaves the
  /// shard (a lookup answer, a store write) never points into its pool.
  using allocator_type = std::pmr::polymorphic_allocator<char>;

  binding() = default;
  explicit binding(const allocator_type& alloc) : text_(alloc) {}
  binding(const binding&) = default;
  binding(binding&&) noexcept = default;
  binding(const binding& other, const allocator_type& alloc);
  binding(binding&& other, const allocator_type& alloc);
  binding& operator=(const binding&) = default;
  binding& operator=(binding&&) = default;

  /// The text fields, in buffer order.
  enum class field : uint8_t {
    aor,          ///< normalised "user@domain" (see `normalize_aor`)
    contact,      ///< the contact URI, printed, without angle brackets
    call_id,      ///< Call-ID of the REGISTER that last set it (RFC 3261 §10.3 step 7)
    path,         ///< RFC 3327 Path values, topmost first, joined with '\n'
    received,     ///< "ip:port" the REGISTER came from (NAT traversal)
    transport,    ///< "udp" / "tcp" / ...
    instance,     ///< +sip.instance without quotes ("<urn:uuid:...>"), RFC 5626
    user_agent,   ///< User-Agent header of the REGISTER
    pn_provider,  ///< RFC 8599 pn-provider URI parameter, verbatim
    pn_prid,      ///< RFC 8599 pn-prid URI parameter, verbatim
    pn_param,     ///< RFC 8599 pn-param URI parameter, verbatim
    pn_purr,      ///< RFC 8599 §4.1.3 pn-purr the registrar gave it (+sip.pnspurr)
  };
  static constexpr size_t field_count = 12;

  int64_t expires_at = 0;   ///< absolute wall-clock seconds since the epoch
  uint64_t connection = 0;  ///< transport connection id for flow reuse; 0 = none
  uint32_t cseq = 0;        ///< CSeq of the REGISTER that last set it
  uint32_t reg_id = 0;      ///< RFC 5626 reg-id; 0 = none
  uint16_t q = 1000;        ///< q-value in thousandths (RFC 3261 §20.10)
  bool q_given = false;     ///< the contact carried a q parameter (echoed in the 200)
  /// RFC 8599 §4.1.2: the Contact carried +sip.pnsreg (the UA wants a push shortly
  /// before the binding expires, to refresh it).
  bool pnsreg = false;

  /// One text field.
  std::string_view get(field f) const noexcept;
  /// Replaces one text field (the buffer is rebuilt: meant for construction).
  void set(field f, std::string_view value);

  std::string_view aor() const noexcept { return get(field::aor); }
  std::string_view contact() const noexcept { return get(field::contact); }
  std::string_view call_id() const noexcept { return get(field::call_id); }
  std::string_view received() const noexcept { return get(field::received); }
  std::string_view transport() const noexcept { return get(field::transport); }
  std::string_view instance() const noexcept { return get(field::instance); }
  std::string_view user_agent() const noexcept { return get(field::user_agent); }
  std::string_view pn_provider() const noexcept { return get(field::pn_provider); }
  std::string_view pn_prid() const noexcept { return get(field::pn_prid); }
  std::string_view pn_param() const noexcept { return get(field::pn_param); }
  std::string_view pn_purr() const noexcept { return get(field::pn_purr); }
  /// RFC 3327: the Path values, topmost first.
  std::vector<std::string_view> path() const;
  /// Sets the Path values (each must be line-safe: no CR/LF).
  void set_path(const std::vector<std::string>& values);
  /// The Path field as stored (values joined with '\n'), e.g. for a database column.
  std::string_view path_joined() const noexcept { return get(field::path); }

  /// Seconds left at `now` (0 when expired).
  uint32_t remaining(int64_t now) const noexcept;
  /// Heap bytes owned beyond sizeof(binding) (0 while the text fits the SSO buffer).
  size_t heap_bytes() const noexcept;

  bool operator==(const binding&) const = default;

private:
  std::pmr::string text_;
  std::array<uint32_t, field_count> ends_{};
};

/// RFC 3261 §10.3 step 5: the canonical address-of-record of a SIP/SIPS URI:
/// "user@domain" with the domain lower-cased, without scheme, port, parameters or
/// headers ("domain" alone when there is no user part). Errors: `errc::bad_header`
/// for a URI that is not sip:/sips: or has no host.
result<std::string> normalize_aor(std::string_view uri);

/// RFC 3261 §19.1.4 (simplified): two contact URIs name the same binding when they
/// are equal with scheme and host compared case-insensitively.
bool same_contact_uri(std::string_view a, std::string_view b) noexcept;

} // namespace centralita::sip
