// The byte-stream server on a real io_uring over loopback: bytes up to the
// handler, writes back from a foreign thread in order, write progress
// reported, close_after, close from either side, the connection limit.
#include "drivers/stream/stream_server.hpp"

#include "test/unit/drivers/reactor_thread.hpp"

#include <gtest/gtest.h>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <thread>

using namespace centralita::drivers;
using namespace std::chrono_literals;

namespace {

/// What every connection's handler saw, shared with the test thread.
struct journal {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<connection_id> opened;
  std::string data;
  uint64_t written = 0;
  int closed = 0;
  int last_err = -1;

  template <class Pred>
  bool wait(Pred p, std::chrono::milliseconds limit = 5s) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, limit, [&] { return p(); });
  }
};

class recording_handler final : public stream_handler {
public:
  explicit recording_handler(journal& j) : j_(j) {}
  void on_data(std::string_view bytes) override {
    std::lock_guard lock(j_.mu);
    j_.data.append(bytes);
    j_.cv.notify_all();
  }
  void on_written(uint64_t total) override {
    std::lock_guard lock(j_.mu);
    j_.written = total;
    j_.cv.notify_all();
  }
  void on_closed(int err) override {
    std::lock_guard lock(j_.mu);
    ++j_.closed;
    j_.last_err = err;
    j_.cv.notify_all();
  }

private:
  journal& j_;
};

int connect_to(const endpoint& to) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  if (::connect(fd, to.data(), to.size()) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

std::string read_exactly(int fd, std::size_t want) {
  std::string out;
  char buf[65536];
  while (out.size() < want) {
    auto n = ::recv(fd, buf, std::min(sizeof(buf), want - out.size()), 0);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  return out;
}

class stream_server_test : public ::testing::Test {
protected:
  void SetUp() override {
    if (!probe_uring().available)
      std::exit(77);  // ctest SKIP_RETURN_CODE
    auto r = reactor::create(0, {});
    ASSERT_TRUE(r) << r.err().reason;
    reactor_ = std::move(r.value());
  }

  void start(std::size_t max_connections = 16) {
    stream_server::options o;
    o.max_connections = max_connections;
    server_ = std::make_unique<stream_server>(
      std::vector<reactor*>{reactor_.get()}, o,
      [this](connection_id id, const endpoint&, const endpoint&) {
        std::lock_guard lock(j_.mu);
        j_.opened.push_back(id);
        j_.cv.notify_all();
        return std::make_unique<recording_handler>(j_);
      });
    auto bound = server_->listen(*endpoint::from("127.0.0.1", 0));
    ASSERT_TRUE(bound) << bound.err().reason;
    local_ = *bound;
    server_->start();
    thread_ = std::make_unique<centralita::test::reactor_thread>(*reactor_);
  }

  void TearDown() override {
    thread_.reset();
    server_.reset();
  }

  connection_id first_id() {
    std::lock_guard lock(j_.mu);
    return j_.opened.front();
  }

  journal j_;
  std::unique_ptr<reactor> reactor_;
  std::unique_ptr<stream_server> server_;
  std::unique_ptr<centralita::test::reactor_thread> thread_;
  endpoint local_;
};

TEST_F(stream_server_test, bytes_go_up_and_writes_from_another_thread_come_back_in_order) {
  start();
  int fd = connect_to(local_);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::send(fd, "hello", 5, 0), 5);
  ASSERT_TRUE(j_.wait([&] { return j_.data == "hello"; }));
  auto id = first_id();
  std::string expected;
  for (int i = 0; i < 200; ++i) {  // from this (foreign) thread: posted to the reactor
    auto chunk = "chunk " + std::to_string(i) + " " + std::string(static_cast<std::size_t>(i * 50), 'x') + "\n";
    expected += chunk;
    server_->send(id, chunk);
  }
  EXPECT_EQ(read_exactly(fd, expected.size()), expected);
  ASSERT_TRUE(j_.wait([&] { return j_.written == expected.size(); }));
  EXPECT_EQ(server_->counters().bytes_out.load(), expected.size());
  ::close(fd);
  ASSERT_TRUE(j_.wait([&] { return j_.closed == 1; }));
  EXPECT_EQ(server_->counters().open.load(), 0);
}

TEST_F(stream_server_test, close_after_flushes_then_closes_and_stale_ids_are_ignored) {
  start();
  int fd = connect_to(local_);
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(j_.wait([&] { return !j_.opened.empty(); }));
  auto id = first_id();
  server_->send(id, "bye", true);
  EXPECT_EQ(read_exactly(fd, 100), "bye");  // then EOF
  ASSERT_TRUE(j_.wait([&] { return j_.closed == 1; }));
  EXPECT_EQ(j_.last_err, 0);
  server_->send(id, "late");  // the slot may be reused: the generation tells it apart
  server_->close(id);
  int fd2 = connect_to(local_);
  ASSERT_TRUE(j_.wait([&] { return j_.opened.size() == 2; }));
  server_->send(id, "not for you");
  ASSERT_EQ(::send(fd2, "x", 1, 0), 1);
  ASSERT_TRUE(j_.wait([&] { return j_.data == "x"; }));
  server_->close(j_.opened[1]);
  EXPECT_EQ(read_exactly(fd2, 100), "");
  ::close(fd);
  ::close(fd2);
}

TEST_F(stream_server_test, connections_over_the_limit_are_refused_at_accept) {
  start(2);
  int a = connect_to(local_), b = connect_to(local_);
  ASSERT_TRUE(j_.wait([&] { return j_.opened.size() == 2; }));
  int c = connect_to(local_);  // the kernel accepts it; the server closes it at once
  ASSERT_GE(c, 0);
  char buf[8];
  auto got = ::recv(c, buf, sizeof(buf), 0);
  int err = errno;
  EXPECT_LE(got, 0) << "errno " << err;
  // The close comes right after the count: wait for it rather than race it.
  auto deadline = std::chrono::steady_clock::now() + 5s;
  while (server_->counters().refused.load() == 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::yield();
  EXPECT_EQ(server_->counters().refused.load(), 1u) << "recv " << got << " errno " << err;
  EXPECT_EQ(j_.opened.size(), 2u);
  ::close(a);
  ASSERT_TRUE(j_.wait([&] { return j_.closed == 1; }));
  int d = connect_to(local_);  // room again
  ASSERT_TRUE(j_.wait([&] { return j_.opened.size() == 3; }));
  for (int fd : {b, c, d})
    ::close(fd);
}

} // namespace
