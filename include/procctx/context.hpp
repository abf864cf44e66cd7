/// @file
/// @brief Cancellation trees with deadlines (Go's context, in C++).
///
/// A Context says when work should stop. Who may stop it holds a Canceler;
/// everyone else holds a Context and can only observe. Contexts form a tree:
///
/// @code
///   auto [ctx, cancel] = procctx::with_timeout(procctx::background(), 5s);
///   auto [job, stop_job] = procctx::with_cancel(ctx);   // job ends when ctx ends
///   stop_job("user pressed stop");                       // ctx and siblings live on
/// @endcode
///
/// Rules that always hold:
/// - A child is done when its parent is done, with the parent's error and
///   cause. Cancelling a child never touches its parent or its siblings.
/// - A child's deadline is the earlier of its own and its parent's.
/// - A context ends once; later cancels are no-ops that keep the first cause.
/// - Every on_done callback runs exactly once: on the thread that ends the
///   context (the canceller's, or procctx's loop thread for a deadline), or
///   inline in on_done() when the context has already ended. Callbacks must
///   be short, must not throw, and never run under a lock of procctx's.
/// - Deadlines fire on time whether or not anybody waits. They are driven by
///   procctx's single background thread ("procctx-loop"); deriving a context
///   without a deadline makes no syscall and starts no thread.
///
/// Context is cheap to copy (one shared_ptr) and every member is thread-safe.
/// What this will not do: carry values (unlike Go), or stop anything by
/// itself — processes spawned under a context are what react to it.
#pragma once

#include <procctx/clock.hpp>
#include <procctx/detail/callback.hpp>
#include <procctx/export.hpp>
#include <procctx/result.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <system_error>
#include <type_traits>
#include <utility>

namespace procctx {

class Context;
class Canceler;

namespace detail {
struct ContextState;
struct Access;
}  // namespace detail

/// Keeps an on_done callback registered. Destroying it unregisters the
/// callback; if the callback is running on another thread right then, the
/// destructor waits for it to return (so whatever it uses can be freed
/// afterwards). Destroying it from inside its own callback is allowed.
class PROCCTX_EXPORT Registration {
 public:
  Registration() = default;
  /// Moves the registration; `o` is left empty.
  Registration(Registration&& o) noexcept
      : state_(std::move(o.state_)), node_(std::exchange(o.node_, nullptr)) {}
  /// Unregisters this one's callback (as reset()), then takes over `o`'s.
  Registration& operator=(Registration&& o) noexcept;
  Registration(const Registration&) = delete;
  Registration& operator=(const Registration&) = delete;
  ~Registration() { reset(); }

  /// Unregisters now (same as destruction). Returns true when the callback
  /// had not run and never will.
  bool reset() noexcept;
  /// True while a callback is registered and has not run yet.
  bool active() const noexcept;

 private:
  friend class Context;
  Registration(std::shared_ptr<detail::ContextState> s, detail::CallbackNode* n) noexcept
      : state_(std::move(s)), node_(n) {}
  std::shared_ptr<detail::ContextState> state_;
  detail::CallbackNode* node_ = nullptr;
};

/// An observer of a cancellation scope. See the top of this file.
class PROCCTX_EXPORT Context {
 public:
  /// The same as background(): never ends.
  Context() noexcept = default;

  /// True once cancelled or past the deadline.
  bool done() const noexcept;
  /// Empty while live; errc::canceled or errc::deadline_exceeded once done.
  std::error_code err() const noexcept;
  /// Why it ended: the text given to cancel(cause), else err()'s message.
  /// Empty while live.
  std::string cause() const;
  /// The effective deadline (the earliest along the chain), if any.
  std::optional<TimePoint> deadline() const noexcept;

  /// Blocks until done. wait_for returns done().
  void wait() const;
  ///@{
  /// Block until done or until `d` has passed (or `t` is reached); return done().
  bool wait_for(Duration d) const;
  bool wait_until(TimePoint t) const;
  ///@}

