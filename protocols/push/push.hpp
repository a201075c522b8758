#pragma once
// Push notifications (RFC 8599): what goes on the wire to APNs, FCM HTTP v1 and
// a generic webhook, the credentials they need (JWTs signed ES256 / RS256), and
// what their answers mean. Pure: no I/O, no clock (the caller passes `now`), no
// threads; the actors send the requests (drivers/http) and keep the tokens.

#include "protocols/util/result.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace centralita::push {

// -- encodings ------------------------------------------------------------------

/// base64url (RFC 4648 §5) without padding, as JWS uses it.
std::string base64url(std::string_view bytes);
/// A version-4 UUID (RFC 9562 §5.4) from 128 random bits (the version and
/// variant bits are set here): "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx", lower case.
/// Push ids are these (APNs takes one as apns-id).
std::string uuid_v4(uint64_t hi, uint64_t lo);

/// Decodes base64url with or without padding; errc::parse_error on a bad character or length.
/// Strict (RFC 4648 §3.5): padding, when present, must complete the last quantum,
/// and the unused bits of the last character must be zero, so each value has one
/// spelling (a JWS signature cannot be altered without failing).
result<std::string> base64url_decode(std::string_view text);

// -- keys and JWTs ----------------------------------------------------------------

/// A private key for signing JWTs: EC P-256 (ES256, APNs provider tokens) or
/// RSA (RS256, Google service accounts). Move-only; wraps OpenSSL's EVP_PKEY.
class signing_key {
public:
  enum class algorithm { es256, rs256 };

  /// From PEM text ("-----BEGIN PRIVATE KEY-----" PKCS#8, or "BEGIN EC PRIVATE
  /// KEY" / "BEGIN RSA PRIVATE KEY"). Errors (errc::invalid_argument) say what
  /// is wrong: not PEM, not a private key, an EC key on a curve other than P-256,
  /// an RSA key under 2048 bits. Also refused: encrypted keys (no passphrase
  /// support), RSA over 16384 bits, other key types. An "EC PARAMETERS" block
  /// before the key (as `openssl ecparam -genkey` writes) is skipped.
  static result<signing_key> from_pem(std::string_view pem);

  algorithm alg() const noexcept;
  /// "ES256" or "RS256".
  std::string_view alg_name() const noexcept;
  /// The JWS signature of `data`: for ES256 the 64-byte R||S (not DER), for
  /// RS256 PKCS#1 v1.5 over SHA-256.
  result<std::string> sign(std::string_view data) const;

  signing_key(signing_key&&) noexcept;
  signing_key& operator=(signing_key&&) noexcept;
  ~signing_key();

private:
  struct impl;
  explicit signing_key(std::unique_ptr<impl> p);
  std::unique_ptr<impl> p_;
};

/// A compact JWS: base64url(header) "." base64url(claims) "." base64url(signature).
/// `header_json` and `claims_json` are JSON object texts, used as given (the
/// caller builds them; "alg" in the header must match the key). errc::invalid_argument
/// when either text is not a JSON object or the header's "alg" is not key.alg_name().
result<std::string> make_jwt(const signing_key& key, std::string_view header_json,
                             std::string_view claims_json);

/// Checks a compact JWS against a public key in PEM ("BEGIN PUBLIC KEY"), for
/// ES256 or RS256 as its header says; returns the decoded claims JSON text.
/// Errors: errc::parse_error (malformed), errc::invalid_argument (bad key,
/// signature does not verify, alg not ES256/RS256 or not the key's type). Claims
/// that are not a JSON object are malformed. Only the signature is checked: the
/// caller judges "exp", "iss" and the like.
result<std::string> verify_jwt(std::string_view jwt, std::string_view public_pem);

// -- what is pushed -------------------------------------------------------------------

/// Why a push is sent.
enum class push_kind {
  call,     ///< an INVITE waits for the device
  message,  ///< a MESSAGE waits for it
  refresh,  ///< the binding is about to expire (+sip.pnsreg): register again
  purr,     ///< a mid-dialog request waits for it (pn-purr)
};
std::string_view to_string(push_kind k) noexcept;

