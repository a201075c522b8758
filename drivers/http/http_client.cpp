#include "drivers/http/http_client.hpp"

#include <curl/curl.h>
#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string_view>
#include <thread>
#include <unordered_map>

namespace centralita::drivers {

namespace {

using clock = std::chrono::steady_clock;

/// curl_global_init is not thread-safe before curl 7.84 and must precede every
/// other curl call: once per process, never cleaned up (other users may remain).
CURLcode global_init() {
  static std::once_flag once;
  static CURLcode result = CURLE_OK;
  std::call_once(once, [] { result = curl_global_init(CURL_GLOBAL_DEFAULT); });
  return result;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' ||
                        s.back() == '\n'))
    s.remove_suffix(1);
  return s;
}

bool has_any(std::string_view s, std::string_view chars) {
  return s.find_first_of(chars) != std::string_view::npos;
}

// RFC 9110 §5.1: a field name is a token; §5.5: a value holds no CR, LF or NUL.
// Anything else could smuggle a header or a second request.
bool valid_header(std::string_view name, std::string_view value) {
  using namespace std::string_view_literals;
  return !name.empty() && !has_any(name, " \t\r\n:\0"sv) && !has_any(value, "\r\n\0"sv);
}

bool equal_nocase(std::string_view a, std::string_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    return (x | 0x20) == (y | 0x20);
  });
}

http_response failure(std::string error) {
  http_response r;
  r.error = std::move(error);
  return r;
}

std::string timeout_message(std::chrono::milliseconds timeout) {
  return "timeout after " + std::to_string(timeout.count()) + " ms";
}

/// A request between request() and its start on the client's thread.
struct queued {
  http_request request;
  http_client::callback done;
  clock::time_point at;
  bool refused = false;  // over max_in_flight: not counted in in_flight
};

/// One running transfer; its easy handle points back at it (CURLOPT_PRIVATE).
struct transfer {
  http_request request;
  http_client::callback done;
  http_response response;
  clock::time_point deadline;
  std::size_t max_body = 0;
  bool too_large = false;
  CURL* easy = nullptr;
  curl_slist* headers = nullptr;
  char error[CURL_ERROR_SIZE] = {};

  transfer() = default;
  transfer(const transfer&) = delete;
  transfer& operator=(const transfer&) = delete;
  ~transfer() {
    if (easy != nullptr)
      curl_easy_cleanup(easy);  // before the header list it may still point at
    curl_slist_free_all(headers);
  }
};

// Curl's callbacks must not throw through C frames: failures become a short count.
size_t on_body(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<transfer*>(user);
  auto n = size * count;
  if (t->response.body.size() + n > t->max_body) {
    t->too_large = true;
    return 0;  // anything but n aborts the transfer (CURLE_WRITE_ERROR)
  }
  try {
    t->response.body.append(data, n);
  } catch (...) {
    return 0;
  }
  return n;
}

size_t on_header(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<transfer*>(user);
  auto n = size * count;
  std::string_view line(data, n);
  try {
    auto& headers = t->response.headers;
    if (line.starts_with("HTTP/")) {
      headers.clear();  // a new response: the previous one was interim (1xx)
    } else if (!line.empty() && (line.front() == ' ' || line.front() == '\t')) {
      // RFC 9112 §5.2: obsolete line folding continues the previous value.
      if (auto rest = trim(line); !headers.empty() && !rest.empty())
        headers.back().second.append(" ").append(rest);
    } else if (auto colon = line.find(':'); colon != std::string_view::npos) {
      headers.emplace_back(trim(line.substr(0, colon)), trim(line.substr(colon + 1)));
    }
    // The blank line that ends the header block has no colon: skipped.
  } catch (...) {
    return 0;
  }
  return n;
}

} // namespace

struct http_client::impl {
  explicit impl(options o) : opts(o) {}

  void run();

  // Client thread only.
  void start(queued q);
  std::string configure(transfer& t, const std::string& method);
  void reap();
  void expire(clock::time_point now);
  int wait_ms(clock::time_point now) const;
  http_response outcome(transfer& t, CURLcode rc) const;
  void finish(transfer& t, http_response r);
  void answer(callback& done, http_response r, bool counted);

