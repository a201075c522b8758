#include "media/dtmf/inband_generator.hpp"

#include <algorithm>
#include <cctype>
#include <new>

#include <spandsp.h>

namespace centralita::media {

namespace {

// The 16 DTMF keys (ITU-T Q.23 §2); spandsp knows them in upper case only.
char normalise_digit(char c) noexcept {
  const char u = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if ((u >= '0' && u <= '9') || u == '*' || u == '#' || (u >= 'A' && u <= 'D'))
    return u;
  return '\0';
}

struct queued_digit {
  char digit;
  uint16_t on_ms;
  uint16_t off_ms;
};

} // namespace

struct inband_dtmf_generator::impl {
  dtmf_tx_state_t* tx = nullptr;
  // A ring of digits not yet handed to spandsp.
  std::array<queued_digit, max_queued> ring{};
  std::size_t head = 0;
  std::size_t len = 0;
  bool playing = false; // spandsp holds a digit (tone or its gap) not yet finished

  impl() = default;
  impl(const impl&) = delete;
  impl& operator=(const impl&) = delete;
  ~impl() {
    if (tx != nullptr)
      dtmf_tx_free(tx);
  }
};

inband_dtmf_generator::inband_dtmf_generator(int level_dbm0, int twist_db)
    : impl_(std::make_unique<impl>()) {
  impl_->tx = dtmf_tx_init(nullptr);
  if (impl_->tx == nullptr)
    throw std::bad_alloc(); // construction only: spandsp fails just on OOM
  dtmf_tx_set_level(impl_->tx, level_dbm0, twist_db);
}

inband_dtmf_generator::~inband_dtmf_generator() = default;
inband_dtmf_generator::inband_dtmf_generator(inband_dtmf_generator&&) noexcept = default;
inband_dtmf_generator& inband_dtmf_generator::operator=(inband_dtmf_generator&&) noexcept = default;

result<void> inband_dtmf_generator::queue(std::string_view digits, uint32_t on_ms, uint32_t off_ms) {
  if (on_ms == 0 || on_ms > 10000 || off_ms > 10000)
    return error{errc::invalid_argument, "DTMF on/off time out of range"};
  if (digits.size() > max_queued - impl_->len)
    return error{errc::invalid_argument, "DTMF queue full"};
  for (char c : digits)
    if (normalise_digit(c) == '\0')
      return error{errc::invalid_argument, "not a DTMF digit"};
  for (char c : digits) {
    impl_->ring[(impl_->head + impl_->len) % max_queued] =
        queued_digit{normalise_digit(c), static_cast<uint16_t>(on_ms), static_cast<uint16_t>(off_ms)};
    ++impl_->len;
  }
  return {};
}

std::size_t inband_dtmf_generator::generate(std::span<int16_t> pcm8k) {
  std::size_t done = 0;
  while (done < pcm8k.size()) {
    const int got = dtmf_tx(impl_->tx, pcm8k.data() + done, static_cast<int>(pcm8k.size() - done));
    done += static_cast<std::size_t>(std::max(got, 0));
    if (done == pcm8k.size())
      break;
    // spandsp ran dry: the current digit and its gap are over. Hand it the next one
    // with that digit's own timing (spandsp reads the timing when a digit starts).
    impl_->playing = false;
    if (impl_->len == 0)
      break;
    const queued_digit next = impl_->ring[impl_->head];
    impl_->head = (impl_->head + 1) % max_queued;
    --impl_->len;
    dtmf_tx_set_timing(impl_->tx, next.on_ms, next.off_ms);
    dtmf_tx_put(impl_->tx, &next.digit, 1);
    impl_->playing = true;
  }
  std::fill(pcm8k.begin() + static_cast<std::ptrdiff_t>(done), pcm8k.end(), int16_t{0});
  return done;
}

bool inband_dtmf_generator::busy() const noexcept { return impl_->playing || impl_->len > 0; }

void inband_dtmf_generator::clear() noexcept {
  impl_->head = 0;
  impl_->len = 0;
}

} // namespace centralita::media
