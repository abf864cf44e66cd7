/// @file
/// @brief Signals sent to this process, as callbacks and as contexts.
///
/// @code
///   // Ends at the first SIGINT or SIGTERM (Go's signal.NotifyContext).
///   auto sc = procctx::signal_context(procctx::background(), {SIGINT, SIGTERM});
///   if (!sc) return sc.error();
///   auto done = procctx::Command{"make"}.run(sc->ctx);   // stopped on Ctrl-C
///   if (sc->watch.count() > 1) ...                        // a second Ctrl-C came too
/// @endcode
///
/// While any watch of a signal lives, procctx installs a process-wide handler
/// for it (so its default action, such as ending the process, does not
/// happen); the handler only counts and wakes procctx's loop thread, which
/// runs the callbacks. When the last watch of a signal goes, the disposition
/// it had before comes back. A signal blocked in every thread of the process
/// is never delivered, so never seen: the handler needs one thread (other
/// than procctx's loop, which blocks everything) that does not block it.
/// Children never inherit these handlers (spawn resets every signal).
///
/// What it will not do: watch SIGKILL or SIGSTOP (the kernel allows no
/// handler), or tell apart two deliveries of one signal that arrive before
/// the loop thread wakes (each is counted, and the callback runs once per
/// delivery counted).
#pragma once

#include <procctx/context.hpp>
#include <procctx/export.hpp>
#include <procctx/result.hpp>

#include <cstddef>
#include <functional>
#include <memory>
#include <vector>

namespace procctx {

namespace detail {
struct SignalWatchState;
}

/// Keeps a set of signals watched; see on_signal(). Move-only. Destroying it
/// stops the watch; if its callback is running on procctx's loop thread at
/// that moment, the destructor waits for it to return (unless called from
/// inside that callback).
class PROCCTX_EXPORT SignalWatch {
 public:
  SignalWatch() = default;
  SignalWatch(SignalWatch&&) noexcept = default;
  /// Stops this watch, then takes over `o`'s.
  SignalWatch& operator=(SignalWatch&& o) noexcept;
  SignalWatch(const SignalWatch&) = delete;
  SignalWatch& operator=(const SignalWatch&) = delete;
  ~SignalWatch();

  /// Deliveries seen so far, of all the watched signals.
  std::size_t count() const noexcept;
  /// The first signal seen (0 before any).
  int first() const noexcept;
  /// The latest signal seen (0 before any).
  int last() const noexcept;
  /// Stops watching now (as the destructor does).
  void reset() noexcept;

 private:
  friend PROCCTX_EXPORT Result<SignalWatch> on_signal(std::vector<int>, std::function<void(int)>);
  explicit SignalWatch(std::shared_ptr<detail::SignalWatchState> s) noexcept : state_(std::move(s)) {}
  std::shared_ptr<detail::SignalWatchState> state_;
};

/// Watches `signals`: `fn(sig)` runs on procctx's loop thread once per
/// delivery while the returned watch lives (keep it short, never block in
/// it). `fn` may be empty: the watch then only counts. Errors:
/// errc::invalid_argument for SIGKILL, SIGSTOP or a number that is not a
/// signal; the kernel's refusal of a handler or of the loop's eventfd.
PROCCTX_EXPORT Result<SignalWatch> on_signal(std::vector<int> signals, std::function<void(int)> fn = {});

/// What signal_context() returns. Destroyed in reverse: the watch stops
/// first, then the context is cancelled.
struct [[nodiscard]] SignalContext {
  Context ctx;        ///< ends at the first of the signals (errc::canceled, cause "received SIGINT")
  Canceler cancel;    ///< ends ctx early; destroying it cancels ctx
  SignalWatch watch;  ///< keeps the signals watched: count(), first(), last() see later ones too
};

/// A child of `parent` that is cancelled when this process receives one of
/// `signals`, with the cause "received SIGINT" (Go's signal.NotifyContext).
/// Later deliveries are counted by `watch`. Errors as on_signal().
PROCCTX_EXPORT Result<SignalContext> signal_context(const Context& parent, std::vector<int> signals);

}  // namespace procctx