  const options opts;
  CURLM* multi = nullptr;
  std::thread thread;
  std::atomic<std::size_t> in_flight{0};

  std::mutex mtx;
  std::vector<queued> queue;  // guarded by mtx
  bool stopping = false;      // guarded by mtx

  std::unordered_map<CURL*, std::unique_ptr<transfer>> active;
  std::set<std::pair<clock::time_point, CURL*>> deadlines;
};

http_client::http_client() : http_client(options{}) {}

http_client::http_client(options o) : impl_(std::make_unique<impl>(o)) {
  if (global_init() != CURLE_OK)
    throw std::runtime_error("http_client: curl_global_init failed");
  impl_->multi = curl_multi_init();
  if (impl_->multi == nullptr)
    throw std::runtime_error("http_client: curl_multi_init failed");
  curl_multi_setopt(impl_->multi, CURLMOPT_MAX_HOST_CONNECTIONS,
                    std::max(1L, o.max_connections_per_host));
  impl_->thread = std::thread([p = impl_.get()] { p->run(); });
}

http_client::~http_client() {
  {
    std::lock_guard<std::mutex> lock(impl_->mtx);
    impl_->stopping = true;
  }
  curl_multi_wakeup(impl_->multi);
  if (impl_->thread.joinable())
    impl_->thread.join();
  curl_multi_cleanup(impl_->multi);
}

void http_client::request(http_request r, callback done) {
  bool wake;
  {
    std::lock_guard<std::mutex> lock(impl_->mtx);
    // Checked and counted under the lock: concurrent callers never overshoot
    // (the client thread only decrements).
    bool refused = impl_->in_flight.load(std::memory_order_relaxed) >= impl_->opts.max_in_flight;
    if (!refused)
      impl_->in_flight.fetch_add(1, std::memory_order_relaxed);
    // The thread drains the whole queue after every wake-up: only the push
    // onto an empty queue needs to wake it.
    wake = impl_->queue.empty();
    impl_->queue.push_back({std::move(r), std::move(done), clock::now(), refused});
  }
  if (wake)
    curl_multi_wakeup(impl_->multi);
}

std::size_t http_client::in_flight() const {
  return impl_->in_flight.load(std::memory_order_relaxed);
}

void http_client::impl::run() {
  pthread_setname_np(pthread_self(), "http");
  std::vector<queued> batch;
  for (;;) {
    bool stop;
    {
      std::lock_guard<std::mutex> lock(mtx);
      batch.swap(queue);
      stop = stopping;
    }
    for (auto& q : batch) {
      if (q.refused)
        answer(q.done, failure("too many requests in flight"), false);
      else if (stop)
        answer(q.done, failure("shutting down"), true);
      else
        start(std::move(q));
    }
    batch.clear();
    if (stop)
      break;
    int running = 0;
    curl_multi_perform(multi, &running);
    reap();
    auto now = clock::now();
    expire(now);
    curl_multi_poll(multi, nullptr, 0, wait_ms(now), nullptr);
  }

  auto left = std::move(active);
  active.clear();
  deadlines.clear();
  for (auto& [easy, t] : left) {
    curl_multi_remove_handle(multi, easy);
    finish(*t, failure("shutting down"));
  }
  // Callbacks above may have queued more: answer until nothing is left.
  for (;;) {
    {
      std::lock_guard<std::mutex> lock(mtx);
      batch.swap(queue);
    }
    if (batch.empty())
      break;
    for (auto& q : batch) {
      if (q.refused)
        answer(q.done, failure("too many requests in flight"), false);
      else
        answer(q.done, failure("shutting down"), true);
    }
    batch.clear();
  }
}

