// The event stream's frames as the events scenario reads them: each type of
// docs/api.md's examples, nested attributes skipped, and every refusal.
#include "bench/loadgen/events_frame.hpp"

#include <gtest/gtest.h>

using namespace centralita::loadgen;

namespace {

stream_frame ok(std::string_view text) {
  auto r = parse_stream_frame(text);
  EXPECT_TRUE(r.ok()) << text << " → " << (r.ok() ? "" : r.err().reason);
  return r.ok() ? r.value() : stream_frame{};
}

std::string refused(std::string_view text) {
  auto r = parse_stream_frame(text);
  EXPECT_FALSE(r.ok()) << text;
  return r.ok() ? std::string() : r.err().reason;
}

} // namespace

TEST(events_frame, hello) {
  auto f = ok(R"({"type":"hello","node":"sw1","version":"0.1.0","seq":1041,"boot":1795391000000,)"
              R"("replay_size":10000})");
  EXPECT_EQ(f.type, frame_type::hello);
  ASSERT_TRUE(f.seq);
  EXPECT_EQ(*f.seq, 1041u);
  EXPECT_EQ(f.boot, 1795391000000u);
  EXPECT_EQ(ok(R"({"seq":0,"type":"hello"})").seq, 0u);  // any key order; 0 before the first event
}

TEST(events_frame, event_with_nested_attributes) {
  auto f = ok(R"({"type":"event","name":"REGISTER","seq":1042,"timestamp":1795391407418,"node":"sw1",)"
              R"("attributes":{"aor":"bob@example.com","seq":"7","type":"x","name":"y",)"
              R"("nested":[1,{"count":5}],"expires":"600"}})");
  EXPECT_EQ(f.type, frame_type::event);
  EXPECT_EQ(f.name, "REGISTER");  // the attributes' own "name", "seq", "type" do not leak out
  EXPECT_EQ(*f.seq, 1042u);
  EXPECT_EQ(*f.timestamp_ms, 1795391407418u);
  EXPECT_EQ(f.count, 0u);
}

TEST(events_frame, notices) {
  auto d = ok(R"({"type":"dropped","count":312,"first_seq":2210,"last_seq":2561})");
  EXPECT_EQ(d.type, frame_type::dropped);
  EXPECT_EQ(d.count, 312u);
  EXPECT_EQ(d.first_seq, 2210u);
  EXPECT_EQ(d.last_seq, 2561u);
  auto m = ok(R"({"type":"missed","count":120,"first_seq":900,"last_seq":1019})");
  EXPECT_EQ(m.type, frame_type::missed);
  EXPECT_EQ(m.count, 120u);
  EXPECT_EQ(ok(R"({"type":"replayed","count":5,"up_to":1047})").type, frame_type::replayed);
  auto e = ok(R"({"type":"error","message":"not a JSON object"})");
  EXPECT_EQ(e.type, frame_type::error);
  EXPECT_EQ(e.message, "not a JSON object");
  EXPECT_EQ(ok(R"({"type":"subscribed","id":7,"event":"REGISTER"})").type, frame_type::subscribed);
  EXPECT_EQ(ok(R"({"type":"unsubscribed","id":7})").type, frame_type::unsubscribed);
  EXPECT_EQ(ok(R"({"type":"something-new","x":[1,2]})").type, frame_type::unknown);
  EXPECT_EQ(to_string(frame_type::dropped), "dropped");
}

TEST(events_frame, refusals_say_why) {
  EXPECT_NE(refused("").find("not JSON"), std::string::npos);
  EXPECT_NE(refused("{\"type\":").find("not JSON"), std::string::npos);
  EXPECT_NE(refused(R"({"type":"hello","seq":1} trailing)").find("not JSON"), std::string::npos);
  EXPECT_NE(refused("[1,2]").find("object"), std::string::npos);
  EXPECT_NE(refused("\"hello\"").find("object"), std::string::npos);
  EXPECT_NE(refused("42").find("object"), std::string::npos);
  EXPECT_NE(refused(R"({"seq":1})").find("type"), std::string::npos);
  EXPECT_NE(refused(R"({"type":["hello"],"seq":1})").find("type"), std::string::npos);
  EXPECT_NE(refused(R"({"type":"hello"})").find("seq"), std::string::npos);
  EXPECT_NE(refused(R"({"type":"hello","seq":-1})").find("seq"), std::string::npos);
  EXPECT_NE(refused(R"({"type":"hello","seq":1.5})").find("seq"), std::string::npos);
  EXPECT_NE(refused(R"({"type":"hello","seq":"12"})").find("seq"), std::string::npos);
  refused(R"({"type":"event","seq":1,"timestamp":2})");            // no name
  refused(R"({"type":"event","name":"REGISTER","timestamp":2})");  // no seq
  refused(R"({"type":"event","name":"REGISTER","seq":1})");        // no timestamp
  refused(R"({"type":"dropped","count":3,"first_seq":1})");        // no last_seq
  refused(R"({"type":"missed","first_seq":1,"last_seq":2})");      // no count
}
