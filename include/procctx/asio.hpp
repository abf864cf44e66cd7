/// @file
/// @brief Waiting for a Process from Asio: procctx::async_wait.
///
/// An optional header for programs built on Asio. libprocctx itself does not
/// use Asio; this header is built on the public API only (Process::on_exit,
/// Process::stop) and needs nothing but Asio's headers:
///
/// - standalone Asio (Debian: libasio-dev; namespace `asio`), the default;
/// - Boost.Asio (Debian: libboost1.81-dev; namespace `boost::asio`) when
///   `PROCCTX_ASIO_BOOST` is defined before this header is included
///   (`-DPROCCTX_ASIO_BOOST`, or `#define PROCCTX_ASIO_BOOST 1`).
///
/// @code
///   auto p = procctx::Command{"make", {"-j8"}}.spawn(ctx);
///   // A callback, run on the io_context:
///   procctx::async_wait(*p, asio::bind_executor(io, [](procctx::Completed c) { use(c); }));
///   // In a coroutine:
///   procctx::Completed c = co_await procctx::async_wait(*p, asio::use_awaitable);
///   // As a future:
///   std::future<procctx::Completed> f = procctx::async_wait(*p, asio::use_future);
/// @endcode
///
/// The contract:
/// - The completion signature is `void(procctx::Completed)`: a copy of the
///   outcome (captured output is shared, not copied).
/// - The handler runs on its associated executor, never on procctx's loop
///   thread: the loop dispatches it there, as Asio's own operations do, and
///   the loop thread is never inside an executor. Asio's rules pick that
///   executor: the coroutine's for `use_awaitable`, the one bound by
///   `asio::bind_executor`, else the one given to the three-argument
///   `async_wait(executor, process, token)`, else Asio's system executor (a
///   thread of Asio's own pool, which Asio starts on first use). With
///   `use_future` no code of the caller's runs: the future becomes ready from
///   the loop thread. (An executor of your own that runs work inline wherever
///   it is submitted would run the handler on the loop thread: do not.)
/// - Until it completes, the operation counts as outstanding work of that
///   executor, so `io_context::run()` does not return while a child is waited for.
/// - Cancellation through the handler's cancellation slot
///   (`asio::bind_cancellation_slot`, or a coroutine's own cancellation) of
///   type terminal or partial runs the child's stop sequence
///   (Process::stop(): by default SIGTERM to its tree, 5 s, SIGKILL). The
///   operation still completes, with the Completed, once the child is reaped
///   (`stop_reason` is `requested` unless something else stopped it first).
///   Cancellation of type total alone is ignored: stopping a child is not
///   free of side effects. As for Asio's own operations, emit the signal from
///   the handler's executor (not concurrently with the completion).
/// - The Process must outlive the operation: keep it until the handler has
///   run. (Destroying it earlier starts its stop sequence, as ~Process does,
///   and the operation completes with `stop_reason` `dropped`; but a
///   cancellation that arrives after that is undefined behaviour.) The
///   handler's execution context (the io_context) must outlive it too:
///   procctx cannot withdraw a wait when that context is destroyed.
///
/// What it will not do: run the handler inline inside async_wait(), block a
/// thread per child, or reap anything itself (procctx's loop does).
#pragma once

#include <procctx/process.hpp>

#if defined(PROCCTX_ASIO_BOOST)
#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/cancellation_type.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/execution/context.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/asio/system_executor.hpp>
#else
#include <asio/associated_cancellation_slot.hpp>
#include <asio/associated_executor.hpp>
#include <asio/async_result.hpp>
#include <asio/cancellation_type.hpp>
#include <asio/dispatch.hpp>
#include <asio/execution/context.hpp>
#include <asio/execution/outstanding_work.hpp>
#include <asio/post.hpp>
#include <asio/prefer.hpp>
#include <asio/system_executor.hpp>
#endif

#include <memory>
#include <mutex>
#include <type_traits>
#include <utility>

