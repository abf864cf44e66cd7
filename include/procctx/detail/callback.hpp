/// @file
/// @brief Internal: the node behind one Context::on_done callback.
///
/// Not part of the API: Context::on_done() is a template, so the node it
/// allocates must be visible to the compiler; nothing here is for callers.
#pragma once

#include <atomic>
#include <cstdint>

namespace procctx::detail {

// One registered callback. Allocated by on_done(); owned by its Registration.
struct CallbackNode {
  CallbackNode* prev = nullptr;
  CallbackNode* next = nullptr;
  void (*invoke)(CallbackNode*) noexcept = nullptr;
  void (*destroy)(CallbackNode*) noexcept = nullptr;
  // registered → running → finished (set to running under the context's
  // list lock; to finished by the thread that ran it), plus kWaiting while a
  // Registration on another thread waits for it to finish (a futex word).
  static constexpr std::uint32_t kRegistered = 0, kRunning = 1, kFinished = 2, kWaiting = 4;
  std::atomic<std::uint32_t> phase{kRegistered};
  bool orphaned = false;  // its Registration went away inside it (the running thread's own)

  void run() noexcept { invoke(this); }
  void free() noexcept { destroy(this); }
};

template <class F>
struct CallbackImpl final : CallbackNode {
  explicit CallbackImpl(F&& f) : fn(static_cast<F&&>(f)) {
    invoke = [](CallbackNode* n) noexcept { static_cast<CallbackImpl*>(n)->fn(); };
    destroy = [](CallbackNode* n) noexcept { delete static_cast<CallbackImpl*>(n); };
  }
  F fn;
};

}  // namespace procctx::detail
