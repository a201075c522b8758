// What the providers' answers mean: one table per provider, a row per rule,
// with the bodies APNs and FCM document for those errors.

#include "protocols/push/push.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

using namespace centralita::push;

namespace {

using headers = std::vector<std::pair<std::string, std::string>>;

struct row {
  int status;
  const char* body;
  outcome what;
  const char* reason;
  headers hdrs = {};
  std::optional<int64_t> retry_after = std::nullopt;
  const char* transport_error = "";
};

using classifier = verdict (*)(int, const headers&, std::string_view, std::string_view);

void check(classifier f, const std::vector<row>& table) {
  for (const row& r : table) {
    const verdict v = f(r.status, r.hdrs, r.body, r.transport_error);
    EXPECT_EQ(to_string(v.what), to_string(r.what)) << r.status << " " << r.body;
    EXPECT_EQ(v.reason, r.reason) << r.status << " " << r.body;
    EXPECT_EQ(v.retry_after_s, r.retry_after) << r.status << " " << r.body;
  }
}

std::string fcm_error(int code, const char* status, const char* message, const char* error_code) {
  std::string details;
  if (error_code)
    details = std::string(R"(,"details":[{"@type":"type.googleapis.com/google.firebase.fcm.v1.FcmError","errorCode":")") +
              error_code + "\"}]";
  return "{\"error\":{\"code\":" + std::to_string(code) + ",\"message\":\"" + message + "\",\"status\":\"" + status +
         "\"" + details + "}}";
}

} // namespace

TEST(outcome, names) {
  EXPECT_EQ(to_string(outcome::delivered), "delivered");
  EXPECT_EQ(to_string(outcome::gone), "gone");
  EXPECT_EQ(to_string(outcome::transient), "transient");
  EXPECT_EQ(to_string(outcome::auth), "auth");
  EXPECT_EQ(to_string(outcome::rejected), "rejected");
}

TEST(classify_apns, table) {
  check(classify_apns, {
      {200, "", outcome::delivered, "HTTP 200"},
      // Gone: 410, and 400 for a token that is not this app's.
      {410, R"({"reason":"Unregistered","timestamp":1700000000000})", outcome::gone, "Unregistered"},
      {410, R"({"reason":"ExpiredToken"})", outcome::gone, "ExpiredToken"},
      {410, "", outcome::gone, "HTTP 410"},
      {400, R"({"reason":"BadDeviceToken"})", outcome::gone, "BadDeviceToken"},
      {400, R"({"reason":"DeviceTokenNotForTopic"})", outcome::gone, "DeviceTokenNotForTopic"},
      // Auth: our provider token.
      {403, R"({"reason":"ExpiredProviderToken"})", outcome::auth, "ExpiredProviderToken"},
      {403, R"({"reason":"InvalidProviderToken"})", outcome::auth, "InvalidProviderToken"},
      {403, R"({"reason":"MissingProviderToken"})", outcome::auth, "MissingProviderToken"},
      // Transient.
      {429, R"({"reason":"TooManyRequests"})", outcome::transient, "TooManyRequests"},
      {500, R"({"reason":"InternalServerError"})", outcome::transient, "InternalServerError"},
      {503, R"({"reason":"ServiceUnavailable"})", outcome::transient, "ServiceUnavailable"},
      {503, R"({"reason":"Shutdown"})", outcome::transient, "Shutdown"},
      {502, "<html>bad gateway</html>", outcome::transient, "HTTP 502"},
      {0, "", outcome::transient, "connection refused", {}, std::nullopt, "connection refused"},
      {0, "", outcome::transient, "no answer"},
      // Rejected: everything else.
      {400, R"({"reason":"BadTopic"})", outcome::rejected, "BadTopic"},
      {400, R"({"reason":"PayloadEmpty"})", outcome::rejected, "PayloadEmpty"},
      {403, R"({"reason":"BadCertificate"})", outcome::rejected, "BadCertificate"},
      {403, "", outcome::rejected, "HTTP 403"},
      {405, R"({"reason":"MethodNotAllowed"})", outcome::rejected, "MethodNotAllowed"},
      {413, R"({"reason":"PayloadTooLarge"})", outcome::rejected, "PayloadTooLarge"},
      {400, "not json", outcome::rejected, "HTTP 400"},
      {400, R"({"reason":42})", outcome::rejected, "HTTP 400"},
      {400, R"(["BadDeviceToken"])", outcome::rejected, "HTTP 400"},
      {301, "", outcome::rejected, "HTTP 301"},
  });
}