/// One push to one device: the binding's RFC 8599 parameters and what the app
/// needs to match the push to the request waiting for it.
struct push_message {
  std::string provider;   ///< pn-provider ("apns", "fcm", "webhook", ...)
  std::string prid;       ///< pn-prid: the device token
  std::string param;      ///< pn-param (APNs: "<team id>.<topic>"; FCM: the project id)
  std::string aor;        ///< the callee's address of record
  std::string caller;     ///< From URI of the waiting request (empty for refresh)
  std::string call_id;    ///< Call-ID of the waiting request (empty for refresh)
  std::string push_id;    ///< unique per push: the app echoes it, the switch logs it
  push_kind kind = push_kind::call;
  int64_t ttl_s = 30;     ///< how long the provider may hold it
  /// Extra key/values from the script (push.send(binding, payload)): strings,
  /// added to the app's data next to the fields above (which win on a clash).
  std::vector<std::pair<std::string, std::string>> extra;
};

/// The app-facing data, as a JSON object text: {"aor","caller","call_id",
/// "push_id","kind", extra...}. Every push type carries it. The fixed fields
/// come first; of two extra pairs with one key, the first wins. Bytes that are
/// not UTF-8 are written as U+FFFD (JSON text is Unicode), so the result always
/// parses; valid UTF-8 comes back unchanged.
std::string payload_json(const push_message& m);

