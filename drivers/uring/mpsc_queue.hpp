#pragma once

#include <atomic>
#include <utility>

namespace centralita::drivers {

/// Lock-free multi-producer, single-consumer queue. Producers push with one
/// CAS on a stack head; the consumer takes the whole stack with one exchange
/// and reverses it into FIFO order. One node allocation per push.
template <class T>
class mpsc_queue {
public:
  mpsc_queue() = default;
  mpsc_queue(const mpsc_queue&) = delete;
  mpsc_queue& operator=(const mpsc_queue&) = delete;
  ~mpsc_queue() {
    drain([](T&&) {});
  }

  /// Any thread. Returns true when the queue was empty before (the consumer
  /// may be asleep and need a wake-up).
  bool push(T value) {
    auto* n = new node{std::move(value), nullptr};
    node* old = head_.load(std::memory_order_relaxed);
    do {
      n->next = old;
    } while (!head_.compare_exchange_weak(old, n, std::memory_order_seq_cst,
                                          std::memory_order_relaxed));
    // Only `old` may be read now: once published, the consumer may already
    // have taken and freed the node (ASan caught reading n->next here).
    return old == nullptr;
  }

  /// Consumer only. Calls `f(T&&)` for every element in push order; returns count.
  template <class F>
  std::size_t drain(F&& f) {
    auto* list = head_.exchange(nullptr, std::memory_order_seq_cst);
    node* reversed = nullptr;
    while (list != nullptr) {
      auto* next = list->next;
      list->next = reversed;
      reversed = list;
      list = next;
    }
    std::size_t n = 0;
    while (reversed != nullptr) {
      auto* next = reversed->next;
      f(std::move(reversed->value));
      delete reversed;
      reversed = next;
      ++n;
    }
    return n;
  }

  bool empty() const { return head_.load(std::memory_order_seq_cst) == nullptr; }

private:
  struct node {
    T value;
    node* next;
  };
  std::atomic<node*> head_{nullptr};
};

} // namespace centralita::drivers