namespace procctx {

namespace detail::asio_wait {

#if defined(PROCCTX_ASIO_BOOST)
namespace net = ::boost::asio;
#else
namespace net = ::asio;
#endif

template <class Executor>
struct is_system_executor : std::false_type {};
template <class Blocking, class Relationship, class Allocator>
struct is_system_executor<net::basic_system_executor<Blocking, Relationship, Allocator>> : std::true_type {};

// One async_wait in flight: the handler, the work it keeps counted on its
// executor, and whether the outcome has arrived. Shared by the on_exit
// callback (loop thread), the completion handed to the handler's executor and,
// weakly, the cancellation slot (whoever emits the signal).
template <class Handler, class WorkExecutor>
class Pending : public std::enable_shared_from_this<Pending<Handler, WorkExecutor>> {
 public:
  Pending(Handler handler, WorkExecutor work, const Process* process)
      : handler_(std::move(handler)), work_(std::move(work)), process_(process) {}

  // In the initiating call: cancellation reaches this operation from now on.
  void connect_cancellation() {
    auto slot = net::get_associated_cancellation_slot(handler_);
    if (!slot.is_connected()) return;
    std::weak_ptr<Pending> weak = this->shared_from_this();
    slot.assign([weak](net::cancellation_type type) {
      if (auto self = weak.lock()) self->cancel(type);
    });
  }

  // On the loop thread, with the outcome: hand it to the handler's executor.
  // Dispatched, as Asio's own operations complete: an executor queues it,
  // since the loop thread is never inside one (use_future's sets the promise
  // in place). Asio's system executor would run it right here, so it is
  // posted there instead, onto a thread of Asio's pool.
  void arrived(const Completed& outcome) {
    {
      std::lock_guard lock{mu_};
      arrived_ = true;
    }
    auto run = [self = this->shared_from_this(), copy = outcome]() mutable { self->complete(std::move(copy)); };
    if constexpr (is_system_executor<WorkExecutor>::value) {
      net::post(work_, std::move(run));
    } else {
      net::dispatch(work_, std::move(run));
    }
  }

 private:
  // The stop sequence, unless the outcome is already in. Holding mu_ across
  // stop() keeps process_ from being used after the outcome let the caller
  // destroy the Process.
  void cancel(net::cancellation_type type) {
    constexpr auto stops = net::cancellation_type::terminal | net::cancellation_type::partial;
    if ((type & stops) == net::cancellation_type::none) return;
    std::lock_guard lock{mu_};
    if (!arrived_) process_->stop();
  }

  // On the handler's executor: the slot is let go first (on the same executor
  // as the signal, as Asio requires), then the handler runs.
  void complete(Completed outcome) {
    auto slot = net::get_associated_cancellation_slot(handler_);
    if (slot.is_connected()) slot.clear();
    Handler handler = std::move(handler_);
    WorkExecutor work = std::move(work_);  // counted until the handler has run
    std::move(handler)(std::move(outcome));
  }

  std::mutex mu_;
  bool arrived_ = false;
  Handler handler_;
  WorkExecutor work_;
  const Process* process_;
};

// The initiation async_initiate calls with the handler made from the token.
struct Initiate {
  template <class Handler, class Executor>
  void operator()(Handler&& handler, const Process* process, const Executor& fallback) const {
    auto executor = net::get_associated_executor(handler, fallback);
    auto work = net::prefer(executor, net::execution::outstanding_work.tracked);
    using Op = Pending<std::decay_t<Handler>, decltype(work)>;
    // Asio starts its system executor's threads when first used. Started here
    // rather than from the loop thread, they are not named after it.
    if constexpr (is_system_executor<decltype(work)>::value) (void)net::query(work, net::execution::context);
    auto op = std::make_shared<Op>(std::forward<Handler>(handler), std::move(work), process);
    op->connect_cancellation();
    process->on_exit([op](const Completed& outcome) { op->arrived(outcome); });
  }
};

}  // namespace detail::asio_wait

/// Waits for `process` without blocking: the token's handler gets its
/// Completed, on the handler's associated executor (or `executor` when the
/// handler has none). See the top of this file for cancellation and lifetimes.
template <class Executor, class CompletionToken>
auto async_wait(const Executor& executor, const Process& process, CompletionToken&& token) {
  return detail::asio_wait::net::async_initiate<CompletionToken, void(Completed)>(
      detail::asio_wait::Initiate{}, token, &process, executor);
}

/// The same, for a token whose handler names its executor (use_awaitable,
/// bind_executor); otherwise the handler runs on Asio's system executor.
template <class CompletionToken>
auto async_wait(const Process& process, CompletionToken&& token) {
  return async_wait(detail::asio_wait::net::system_executor{}, process, std::forward<CompletionToken>(token));
}

}  // namespace procctx
