#include "drivers/uring/mpsc_queue.hpp"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

using centralita::drivers::mpsc_queue;

TEST(mpsc_queue, fifo_for_one_producer) {
  mpsc_queue<int> q;
  EXPECT_TRUE(q.push(1));   // was empty
  EXPECT_FALSE(q.push(2));
  q.push(3);
  std::vector<int> out;
  q.drain([&](int&& v) { out.push_back(v); });
  EXPECT_EQ(out, (std::vector<int>{1, 2, 3}));
  EXPECT_TRUE(q.empty());
}

TEST(mpsc_queue, many_producers_lose_nothing_and_keep_per_producer_order) {
  mpsc_queue<std::pair<int, int>> q;
  constexpr int producers = 4, per = 20000;
  std::vector<std::thread> threads;
  for (int p = 0; p < producers; ++p)
    threads.emplace_back([&, p] {
      for (int i = 0; i < per; ++i)
        q.push({p, i});
    });
  std::vector<int> next(producers, 0);
  int total = 0;
  while (total < producers * per) {
    q.drain([&](std::pair<int, int>&& v) {
      ASSERT_EQ(v.second, next[v.first]);
      ++next[v.first];
      ++total;
    });
  }
  for (auto& t : threads)
    t.join();
  EXPECT_EQ(total, producers * per);
}
