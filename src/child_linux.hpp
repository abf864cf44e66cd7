// child_linux.hpp — the state behind a Process, owned jointly by the
// Process handle and procctx's loop (which keeps it alive while any pidfd,
// pipe or timer of it is still watched).
//
// Everything below `mu` is guarded by it; loop callbacks, Process calls and
// context callbacks all take it, so they never run concurrently for one
// child. Lock order: ChildState::mu, then the loop's own lock.
#pragma once

#include <procctx/process.hpp>

#include "cgroup_linux.hpp"
#include "loop_linux.hpp"
#include "relay_linux.hpp"
#include "sys_linux.hpp"
#include "trace.hpp"

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <procctx/source_location.hpp>
#include <span>

namespace procctx::detail {

// Bytes of one captured stream: all of them up to `limit`, then the first
// limit/2 and a ring of the last limit - limit/2. Reads land in the buffer
// directly. Small buffers live on the heap; past 256 KiB the buffer is an
// anonymous mapping grown with mremap (no copy) and backed by huge pages
// where the kernel allows, so a 64 MiB capture is not 16,000 page faults.
// finish() hands the buffer itself to the Output: no copy there either.
class Capture {
 public:
  explicit Capture(std::size_t limit = 0) : limit_(limit), half_(limit / 2) {}
  Capture(Capture&& o) noexcept { *this = std::move(o); }
  Capture& operator=(Capture&& o) noexcept;
  Capture(const Capture&) = delete;
  Capture& operator=(const Capture&) = delete;
  ~Capture() { release(); }

  // Where the next read may write, and how much; then commit(n).
  std::span<char> space();
  void commit(std::size_t n) noexcept;
  // Bytes read past a limit that leaves no room at all (limit 0 or 1).
  void count_discarded(std::size_t n) noexcept {
    ring_ = true;
    dropped_ += n;
  }
  Output finish();

 private:
  void grow();
  void release() noexcept;
  std::size_t limit_ = 0, half_ = 0;
  char* buf_ = nullptr;
  std::size_t cap_ = 0;
  bool mapped_ = false;
  std::size_t len_ = 0;  // linear phase
  bool ring_ = false;    // past the limit
  std::size_t ring_pos_ = 0;
  std::uint64_t dropped_ = 0;
};

struct ChildState;

// What finishing a child leaves to do once its lock is released: drop the
// context registration (which may wait for a running callback) and run the
// on_exit callbacks on the loop thread. Declared before the lock_guard so
// that its destructor runs after the unlock.
class Finished {
 public:
  Finished() = default;
  Finished(Finished&&) noexcept = default;
  Finished& operator=(Finished&&) noexcept;
  Finished(const Finished&) = delete;
  Finished& operator=(const Finished&) = delete;
  ~Finished() { run(); }

 private:
  friend struct ChildState;
  void run() noexcept;
  Registration registration_;
  std::vector<std::function<void(const Completed&)>> callbacks_;
  std::shared_ptr<ChildState> child_;
};

struct ChildState : std::enable_shared_from_this<ChildState> {
  ChildState();
  ~ChildState();
  // Fixed before the child is published.
  pid_t pid = 0;
  std::vector<std::string> argv;
  TimePoint started;
  Tree tree = Tree::process_group;
  StopSequence stop;
  std::function<void(const SignalSent&)> on_stop_signal;
  Duration wait_delay{};
  SourceLocation where;
  Loop* loop = nullptr;
  trace::Span trace_span;  // the trace that saw it spawn, if any

  mutable std::mutex mu;
  mutable std::condition_variable cv;
  sys::UniqueFd pidfd;  // open until this state is destroyed
  bool reaped = false;
  bool finished = false;  // `result` is complete and will not change
  Completed result;

