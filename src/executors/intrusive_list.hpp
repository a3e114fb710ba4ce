// An intrusive doubly-linked list of nodes that live elsewhere (usually in a coroutine
// frame): linking and unlinking cost a few pointer writes and never allocate. Not
// thread-safe: each list is touched by one thread (an I/O thread's own lists).
#pragma once

namespace pit::detail {

// A node derives from ListNode<Itself>.
template <class T>
struct ListNode {
  T* prev = nullptr;
  T* next = nullptr;
};

template <class T>
class IntrusiveList {
 public:
  void push_front(T& node) noexcept {
    node.prev = nullptr;
    node.next = head_;
    if (head_ != nullptr) head_->prev = &node;
    head_ = &node;
  }
  // `node` must be on this list.
  void erase(T& node) noexcept {
    if (node.prev != nullptr) {
      node.prev->next = node.next;
    } else {
      head_ = node.next;
    }
    if (node.next != nullptr) node.next->prev = node.prev;
    node.prev = node.next = nullptr;
  }
  [[nodiscard]] T* front() const noexcept { return head_; }

 private:
  T* head_ = nullptr;
};

}  // namespace pit::detail
