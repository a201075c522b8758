// sample_process() over a process tree (bench/loadgen/report.hpp): what
// --target-pid reports for a forking server such as Kamailio. The children
// here burn CPU or touch memory on command; pipes order every step, so the
// tests wait for events, never for time.
#include "bench/loadgen/report.hpp"

#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace centralita::loadgen {
namespace {

double own_cpu_s() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

/// Spins until this process has used `seconds` more CPU (CPU, not wall time:
/// on a loaded machine it just takes longer).
void burn_cpu(double seconds) {
  const double until = own_cpu_s() + seconds;
  volatile uint64_t sink = 0;
  while (own_cpu_s() < until) {
    for (int i = 0; i < 10000; ++i) sink = sink + static_cast<uint64_t>(i);
  }
}

/// One byte each way between the test and a forked process.
struct channel {
  int to_child[2] = {-1, -1};
  int to_parent[2] = {-1, -1};

  channel() {
    if (pipe(to_child) != 0 || pipe(to_parent) != 0) std::abort();
  }
  ~channel() {
    for (int fd : {to_child[0], to_child[1], to_parent[0], to_parent[1]})
      if (fd >= 0) close(fd);
  }
  static bool put(int fd, char c) { return write(fd, &c, 1) == 1; }
  static char get(int fd) {
    char c = 0;
    return read(fd, &c, 1) == 1 ? c : '\0';
  }
};

/// What a forked process does when told: 'b' burn 0.3 s of CPU, 'm' touch
/// 64 MiB, 'f' fork a grandchild that burns 0.3 s of CPU and wait for it,
/// 'q' quit. It answers 'k' once done with each command.
[[noreturn]] void child_loop(channel& ch) {
  std::vector<char> block;
  for (;;) {
    const char c = channel::get(ch.to_child[0]);
    if (c == 'b') {
      burn_cpu(0.3);
    } else if (c == 'm') {
      block.resize(64u << 20);
      std::memset(block.data(), 1, block.size());
    } else if (c == 'f') {
      const pid_t g = fork();
      if (g == 0) {
        burn_cpu(0.3);
        _exit(0);
      }
      int status = 0;
      waitpid(g, &status, 0);  // reaped: its CPU moves into this child's cutime
    } else {
      _exit(0);  // 'q', or the test went away (EOF)
    }
    channel::put(ch.to_parent[1], 'k');
  }
}

/// A forked helper process, stopped and reaped at the end of the test.
class child {
public:
  child() {
    pid_ = fork();
    if (pid_ == 0) child_loop(ch_);
  }
  ~child() {
    if (pid_ > 0) {
      channel::put(ch_.to_child[1], 'q');
      int status = 0;
      if (waitpid(pid_, &status, 0) != pid_) kill(pid_, SIGKILL);
    }
  }
  child(const child&) = delete;
  child& operator=(const child&) = delete;

  pid_t pid() const { return pid_; }
  /// Sends a command and waits until the child has carried it out.
  bool run(char command) {
    return channel::put(ch_.to_child[1], command) && channel::get(ch_.to_parent[0]) == 'k';
  }

private:
  channel ch_;
  pid_t pid_ = -1;
};

TEST(process_sample, includes_a_child_that_burns_cpu) {
  child c;
  ASSERT_GT(c.pid(), 0);
  const auto before = sample_process(getpid());
  ASSERT_TRUE(before.has_value());
  const double own_before = own_cpu_s();
  ASSERT_TRUE(c.run('b'));
  const auto after = sample_process(getpid());
  ASSERT_TRUE(after.has_value());
  const double own_used = own_cpu_s() - own_before;
  // The test process itself only waited; the 0.3 s are the child's (minus a
  // tick or two of rounding: /proc counts in 10 ms ticks).
  EXPECT_GE(after->cpu_s - before->cpu_s - own_used, 0.25);
  // The child alone shows the same CPU.
  const auto child_only = sample_process(c.pid());
  ASSERT_TRUE(child_only.has_value());
  EXPECT_GE(child_only->cpu_s, 0.25);
}

TEST(process_sample, includes_a_grandchild_that_ended) {
  child c;
  ASSERT_GT(c.pid(), 0);
  const auto before = sample_process(getpid());
  ASSERT_TRUE(before.has_value());
  ASSERT_TRUE(c.run('f'));  // the grandchild burned 0.3 s, exited, was reaped
  const auto after = sample_process(getpid());
  ASSERT_TRUE(after.has_value());
  EXPECT_GE(after->cpu_s - before->cpu_s, 0.25);
}

TEST(process_sample, sums_resident_memory_of_children) {
  child c;
  ASSERT_GT(c.pid(), 0);
  const auto before = sample_process(getpid());
  ASSERT_TRUE(before.has_value());
  ASSERT_TRUE(c.run('m'));
  const auto after = sample_process(getpid());
  ASSERT_TRUE(after.has_value());
  EXPECT_GE(after->rss_bytes, before->rss_bytes + (32u << 20));
}

TEST(process_sample, a_child_does_not_count_its_parent) {
  child c;
  ASSERT_GT(c.pid(), 0);
  const auto before = sample_process(c.pid());
  ASSERT_TRUE(before.has_value());
  burn_cpu(0.2);  // the test process (the child's parent) burns, the child idles
  const auto after = sample_process(c.pid());
  ASSERT_TRUE(after.has_value());
  EXPECT_LT(after->cpu_s - before->cpu_s, 0.05);
}

TEST(process_sample, gone_or_invalid_pid) {
  EXPECT_FALSE(sample_process(0).has_value());
  EXPECT_FALSE(sample_process(-1).has_value());
  pid_t p = fork();
  if (p == 0) _exit(0);
  ASSERT_GT(p, 0);
  int status = 0;
  ASSERT_EQ(waitpid(p, &status, 0), p);
  EXPECT_FALSE(sample_process(p).has_value());  // reaped: the pid is free
}

} // namespace
} // namespace centralita::loadgen
