// child_linux.hpp — the state behind a Process: one child's life, from
// spawn to its final outcome, as one state machine.
//
//            reaped                  pipes closed, relays delivered, stop over
//   running ───────▶ exited ─────────────────────────────────────────────────▶ finished
//
// Stopping is not a phase of its own: a StopRun may begin while the child
// runs and outlive the leader while the rest of its tree lingers. Who
// notices the exit is the caller's own wait() (waitid on the pidfd, in the
// caller's thread), or the loop once the child has been handed to it: when
// its handle is dropped or detached, on_exit() is asked for, or a stop
// begins. Until then the loop has nothing of the child but the pipes of
// captured or relayed streams, so a spawn whose caller waits costs the loop
// nothing.
//
// Every change goes through a Change (lock; change; finish if the life is
// over; unlock; then run what finishing left to do). Lock order: a child's
// lock, then a relay sink's, then the loop's.
#pragma once

#include <procctx/diagnostics.hpp>
#include <procctx/process.hpp>
#include <procctx/source_location.hpp>

#include "loop_linux.hpp"
#include "pumps_linux.hpp"
#include "stop_run_linux.hpp"
#include "sys_linux.hpp"
#include "timers.hpp"
#include "trace.hpp"
#include "tree_linux.hpp"

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

namespace procctx::detail {

enum class Phase : std::uint8_t { running, exited, finished };
// What became of the Process handle.
enum class Holder : std::uint8_t { held, dropped, detached };

class ChildState;

// What finishing leaves to do once the child's lock is released: drop the
// context registration (which may wait for a running callback) and run the
// on_exit callbacks on the loop thread.
class Finished {
 public:
  void run() noexcept;

  Registration registration;
  std::vector<std::function<void(const Completed&)>> callbacks;
  std::shared_ptr<const ChildState> keep;  // alive until the callbacks are done
  Loop* loop = nullptr;
};

class ChildState final : public std::enable_shared_from_this<ChildState>, private StopHost {
 public:
  // Fixed when the child is made.
  struct Identity {
    pid_t pid = 0;
    sys::UniqueFd pidfd;  // open until this state is destroyed
    std::vector<std::string> argv;
    TimePoint started;
    SourceLocation where;
    StopSequence stop;
    std::function<void(const SignalSent&)> on_stop_signal;
    Duration wait_delay{};
    std::string tree_note;
  };
  ChildState(Identity id, ProcessTree tree, Loop& loop, Timers& timers);
  ChildState(const ChildState&) = delete;
  ChildState& operator=(const ChildState&) = delete;
  ~ChildState();

  // Set up by spawn before the Process is handed out: the parent ends of
  // captured or relayed streams (0 stdout, 1 stderr) and of stdin data.
  void attach_capture(int stream, sys::UniqueFd fd, std::size_t limit);
  void attach_relay(int stream, sys::UniqueFd fd, std::shared_ptr<RelaySink> sink, const RelayOptions& options);
  void attach_feed(sys::UniqueFd fd, std::shared_ptr<const std::string> bytes);
  Result<void> watch_pipes();
  void register_context(const Context& ctx);
  // The pipes could not be watched: the child must not outlive spawn.
  void abandon() noexcept;

  // What Process does (any thread).
  const Completed& wait();
  const Completed* try_wait();
  const Completed* wait_for(Duration d);
  Result<void> signal(int sig);
  Result<void> signal_tree(int sig);
  Result<void> kill();
  void stop();
  void detach();
  void drop();
  void on_exit(std::function<void(const Completed&)> fn);
  // run(): the outcome of a finished child, moved out.
  Completed take_outcome();
  // The outcome once finished (it never changes after that).
  const Completed& outcome() const noexcept { return result_; }

  // Diagnostics.
  pid_t pid() const noexcept { return id_.pid; }
  int pidfd() const noexcept { return id_.pidfd.get(); }
  ChildInfo info(TimePoint now);
  void add_to(Stats& s);
  // For PROCCTX_DEBUG=leaks: the child had a caller, who never looked.
  bool unseen() const noexcept;
  std::string describe() const;
  // Records the leak (when unseen and PROCCTX_DEBUG=leaks), once per child.
  void note_leak_once();

 private:
  class Change;
  friend class Change;

  // The loop notices the exit from now on (and reaps).
  void watch_exit_locked();
  void on_exit_ready();
  bool try_reap_locked();
  void reaped_locked(const siginfo_t& info, const struct rusage& ru, bool ok);
  void after_reap_locked();
  void begin_stop_locked(StopReason reason, std::string cause);
  void on_stream(int stream);
  void on_relay_ready(int stream);
  void handle_read_locked(int stream, OutputPump::Read r);
  void arm_wait_delay_locked();
  void on_wait_delay();
  void give_up_pipes_locked();
  void on_broken_pipe_locked(int stream);
  // On `on`: timers_ for the user's durations, loop_ for procctx's own polls.
  Timers::Id arm_timer_locked(Timers& on, Duration after, void (ChildState::*fn)());
  bool pipes_done() const;
  Finished advance_locked();
  Finished finish_locked();
  void on_context_done(StopReason reason, std::string cause);

  // StopHost.
  bool tree_alive() override;
  void send_step(int sig, int stage) override;
  Timers::Id arm(Duration after, StopTimer which) override;
  void disarm(Timers::Id id) override;

  const Identity id_;
  Loop& loop_;
  Timers& timers_;
  trace::Span span_;

  mutable std::mutex mu_;
  std::condition_variable finished_cv_;
  // Guarded by mu_.
  Phase phase_ = Phase::running;
  Holder holder_ = Holder::held;
  bool collected_ = false;  // a wait, try_wait, wait_for or on_exit was asked for the outcome
  std::atomic<bool> leak_noted_{false};  // PROCCTX_DEBUG=leaks has recorded it (any thread)
  Completed result_;
  ProcessTree tree_;
  OutputPump pumps_[2];  // stdout, stderr
  StdinFeed feed_;
  StopRun stop_;
  Loop::Id exit_watch_ = 0;
  Timers::Id exit_poll_ = 0;   // the loop could not watch the pidfd: look now and then
  Timers::Id delay_timer_ = 0;  // wait_delay for pipes held after the exit
  Timers::Id broken_timer_ = 0;  // a relay's reader went away: stop after wait_delay
  Registration context_;
  std::vector<std::function<void(const Completed&)>> on_exit_;
  std::shared_ptr<ChildState> keep_alive_;  // while a stop sequence runs
};

// A Process's view of its state.
struct SpawnAccess {
  static Process make(std::shared_ptr<ChildState> s) { return Process{std::move(s)}; }
  static void set(PipeEnd& end, int fd, Context ctx) {
    end.fd_ = fd;
    end.ctx_ = std::move(ctx);
  }
  static const std::shared_ptr<ChildState>& state(const Process& p) { return p.state_; }
};

}  // namespace procctx::detail
