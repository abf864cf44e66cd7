/// @file
/// @brief Internal: the node behind one Context::on_done callback.
///
/// Not part of the API: Context::on_done() is a template, so the node it
/// allocates must be visible to the compiler; nothing here is for callers.
#pragma once

namespace procctx::detail {

// One registered callback. Allocated by on_done(); owned by its Registration.
struct CallbackNode {
  CallbackNode* prev = nullptr;
  CallbackNode* next = nullptr;
  void (*invoke)(CallbackNode*) noexcept = nullptr;
  void (*destroy)(CallbackNode*) noexcept = nullptr;
  // Guarded by the state's mutex: registered → running → finished.
  enum class Phase : unsigned char { registered, running, finished } phase = Phase::registered;
  bool orphaned = false;  // its Registration went away while it ran

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
