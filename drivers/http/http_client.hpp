#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace centralita::drivers {

/// One outgoing HTTP request (owned, moved into the client).
struct http_request {
  std::string method;  ///< GET, POST, PUT, DELETE, PATCH or HEAD (any case)
  std::string url;     ///< http:// or https:// only
  std::string body;    ///< sent with POST, PUT, PATCH and (when not empty) DELETE
  std::vector<std::pair<std::string, std::string>> headers;
  /// From the call to request() to the answer, including time spent queued.
  std::chrono::milliseconds timeout{10000};
  /// CA certificates (PEM file) to verify an https server with; empty: the
  /// system's store. Push providers in tests use a self-signed gateway.
  std::string ca_file;
};

/// The answer to one http_request, or why there is none.
struct http_response {
  int status = 0;  ///< 0 when no answer (every error but "response body too large")
  /// Response headers in arrival order, name and value trimmed; the status line
  /// is not among them. For a redirect, the 3xx's own (redirects are not followed).
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;   ///< empty on error
  std::string error;  ///< empty on success; otherwise e.g. "timeout after 2000 ms",
                      ///< "connection refused", "response body too large",
                      ///< "too many requests in flight", "shutting down", "bad url: ..."
};

/// An asynchronous HTTP/1.1 and HTTP/2 client on libcurl's multi interface, for
/// scripts' `http.request()`. It owns one thread, which runs curl_multi_poll over
/// every transfer, and curl's connection pool (keep-alive connections are reused
/// across requests, at most `max_connections_per_host` per host). It lives as
/// long as its owner; its destructor stops the thread and answers every request
/// still pending with "shutting down". request() never blocks: it queues under a
/// mutex and wakes the thread (curl_multi_wakeup). Callbacks run on the client's
/// thread, so they must be short and hand the response over (e.g. post it to the
/// script's worker); they may call request() again, but must not destroy the
/// client. A callback that throws has its exception swallowed.
class http_client {
public:
  struct options {
    std::size_t max_in_flight = 1024;      ///< queued + running; more are refused
    std::size_t max_body = 1 << 20;        ///< response body cap in bytes
    long max_connections_per_host = 16;    ///< further transfers wait for a connection
  };

  /// Starts the thread. Throws std::runtime_error when libcurl cannot be
  /// initialised (out of memory at start-up). Two constructors rather than
  /// `options o = {}`: g++ 12 refuses a nested struct's default member
  /// initialisers in a default argument of the enclosing class.
  http_client();
  explicit http_client(options o);
  /// Stops the thread; pending requests complete with error "shutting down".
  /// Must not be called from one of the client's own callbacks.
  ~http_client();
  http_client(const http_client&) = delete;
  http_client& operator=(const http_client&) = delete;

  using callback = std::function<void(http_response)>;

  /// Never blocks (beyond a mutex push and a curl_multi_wakeup): queues the
  /// request; `done` runs exactly once on the client's thread. Over
  /// max_in_flight, `done` runs (on the client's thread) with error
  /// "too many requests in flight". Invalid input (method, URL, header with
  /// CR/LF, non-positive timeout) is answered with an error, never thrown.
  void request(http_request r, callback done);

  /// Requests accepted and not yet answered (queued or running).
  std::size_t in_flight() const;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace centralita::drivers