  Loop::Id pid_watch = 0;
  struct Stream {
    sys::UniqueFd fd;
    Loop::Id watch = 0;
    Capture capture;
    std::shared_ptr<RelaySource> relay;  // Stdio::relay instead of a capture
    BrokenPipe on_broken_pipe = BrokenPipe::stop;
    std::uint64_t read = 0;  // bytes so far
    bool widened = false;    // pipe buffer raised for a heavy writer
  };
  Stream streams[2];  // stdout, stderr captures or relays
  struct Feed {
    sys::UniqueFd fd;
    Loop::Id watch = 0;
    std::shared_ptr<const std::string> bytes;
    std::size_t offset = 0;
  } feed;
  Loop::Id delay_timer = 0;
  Loop::Id stop_timer = 0;  // the current stop step's wait
  Loop::Id poll_timer = 0;  // watching a tree whose leader is gone
  Loop::Id broken_timer = 0;  // a relay's reader went away: stop after wait_delay
  Duration poll_interval{};
  int stop_stage = -1;
  bool stopping = false;          // a stop sequence was started
  bool sequence_running = false;  // ... and the tree may still be alive
  bool detached = false;
  bool dropped = false;                    // its Process went away while it ran
  bool collected = false;                  // a wait()/try_wait() returned the outcome
  bool group_gone = false;                 // the process group was seen empty after the leader
  std::shared_ptr<ChildState> keep_alive;  // set while a stop sequence runs
  Leftovers leftover_policy = Leftovers::leave;
  std::optional<cgroup::Leaf> leaf;  // Tree::cgroup
  // Tree::process_group: descendants seen outside the group when a stop
  // began (they setsid()ed or setpgid()ed away), tracked by pidfd.
  struct Escapee {
    ProcessRef who;
    sys::UniqueFd pidfd;
  };
  std::vector<Escapee> escapees;
  void find_escapees_locked();
  bool escapee_alive(const Escapee& e) const;
  Registration on_ctx_done;
  std::vector<std::function<void(const Completed&)>> on_exit;  // run once finished

  // Loop callbacks.
  void on_pidfd();
  // Reaps the child if it has exited; true when this call reaped it.
  bool reap_locked();
  // begin_stop_locked on the loop thread, soon (from any thread, no lock held).
  void post_stop(StopReason reason, std::string cause);
  void on_stream(int i);
  void on_feed();
  void on_wait_delay();
  void on_wait_delay_locked();
  // Reads what stream i has, up to 4 MiB per call.
  void drain_locked(int i);
  // A relay took bytes but asked to wait (its fd is backed up) or cannot
  // write any more: pause the stream, or act on the broken pipe.
  void relay_refused_locked(int i);
  // Posted by a relay's sink: stream i may go on, or its last bytes went out.
  void on_relay_ready(int i);

  // Starts the stop sequence (no-op once started or finished).
  void begin_stop_locked(StopReason reason, std::string cause);
  void start_sequence_locked();
  void next_stop_stage_locked();
  void schedule_poll_locked();
  void on_poll();
  Result<void> signal_tree_locked(int sig);
  // Whether anything of the tree is still running (the leader, or group or
  // cgroup members other than zombies).
  bool tree_alive_locked();
  std::vector<ProcessRef> tree_members_locked();
  void close_stream_locked(int i) noexcept;
  void close_feed_locked() noexcept;
  // Finishes when the child is reaped, no captured pipe is open and no stop
  // is still at work. What is left to do after unlocking is returned.
  Finished maybe_finish_locked();
};

std::vector<ProcessRef> group_members(pid_t pgid);

// Diagnostics: every live ChildState (under the registry lock), and the
// number of live Context::on_done registrations.
void for_each_child(const std::function<void(ChildState&)>& fn);
extern std::atomic<std::size_t> live_registrations;

struct SpawnAccess {
  static Process make(std::shared_ptr<ChildState> s) { return Process{std::move(s)}; }
  static void set(Writer& w, int fd, Context ctx) {
    w.fd_ = fd;
    w.ctx_ = std::move(ctx);
  }
  static void set(Reader& r, int fd, Context ctx) {
    r.fd_ = fd;
    r.ctx_ = std::move(ctx);
  }
  static const std::shared_ptr<ChildState>& state(const Process& p) { return p.state_; }
};

// How the child's exit is noticed: by the loop (spawn), or by a caller that
// waits right away in its own thread (run), which saves a loop wake-up.
enum class ExitWatch { loop, caller };
Result<Process> spawn(const Command& cmd, const Context& ctx, SourceLocation where,
                      ExitWatch exit_watch = ExitWatch::loop);

}  // namespace procctx::detail
