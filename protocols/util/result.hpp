#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace centralita {

/// Why an operation on the data path failed. Each value is documented because a
/// parse error's reason becomes the reason phrase of a 400 on the wire.
enum class errc {
  parse_error,        ///< the bytes are not a SIP message (start line or framing)
  bad_header,         ///< a header is present but malformed (named in the reason)
  missing_header,     ///< a mandatory header is absent (named in the reason)
  unsupported,        ///< well-formed but not something we handle (e.g. SIP/3.0)
  too_large,          ///< over a configured size limit
  invalid_argument,   ///< an API caller passed a value that cannot be encoded
  io_error,           ///< a system call failed (drivers only; reason holds strerror)
};

/// An error value: a code plus a human-readable reason (no trailing newline).
struct error {
  errc code;
  std::string reason;
};

/// The project's result type: a value or an `error` (C++20 has no std::expected).
template <class T>
class [[nodiscard]] result {
public:
  result(T value) : v_(std::in_place_index<0>, std::move(value)) {}
  result(error e) : v_(std::in_place_index<1>, std::move(e)) {}

  bool ok() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return ok(); }

  T& value() & { assert(ok()); return std::get<0>(v_); }
  const T& value() const& { assert(ok()); return std::get<0>(v_); }
  T&& value() && { assert(ok()); return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const error& err() const& { assert(!ok()); return std::get<1>(v_); }

private:
  std::variant<T, error> v_;
};

/// `result<void>`: success or an error.
template <>
class [[nodiscard]] result<void> {
public:
  result() = default;
  result(error e) : err_(std::move(e)), ok_(false) {}
  bool ok() const noexcept { return ok_; }
  explicit operator bool() const noexcept { return ok_; }
  const error& err() const { assert(!ok_); return err_; }

private:
  error err_{errc::parse_error, {}};
  bool ok_ = true;
};

} // namespace centralita

namespace centralita {
/// The enumerator's name, for logs and counters ("parse_error", ...).
const char* to_string(errc code) noexcept;
} // namespace centralita