TEST(classify_fcm, table) {
  check(classify_fcm, {
      {200, R"({"name":"projects/p/messages/0:1500415314455276%31bd1c9631bd1c96"})", outcome::delivered, "HTTP 200"},
      // Gone.
      {404, fcm_error(404, "NOT_FOUND", "Requested entity was not found.", "UNREGISTERED").c_str(), outcome::gone,
       "UNREGISTERED"},
      {404, fcm_error(404, "NOT_FOUND", "Requested entity was not found.", nullptr).c_str(), outcome::gone,
       "NOT_FOUND"},
      {404, "", outcome::gone, "HTTP 404"},
      {400, fcm_error(400, "INVALID_ARGUMENT", "x", "UNREGISTERED").c_str(), outcome::gone, "UNREGISTERED"},
      {400,
       fcm_error(400, "INVALID_ARGUMENT", "The registration token is not a valid FCM registration token",
                 "INVALID_ARGUMENT")
           .c_str(),
       outcome::gone, "INVALID_ARGUMENT"},
      {400,
       R"({"error":{"code":400,"message":"Invalid value","status":"INVALID_ARGUMENT","details":[)"
       R"({"@type":"type.googleapis.com/google.rpc.BadRequest","fieldViolations":[{"field":"message.token",)"
       R"("description":"Invalid registration token"}]}]}})",
       outcome::gone, "INVALID_ARGUMENT"},
      // Auth.
      {401, fcm_error(401, "UNAUTHENTICATED", "Request had invalid authentication credentials.", nullptr).c_str(),
       outcome::auth, "UNAUTHENTICATED"},
      {401, "", outcome::auth, "HTTP 401"},
      // Transient.
      {429, fcm_error(429, "RESOURCE_EXHAUSTED", "quota", "QUOTA_EXCEEDED").c_str(), outcome::transient,
       "QUOTA_EXCEEDED"},
      {500, fcm_error(500, "INTERNAL", "Internal error encountered.", "INTERNAL").c_str(), outcome::transient,
       "INTERNAL"},
      {503, fcm_error(503, "UNAVAILABLE", "The service is currently unavailable.", "UNAVAILABLE").c_str(),
       outcome::transient, "UNAVAILABLE"},
      {503, "", outcome::transient, "HTTP 503"},
      {504, "gateway timeout", outcome::transient, "HTTP 504"},
      {0, "", outcome::transient, "timeout", {}, std::nullopt, "timeout"},
      // Rejected.
      {400, fcm_error(400, "INVALID_ARGUMENT", "Invalid JSON payload received. Unknown name \\\"foo\\\"", "INVALID_ARGUMENT").c_str(),
       outcome::rejected, "INVALID_ARGUMENT"},
      {403, fcm_error(403, "PERMISSION_DENIED", "SenderId mismatch", "SENDER_ID_MISMATCH").c_str(), outcome::rejected,
       "SENDER_ID_MISMATCH"},
      {400, "{", outcome::rejected, "HTTP 400"},
      {400, R"({"error":"string"})", outcome::rejected, "HTTP 400"},
      {400, R"({"error":{"details":"no"}})", outcome::rejected, "HTTP 400"},
  });
}

TEST(classify_webhook, table) {
  check(classify_webhook, {
      {200, "", outcome::delivered, "HTTP 200"},
      {202, "queued", outcome::delivered, "HTTP 202"},
      {204, "", outcome::delivered, "HTTP 204"},
      {404, "", outcome::gone, "HTTP 404"},
      {410, "", outcome::gone, "HTTP 410"},
      {429, "", outcome::transient, "HTTP 429"},
      {500, "", outcome::transient, "HTTP 500"},
      {599, "", outcome::transient, "HTTP 599"},
      {0, "", outcome::transient, "TLS handshake failed", {}, std::nullopt, "TLS handshake failed"},
      {400, "", outcome::rejected, "HTTP 400"},
      {401, "", outcome::rejected, "HTTP 401"},
      {403, "", outcome::rejected, "HTTP 403"},
      {302, "", outcome::rejected, "HTTP 302"},
  });
}

TEST(classify, retry_after_in_seconds_for_any_verdict) {
  const headers h = {{"x-other", "1"}, {"Retry-After", " 120 "}};
  for (classifier f : {classifier(classify_apns), classifier(classify_fcm), classifier(classify_webhook)}) {
    EXPECT_EQ(f(429, h, "", "").retry_after_s, 120);
    EXPECT_EQ(f(503, {{"RETRY-AFTER", "7"}}, "", "").retry_after_s, 7);
    EXPECT_EQ(f(200, {{"retry-after", "0"}}, "", "").retry_after_s, 0);
    EXPECT_EQ(f(0, {{"retry-after", "3"}}, "", "reset").retry_after_s, 3);
    // The HTTP-date form and malformed values are ignored.
    EXPECT_EQ(f(503, {{"Retry-After", "Fri, 31 Dec 1999 23:59:59 GMT"}}, "", "").retry_after_s, std::nullopt);
    EXPECT_EQ(f(503, {{"Retry-After", "-1"}}, "", "").retry_after_s, std::nullopt);
    EXPECT_EQ(f(503, {{"Retry-After", ""}}, "", "").retry_after_s, std::nullopt);
    EXPECT_EQ(f(503, {{"Retry-After", "1.5"}}, "", "").retry_after_s, std::nullopt);
    EXPECT_EQ(f(503, {{"Retry-After", "99999999999999999999999"}}, "", "").retry_after_s, INT64_MAX);
    // The first usable one counts.
    EXPECT_EQ(f(503, {{"Retry-After", "soon"}, {"retry-after", "9"}}, "", "").retry_after_s, 9);
  }
}

TEST(classify, reasons_from_the_network_are_printable) {
  const verdict v = classify_apns(400, {}, "{\"reason\":\"Bad\\r\\nToken\\u0000\xff\"}", "");
  EXPECT_EQ(v.reason, "HTTP 400");  // not UTF-8, so not JSON
  const verdict w = classify_apns(400, {}, R"({"reason":"Bad\r\nToken\u0000é"})", "");
  EXPECT_EQ(w.reason, "Bad??Token???");
  const verdict t = classify_webhook(0, {}, "", std::string_view("refused\r\n\0", 10));
  EXPECT_EQ(t.reason, "refused???");
}