/// An HTTP request to make (the actors hand it to drivers/http).
struct http_call {
  std::string method;  ///< "POST"
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

// -- APNs (HTTP/2, token-based authentication) ---------------------------------------

struct apns_settings {
  std::string base_url = "https://api.push.apple.com";  ///< no trailing slash needed
  std::string team_id;  ///< the JWT's "iss"
  std::string key_id;   ///< the JWT's "kid"
  std::string topic;    ///< apns-topic; empty: from pn-param (the part after the team id)
};

/// The provider token: ES256 JWT {"alg":"ES256","kid":key_id} / {"iss":team_id,"iat":now_s}.
/// Apple accepts one for an hour; renew it every ~50 minutes. errc::invalid_argument
/// for a key that is not ES256 or an empty team_id / key_id.
result<std::string> apns_provider_token(const signing_key& key, const apns_settings& s,
                                        int64_t now_s);
/// POST {base_url}/3/device/{prid} with authorization: bearer <token>,
/// apns-topic, apns-push-type: voip, apns-priority: 10, apns-expiration:
/// now_s + ttl_s, apns-id when push_id is a UUID; body {"aps":{}, ...payload}.
/// errc::invalid_argument when there is no topic (neither setting nor pn-param) or
/// the prid is not hex. Also: content-type: application/json; a ttl_s <= 0 gives
/// apns-expiration: 0 (deliver once, do not store); a topic or token with control
/// or non-ASCII characters is refused (invalid_argument) rather than put in a header.
result<http_call> apns_request(const apns_settings& s, std::string_view provider_token,
                               const push_message& m, int64_t now_s);

// -- FCM HTTP v1 (OAuth2 service account) ---------------------------------------------

/// The fields of a Google service-account JSON key that matter here.
struct service_account {
  std::string project_id;
  std::string client_email;
  std::string private_key_id;
  std::string private_key_pem;
  std::string token_uri = "https://oauth2.googleapis.com/token";
};
/// errc::parse_error for bad JSON; errc::invalid_argument naming the missing field
/// (client_email, private_key, project_id) or a "type" other than "service_account".
result<service_account> parse_service_account(std::string_view json);

struct fcm_settings {
  std::string base_url = "https://fcm.googleapis.com";
  std::string token_url;   ///< empty: the service account's token_uri
  std::string project_id;  ///< empty: the service account's (pn-param wins when set)
};

/// The OAuth2 JWT-bearer grant (RFC 7523): RS256 JWT {"iss":client_email,
/// "scope":"https://www.googleapis.com/auth/firebase.messaging","aud":token url,
/// "iat":now,"exp":now+3600}, POSTed as application/x-www-form-urlencoded
/// grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=<jwt>, both
/// values form-encoded (so the colons go as %3A, as in RFC 7523 §2.1's example).
/// errc::invalid_argument for a key that is not RS256, no client_email or no token URL.
result<http_call> fcm_token_request(const signing_key& key, const service_account& sa,
                                    const fcm_settings& s, int64_t now_s);

struct access_token {
  std::string token;
  int64_t expires_in_s = 0;
};
/// The token endpoint's answer: {"access_token","expires_in","token_type"}.
/// errc::unsupported with the endpoint's "error"/"error_description" on a non-2xx,
/// errc::parse_error for a body that is not such JSON. On a 2xx: no non-empty
/// "access_token" (or one a header cannot carry) is a parse_error; a "token_type"
/// other than Bearer is unsupported; "expires_in" absent leaves 0.
result<access_token> parse_token_response(int status, std::string_view body);

/// POST {base_url}/v1/projects/{project}/messages:send, Authorization: Bearer,
/// body {"message":{"token":prid,"android":{"priority":"HIGH","ttl":"<ttl>s"},
/// "data":{...payload, all values strings}}}. errc::invalid_argument for no
/// project id, one with characters outside [A-Za-z0-9.:_-] (it goes into the
/// path), an empty prid, or a token a header cannot carry. ttl_s <= 0 gives "0s".
result<http_call> fcm_request(const fcm_settings& s, const service_account& sa,
                              std::string_view access_token, const push_message& m);

// -- webhook (self-hosted push gateways) --------------------------------------------

struct webhook_settings {
  std::string url;
  /// JSON text with placeholders {{provider}} {{prid}} {{param}} {{aor}}
  /// {{caller}} {{call_id}} {{push_id}} {{kind}} {{ttl}} {{payload}}: each is
  /// replaced by its value JSON-escaped without quotes ({{payload}}: the JSON
  /// object of payload_json, unquoted), so the template decides the quoting.
  /// Empty: {"provider":..,"prid":..,"param":..,"payload":{...}} .
  std::string body_template;
  std::vector<std::pair<std::string, std::string>> headers;  ///< e.g. Authorization
};
/// errc::invalid_argument for an unknown placeholder or a result that is not JSON.
/// Also: spaces inside the braces are allowed ("{{ prid }}"); substituted text is
/// not scanned again; a configured Content-Type replaces application/json; an
/// empty url, a header name that is not a token or a value with control
/// characters is invalid_argument.
result<http_call> webhook_request(const webhook_settings& s, const push_message& m);

/// Just the body webhook_request() would send: `body_template` filled in for `m`
/// (the default body when empty). Lets config validation try a template.
result<std::string> webhook_body(std::string_view body_template, const push_message& m);

// -- what the provider answered ------------------------------------------------------

enum class outcome {
  delivered,  ///< accepted by the provider
  gone,       ///< the device token is dead: drop the binding (APNs 410 / BadDeviceToken, FCM UNREGISTERED)
  transient,  ///< retry later with backoff (no answer, 429, 5xx)
  auth,       ///< our credential was refused: renew the token, then retry once
  rejected,   ///< a permanent error that is not the device's (bad topic, payload too large...)
};
std::string_view to_string(outcome o) noexcept;

struct verdict {
  outcome what = outcome::transient;
  std::string reason;            ///< e.g. "BadDeviceToken", "UNREGISTERED", "HTTP 503", the transport error
  /// From a Retry-After header (any name case), when present in its
  /// delay-seconds form (RFC 9110 §10.2.3); an HTTP-date is ignored.
  std::optional<int64_t> retry_after_s;
};

/// `status` 0 means no answer (`transport_error` says why: timeout, refused...);
/// a negative status is read the same way. Any 2xx is delivered (reason "HTTP
/// <code>"). Reasons taken from a body are cut to printable ASCII. FCM: every
/// 5xx is transient, not only 500 and 503. Never throws, whatever the bytes.
verdict classify_apns(int status, const std::vector<std::pair<std::string, std::string>>& headers,
                      std::string_view body, std::string_view transport_error);
verdict classify_fcm(int status, const std::vector<std::pair<std::string, std::string>>& headers,
                     std::string_view body, std::string_view transport_error);
verdict classify_webhook(int status, const std::vector<std::pair<std::string, std::string>>& headers,
                         std::string_view body, std::string_view transport_error);

} // namespace centralita::push