void http_client::impl::start(queued q) {
  auto t = std::make_unique<transfer>();
  t->request = std::move(q.request);
  t->done = std::move(q.done);
  t->max_body = opts.max_body;
  auto timeout = t->request.timeout;
  if (timeout <= std::chrono::milliseconds::zero()) {
    finish(*t, failure("invalid timeout"));
    return;
  }
  // The timeout runs from request(): time spent queued counts.
  t->deadline = q.at + timeout;
  auto now = clock::now();
  if (t->deadline <= now) {
    finish(*t, failure(timeout_message(timeout)));
    return;
  }

  auto method = t->request.method;
  std::transform(method.begin(), method.end(), method.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  if (auto error = configure(*t, method); !error.empty()) {
    finish(*t, failure(std::move(error)));
    return;
  }
  // Curl's own timeout counts from now; ours (expire()) from request().
  auto remaining = std::chrono::ceil<std::chrono::milliseconds>(t->deadline - now);
  curl_easy_setopt(t->easy, CURLOPT_TIMEOUT_MS, static_cast<long>(remaining.count()));
  if (curl_multi_add_handle(multi, t->easy) != CURLM_OK) {
    finish(*t, failure("cannot start transfer"));
    return;
  }
  deadlines.emplace(t->deadline, t->easy);
  auto* easy = t->easy;
  active.emplace(easy, std::move(t));
}

std::string http_client::impl::configure(transfer& t, const std::string& method) {
  const auto& r = t.request;
  bool is_get = method == "GET", is_head = method == "HEAD", is_post = method == "POST";
  bool custom = method == "PUT" || method == "DELETE" || method == "PATCH";
  if (!is_get && !is_head && !is_post && !custom)
    return "unsupported method: " + r.method;

  // Parse first: a bad URL is answered with curl's reason, and only http and
  // https get as far as a transfer (CURLOPT_PROTOCOLS_STR enforces it again).
  if (r.url.find('\0') != std::string::npos)
    return "bad url: NUL in URL";
  CURLU* url = curl_url();
  if (url == nullptr)
    return "out of memory";
  std::string error;
  if (auto uc = curl_url_set(url, CURLUPART_URL, r.url.c_str(), 0); uc != CURLUE_OK) {
    error = std::string("bad url: ") + curl_url_strerror(uc);
  } else {
    char* scheme = nullptr;
    if (curl_url_get(url, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK || scheme == nullptr)
      error = "bad url: no scheme";
    else if (!equal_nocase(scheme, "http") && !equal_nocase(scheme, "https"))
      error = std::string("unsupported protocol: ") + scheme;
    curl_free(scheme);
  }
  curl_url_cleanup(url);
  if (!error.empty())
    return error;

  bool has_expect = false;
  for (const auto& [name, value] : r.headers) {
    if (!valid_header(name, value))
      return "invalid header: " + name;
    has_expect = has_expect || equal_nocase(name, "expect");
    // "Name;" is curl's spelling of a header with an empty value.
    auto line = value.empty() ? name + ";" : name + ": " + value;
    auto* next = curl_slist_append(t.headers, line.c_str());
    if (next == nullptr)
      return "out of memory";
    t.headers = next;
  }
  if (!has_expect) {
    // No "Expect: 100-continue" round trip (curl adds it to large bodies).
    auto* next = curl_slist_append(t.headers, "Expect:");
    if (next == nullptr)
      return "out of memory";
    t.headers = next;
  }

  t.easy = curl_easy_init();
  if (t.easy == nullptr)
    return "out of memory";
  auto* e = t.easy;
  CURLcode rc = CURLE_OK;
  auto set = [&](CURLoption option, auto value) {
    if (rc == CURLE_OK)
      rc = curl_easy_setopt(e, option, value);
  };
  set(CURLOPT_PRIVATE, static_cast<void*>(&t));
  set(CURLOPT_ERRORBUFFER, static_cast<char*>(t.error));
  set(CURLOPT_URL, r.url.c_str());
  set(CURLOPT_NOSIGNAL, 1L);  // no SIGALRM for DNS timeouts: we share the process
  set(CURLOPT_PROTOCOLS_STR, "http,https");
  set(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  set(CURLOPT_FOLLOWLOCATION, 0L);  // the script sees the 3xx and decides
  // HTTP/2 over TLS when the server offers it (ALPN; APNs requires it), HTTP/1.1
  // otherwise; many requests to one host share one connection (multiplexed).
  set(CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_2TLS));
  if (!r.ca_file.empty())
    set(CURLOPT_CAINFO, r.ca_file.c_str());
  set(CURLOPT_HEADERFUNCTION, &on_header);
  set(CURLOPT_HEADERDATA, static_cast<void*>(&t));
  set(CURLOPT_WRITEFUNCTION, &on_body);
  set(CURLOPT_WRITEDATA, static_cast<void*>(&t));
  // Refused up front when Content-Length says so; on_body catches the rest.
  set(CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(t.max_body));
  set(CURLOPT_HTTPHEADER, t.headers);
  if (is_head) {
    set(CURLOPT_NOBODY, 1L);
  } else if (is_get) {
    set(CURLOPT_HTTPGET, 1L);
  } else {
    if (custom)
      set(CURLOPT_CUSTOMREQUEST, method.c_str());  // curl copies string options
    // POST, PUT and PATCH always carry a body (Content-Length: 0 when empty);
    // DELETE only when it has one. The body stays in t.request until the end.
    if (method != "DELETE" || !r.body.empty()) {
      set(CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(r.body.size()));
      set(CURLOPT_POSTFIELDS, r.body.data());
    }
  }
  if (rc != CURLE_OK)
    return std::string("cannot configure transfer: ") + curl_easy_strerror(rc);
  return {};
}

void http_client::impl::reap() {
  int pending = 0;
  while (CURLMsg* m = curl_multi_info_read(multi, &pending)) {
    if (m->msg != CURLMSG_DONE)
      continue;
    CURL* easy = m->easy_handle;
    CURLcode rc = m->data.result;  // read before remove_handle invalidates m
    auto it = active.find(easy);
    curl_multi_remove_handle(multi, easy);
    if (it == active.end())
      continue;
    auto t = std::move(it->second);
    active.erase(it);
    deadlines.erase({t->deadline, easy});
    auto r = outcome(*t, rc);
    finish(*t, std::move(r));
  }
}

http_response http_client::impl::outcome(transfer& t, CURLcode rc) const {
  http_response r;
  long status = 0;
  curl_easy_getinfo(t.easy, CURLINFO_RESPONSE_CODE, &status);
  if (rc == CURLE_OK) {
    r = std::move(t.response);
    r.status = static_cast<int>(status);
    return r;
  }
  if (t.too_large || rc == CURLE_FILESIZE_EXCEEDED) {
    r.status = static_cast<int>(status);  // the server did answer
    r.headers = std::move(t.response.headers);
    r.error = "response body too large";
    return r;
  }
  if (rc == CURLE_OPERATION_TIMEDOUT) {
    r.error = timeout_message(t.request.timeout);
    return r;
  }
  long os_error = 0;
  curl_easy_getinfo(t.easy, CURLINFO_OS_ERRNO, &os_error);
  if (rc == CURLE_COULDNT_CONNECT && os_error == ECONNREFUSED)
    r.error = "connection refused";
  else if (t.error[0] != '\0')
    r.error = t.error;
  else
    r.error = curl_easy_strerror(rc);
  return r;
}

void http_client::impl::expire(clock::time_point now) {
  // Curl's timeout only starts when a transfer gets a connection; one waiting
  // for a free connection to its host would otherwise wait past its deadline.
  while (!deadlines.empty() && deadlines.begin()->first <= now) {
    auto easy = deadlines.begin()->second;
    deadlines.erase(deadlines.begin());
    auto it = active.find(easy);
    if (it == active.end())
      continue;
    auto t = std::move(it->second);
    active.erase(it);
    curl_multi_remove_handle(multi, easy);
    finish(*t, failure(timeout_message(t->request.timeout)));
  }
}

int http_client::impl::wait_ms(clock::time_point now) const {
  // curl_multi_poll also shortens the wait to curl's own next timeout.
  constexpr int idle_ms = 1000;
  if (deadlines.empty())
    return idle_ms;
  auto until = std::chrono::ceil<std::chrono::milliseconds>(deadlines.begin()->first - now);
  return static_cast<int>(std::clamp<long long>(until.count(), 0, idle_ms));
}

void http_client::impl::finish(transfer& t, http_response r) {
  answer(t.done, std::move(r), true);
}

void http_client::impl::answer(callback& done, http_response r, bool counted) {
  // Uncounted first: a callback that looks at in_flight() or queues the next
  // request sees this one gone.
  if (counted)
    in_flight.fetch_sub(1, std::memory_order_relaxed);
  if (!done)
    return;
  try {
    done(std::move(r));
  } catch (...) {
    // The thread serves every other request: a throwing callback is not fatal.
  }
}

} // namespace centralita::drivers
