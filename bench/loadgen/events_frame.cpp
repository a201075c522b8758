#include "bench/loadgen/events_frame.hpp"

#include <nlohmann/json.hpp>

namespace centralita::loadgen {

namespace {

using json = nlohmann::json;

/// Collects the top-level scalar fields; everything nested (an event's
/// attributes) is parsed for well-formedness and dropped.
class top_level_reader final : public nlohmann::json_sax<json> {
public:
  explicit top_level_reader(stream_frame& out) : f_(out) {}

  bool is_object = false;
  bool has_type = false;
  bool has_name = false;
  bool has_count = false;
  bool has_first = false;
  bool has_last = false;
  std::string type_name;
  std::string error;

  bool null() override { return scalar(); }
  bool boolean(bool) override { return scalar(); }
  bool number_integer(number_integer_t v) override {
    if (v >= 0) return number(static_cast<uint64_t>(v));
    return scalar();  // a negative seq is no seq: the field stays unset
  }
  bool number_unsigned(number_unsigned_t v) override { return number(v); }
  bool number_float(number_float_t, const string_t&) override { return scalar(); }
  bool binary(binary_t&) override { return scalar(); }

  bool string(string_t& v) override {
    if (depth_ == 0) return top_value();
    if (depth_ == 1) {
      if (key_ == "type") {
        type_name = std::move(v);
        has_type = true;
      } else if (key_ == "name") {
        f_.name = std::move(v);
        has_name = true;
      } else if (key_ == "message") {
        f_.message = std::move(v);
      }
    }
    return true;
  }

  bool start_object(std::size_t) override {
    if (depth_ == 0) is_object = true;
    ++depth_;
    return true;
  }
  bool end_object() override {
    --depth_;
    return true;
  }
  bool start_array(std::size_t) override {
    if (depth_ == 0) return top_value();
    ++depth_;
    return true;
  }
  bool end_array() override {
    --depth_;
    return true;
  }
  bool key(string_t& k) override {
    if (depth_ == 1) key_ = std::move(k);
    return true;
  }

  bool parse_error(std::size_t position, const std::string&, const nlohmann::detail::exception&) override {
    error = "not JSON (at byte " + std::to_string(position) + ")";
    return false;
  }

private:
  bool top_value() {
    error = "not a JSON object";
    return false;
  }
  bool scalar() { return depth_ == 0 ? top_value() : true; }

  bool number(uint64_t v) {
    if (depth_ == 0) return top_value();
    if (depth_ != 1) return true;
    if (key_ == "seq") {
      f_.seq = v;
    } else if (key_ == "timestamp") {
      f_.timestamp_ms = v;
    } else if (key_ == "boot") {
      f_.boot = v;
    } else if (key_ == "count") {
      f_.count = v;
      has_count = true;
    } else if (key_ == "first_seq") {
      f_.first_seq = v;
      has_first = true;
    } else if (key_ == "last_seq") {
      f_.last_seq = v;
      has_last = true;
    }
    return true;
  }

  stream_frame& f_;
  int depth_ = 0;
  std::string key_;
};

frame_type type_of(std::string_view name) noexcept {
  for (auto t : {frame_type::hello, frame_type::event, frame_type::dropped, frame_type::missed,
                 frame_type::replayed, frame_type::error, frame_type::subscribed,
                 frame_type::unsubscribed})
    if (to_string(t) == name)
      return t;
  return frame_type::unknown;
}

error bad(std::string why) {
  return error{errc::parse_error, "event stream frame: " + std::move(why)};
}

} // namespace

std::string_view to_string(frame_type t) noexcept {
  switch (t) {
    case frame_type::hello: return "hello";
    case frame_type::event: return "event";
    case frame_type::dropped: return "dropped";
    case frame_type::missed: return "missed";
    case frame_type::replayed: return "replayed";
    case frame_type::error: return "error";
    case frame_type::subscribed: return "subscribed";
    case frame_type::unsubscribed: return "unsubscribed";
    case frame_type::unknown: break;
  }
  return "unknown";
}

result<stream_frame> parse_stream_frame(std::string_view text) {
  stream_frame f;
  top_level_reader reader(f);
  // strict: nothing may follow the object. sax_parse reports errors through
  // the reader and does not throw.
  const bool ok = json::sax_parse(text.begin(), text.end(), &reader, nlohmann::detail::input_format_t::json,
                                  true);
  if (!ok)
    return bad(reader.error.empty() ? "not JSON" : reader.error);
  if (!reader.is_object)
    return bad("not a JSON object");
  if (!reader.has_type)
    return bad("no \"type\"");
  f.type = type_of(reader.type_name);
  switch (f.type) {
    case frame_type::hello:
      if (!f.seq)
        return bad("hello without a whole-number seq");
      break;
    case frame_type::event:
      if (!reader.has_name || !f.seq || !f.timestamp_ms)
        return bad("event without name, seq or timestamp");
      break;
    case frame_type::dropped:
    case frame_type::missed:
      if (!reader.has_count || !reader.has_first || !reader.has_last)
        return bad(std::string(to_string(f.type)) + " without count, first_seq and last_seq");
      break;
    default: break;
  }
  return f;
}

} // namespace centralita::loadgen