  /// Runs fn() once when the context ends (inline, now, if it already has).
  template <class F>
  [[nodiscard]] Registration on_done(F&& fn) const {
    static_assert(std::is_invocable_v<std::decay_t<F>&>, "on_done takes a callable with no arguments");
    if (!state_ || done()) {
      if (state_) std::forward<F>(fn)();
      return {};
    }
    auto* node = new detail::CallbackImpl<std::decay_t<F>>(std::decay_t<F>(std::forward<F>(fn)));
    return attach(node);
  }

  /// A file descriptor that becomes readable (POLLIN) once the context is
  /// done, for the caller's own poll/epoll. It belongs to the context: valid
  /// while any copy of this Context lives; never read from it or close it.
  /// background() has none and returns -1 (poll() ignores negative fds).
  /// Returns an Error only when the kernel refuses an eventfd.
  Result<int> fd() const;

  /// A std::stop_token that is stopped when this context is done.
  std::stop_token stop_token() const;
  /// A context that is cancelled when `token` is stopped (cause: "stop requested").
  static Context from(std::stop_token token);

  /// Two contexts are equal when they observe the same scope.
  friend bool operator==(const Context& a, const Context& b) noexcept { return a.state_ == b.state_; }

 private:
  friend struct detail::Access;
  explicit Context(std::shared_ptr<detail::ContextState> s) noexcept : state_(std::move(s)) {}
  Registration attach(detail::CallbackNode* node) const;

  std::shared_ptr<detail::ContextState> state_;
};

/// The right to cancel one context. Move-only; cancels on destruction, so a
/// forgotten cancel cannot leak the context's timer or its parent link.
class PROCCTX_EXPORT Canceler {
 public:
  Canceler() noexcept = default;
  /// Moves the right to cancel; `o` is left empty (cancels nothing).
  Canceler(Canceler&&) noexcept = default;
  /// Cancels the context this one held, then takes over `o`'s.
  Canceler& operator=(Canceler&& o) noexcept;
  Canceler(const Canceler&) = delete;
  Canceler& operator=(const Canceler&) = delete;
  ~Canceler();

  /// Ends the context with errc::canceled. `cause` says why; it is kept only
  /// by the first call (later calls, and calls after the deadline, are no-ops).
  void operator()(std::string cause = {}) const;
  /// The same as operator()(cause).
  void cancel(std::string cause = {}) const { (*this)(std::move(cause)); }

  /// Gives up the right to cancel without cancelling: the context then ends
  /// only through its parent or its deadline.
  void release() noexcept { state_.reset(); }

 private:
  friend struct detail::Access;
  explicit Canceler(std::shared_ptr<detail::ContextState> s) noexcept : state_(std::move(s)) {}
  std::shared_ptr<detail::ContextState> state_;
};

/// What with_cancel / with_timeout / with_deadline return:
///   auto [ctx, cancel] = procctx::with_cancel(parent);
struct [[nodiscard]] WithCancel {
  Context ctx;      ///< The new context: observe it, pass it on.
  Canceler cancel;  ///< The right to end it; ends it when destroyed.
};

/// The root: never ends, has no deadline, allocates nothing.
inline Context background() noexcept { return Context{}; }

/// A child of `parent` that also ends when its Canceler is called or dropped.
PROCCTX_EXPORT WithCancel with_cancel(const Context& parent);
/// ... and at `deadline` (already done if that is not in the future).
PROCCTX_EXPORT WithCancel with_deadline(const Context& parent, TimePoint deadline);
/// ... and after `timeout` (a zero or negative timeout means already expired).
PROCCTX_EXPORT WithCancel with_timeout(const Context& parent, Duration timeout);

template <class Rep, class Period>
/// The same for any std::chrono::duration (5s, 250ms, 1.5min).
WithCancel with_timeout(const Context& parent, std::chrono::duration<Rep, Period> timeout) {
  return with_timeout(parent, std::chrono::duration_cast<Duration>(timeout));
}

}  // namespace procctx
