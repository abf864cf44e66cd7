#include "child_linux.hpp"

#include "leak_debug.hpp"
#include "proc_linux.hpp"

#include <algorithm>

#include <csignal>

#include <poll.h>
#include <sys/epoll.h>
#include <sys/wait.h>

namespace procctx::detail {
namespace {

constexpr Duration kExitPoll = std::chrono::milliseconds(50);

Duration from_timeval(const timeval& tv) {
  return std::chrono::duration_cast<Duration>(std::chrono::seconds(tv.tv_sec) +
                                              std::chrono::microseconds(tv.tv_usec));
}

ExitStatus status_of(const siginfo_t& info) {
  switch (info.si_code) {
    case CLD_EXITED:
      return ExitStatus::exited_with(info.si_status);
    case CLD_KILLED:
      return ExitStatus::killed_by(info.si_status);
    case CLD_DUMPED:
      return ExitStatus::killed_by(info.si_status, true);
    default:
      return {};
  }
}

const char* stream_name(int stream) { return stream == 0 ? "stdout" : "stderr"; }

}  // namespace

// Lock; change; on scope exit, finish the child if its life is over,
// unlock, then run what finishing left to do.
class ChildState::Change {
 public:
  explicit Change(ChildState& c) : c_(c), lock_(c.mu_) {}
  Change(const Change&) = delete;
  Change& operator=(const Change&) = delete;
  ~Change() {
    Finished f = c_.advance_locked();
    lock_.unlock();
    f.run();
  }

 private:
  ChildState& c_;
  std::unique_lock<std::mutex> lock_;
};

void Finished::run() noexcept {
  registration.reset();
  if (callbacks.empty() || !keep) return;
  auto invoke = [callbacks = std::move(callbacks), keep = std::move(keep)]() {
    for (const auto& fn : callbacks) fn(keep->outcome());
  };
  // on_exit callbacks run on the loop thread, as documented, even when a
  // waiter's thread noticed the exit first.
  if (loop->on_loop_thread())
    invoke();
  else
    loop->post(std::move(invoke));
}

ChildState::ChildState(Identity id, ProcessTree tree, Loop& loop, Timers& timers)
    : id_(std::move(id)), loop_(loop), timers_(timers), tree_(std::move(tree)) {
  result_.pid = id_.pid;
  result_.argv = id_.argv;
  result_.tree = tree_.mode();
  result_.tree_note = id_.tree_note;
  result_.cgroup = tree_.cgroup_path();
  if (trace::on()) {
    span_ = trace::spawned({id_.pid, id_.argv, id_.started, id_.where, tree_.mode(), id_.tree_note});
  }
}

ChildState::~ChildState() {
  // Never a zombie, whatever path led here without a reap.
  if (phase_ == Phase::running && id_.pidfd) {
    (void)sys::pidfd_send_signal(id_.pidfd.get(), SIGKILL);
    siginfo_t info{};
    (void)sys::waitid_pidfd(id_.pidfd.get(), &info, WEXITED, nullptr);
  }
  // A child nobody waited for (a spawn that failed had no caller to wait).
  note_leak_once();
}

void ChildState::attach_capture(int stream, sys::UniqueFd fd, std::size_t limit) {
  std::lock_guard lock{mu_};
  pumps_[stream].capture(std::move(fd), limit);
}

void ChildState::attach_relay(int stream, sys::UniqueFd fd, std::shared_ptr<RelaySink> sink,
                              const RelayOptions& options) {
  std::weak_ptr<ChildState> weak = weak_from_this();
  auto source = std::make_shared<RelaySource>(std::move(sink), options, [weak, stream] {
    if (auto c = weak.lock()) c->on_relay_ready(stream);
  });
  std::lock_guard lock{mu_};
  pumps_[stream].relay(std::move(fd), std::move(source), options.on_broken_pipe);
}

void ChildState::attach_feed(sys::UniqueFd fd, std::shared_ptr<const std::string> bytes) {
  std::lock_guard lock{mu_};
  feed_.feed(std::move(fd), std::move(bytes));
}

Result<void> ChildState::watch_pipes() {
  // Each watch holds the state until its pipe closes: the outcome is not
  // final before, whoever holds the handle.
  auto self = shared_from_this();
  std::lock_guard lock{mu_};
  for (int i = 0; i < 2; ++i) {
    if (!pumps_[i].open()) continue;
    if (auto w = pumps_[i].watch(loop_, [self, i] { self->on_stream(i); }); !w) return w;
  }
  if (feed_.open()) {
    return feed_.watch(loop_, [self] {
      Change change{*self};
      self->feed_.write_some();
    });
  }
  return {};
}

void ChildState::abandon() noexcept {
  std::lock_guard lock{mu_};
  for (auto& p : pumps_) p.close();
  feed_.close();
  (void)sys::pidfd_send_signal(id_.pidfd.get(), SIGKILL);
  siginfo_t info{};
  (void)sys::waitid_pidfd(id_.pidfd.get(), &info, WEXITED, nullptr);
  phase_ = Phase::finished;
  collected_ = true;  // an error went back to the caller: nothing leaked
}

void ChildState::register_context(const Context& ctx) {
  std::weak_ptr<ChildState> weak = weak_from_this();
  // Runs on whichever thread ends the context: the work goes to the loop,
  // so cancelling a thousand children stays a quick call.
  Registration reg = ctx.on_done([weak, ctx] {
    if (auto c = weak.lock()) {
      if (trace::on()) trace::context_done(c->id_.pid, ctx.err(), ctx.cause());  // before the stop it causes
      StopReason why = ctx.err() == errc::deadline_exceeded ? StopReason::deadline : StopReason::canceled;
      c->on_context_done(why, ctx.cause());
    }
  });
  std::lock_guard lock{mu_};
  if (phase_ != Phase::finished) context_ = std::move(reg);
}

void ChildState::on_context_done(StopReason reason, std::string cause) {
  loop_.post([c = shared_from_this(), reason, cause = std::move(cause)]() mutable {
    Change change{*c};
    c->begin_stop_locked(reason, std::move(cause));
  });
}

// ---------------------------------------------------------------------------
// Noticing the exit

void ChildState::watch_exit_locked() {
  if (exit_watch_ || exit_poll_ || phase_ != Phase::running) return;
  // One-shot: a pidfd is readable once, when the child exits; the entry
  // goes from the epoll set with the pidfd, so no second epoll_ctl.
  auto self = shared_from_this();
  auto w = loop_.watch(id_.pidfd.get(), EPOLLIN | EPOLLONESHOT, [self](std::uint32_t) { self->on_exit_ready(); });
  if (w) {
    exit_watch_ = *w;
    return;
  }
  // The loop cannot take the pidfd (ENOMEM, ENOSPC): look now and then instead.
  exit_poll_ = arm_timer_locked(loop_, kExitPoll, &ChildState::on_exit_ready);
}

void ChildState::on_exit_ready() {
  Change change{*this};
  exit_poll_ = 0;
  if (!try_reap_locked() && phase_ == Phase::running && !exit_watch_) {
    exit_poll_ = arm_timer_locked(loop_, kExitPoll, &ChildState::on_exit_ready);
  }
}

bool ChildState::try_reap_locked() {
  if (phase_ != Phase::running) return false;
  siginfo_t info{};
  struct rusage ru {};
  sys::Ret r = sys::waitid_pidfd(id_.pidfd.get(), &info, WEXITED | WNOHANG, &ru);
  if (r.ok() && info.si_pid == 0) return false;  // not yet
  // On error (ECHILD: someone else reaped our child) the status stays unknown.
  reaped_locked(info, ru, r.ok());
  return true;
}

void ChildState::reaped_locked(const siginfo_t& info, const struct rusage& ru, bool ok) {
  if (ok) {
    // In a PID namespace the leader is procctx's init: the command's own end is what it reported.
    result_.status = tree_.command_status().value_or(status_of(info));
    result_.rusage = {from_timeval(ru.ru_utime), from_timeval(ru.ru_stime), ru.ru_maxrss};
  }
  result_.wall = now() - id_.started;
  phase_ = Phase::exited;
  tree_.leader_reaped();
  if (trace::on()) trace::exited(id_.pid, result_.status);
  // The pidfd itself stays open until the state goes: waiters may be
  // blocked on it, and signals through it can never reach a recycled pid.
  loop_.unwatch(std::exchange(exit_watch_, 0), -1);
  if (exit_poll_) timers_.cancel_timer(std::exchange(exit_poll_, 0));
  after_reap_locked();
}

void ChildState::after_reap_locked() {
  if (stop_.begun()) {
    stop_.leader_gone(*this);  // mid-sequence: it ends as soon as the tree is gone
  } else if (tree_.mode() != Tree::none && tree_.alive()) {
    // It exited by itself but left processes in its tree.
    result_.leftovers = tree_.members();
    if (tree_.policy() == Leftovers::kill) {
      keep_alive_ = shared_from_this();
      stop_.start(id_.stop, *this);
      stop_.leader_gone(*this);
    }
  }
  if (pumps_[0].open() || pumps_[1].open()) arm_wait_delay_locked();
}

// ---------------------------------------------------------------------------
// Pipes

void ChildState::on_stream(int stream) {
  Change change{*this};
  handle_read_locked(stream, pumps_[stream].drain());
}

void ChildState::on_relay_ready(int stream) {
  Change change{*this};
  if (!pumps_[stream].paused()) return;  // gone meanwhile, or delivered: Change re-checks the end
  pumps_[stream].resume();
  handle_read_locked(stream, pumps_[stream].drain());
}

void ChildState::handle_read_locked(int stream, OutputPump::Read r) {
  if (r == OutputPump::Read::eof && trace::on()) trace::pipe_eof(id_.pid, stream, pumps_[stream].bytes_read());
  if (r == OutputPump::Read::broken_pipe) on_broken_pipe_locked(stream);
}

void ChildState::on_broken_pipe_locked(int stream) {
  // As in a shell pipeline, the child's next write fails (most die of
  // that SIGPIPE at once); what still runs after wait_delay is stopped.
  if (broken_timer_ || stop_.begun()) return;
  std::string why = std::string{"the reader of "} + stream_name(stream) + " went away";
  std::weak_ptr<ChildState> weak = weak_from_this();
  auto t = timers_.add_timer(timers_.now() + id_.wait_delay, [weak, why] {
    if (auto c = weak.lock()) {
      Change change{*c};
      c->broken_timer_ = 0;
      c->begin_stop_locked(StopReason::broken_pipe, why);
    }
  });
  if (t)
    broken_timer_ = *t;
  else
    begin_stop_locked(StopReason::broken_pipe, why);
}

void ChildState::arm_wait_delay_locked() {
  // Others may still hold the pipes: give them wait_delay, then close our
  // ends and say who held them.
  if (delay_timer_) return;
  if (id_.wait_delay > Duration::zero()) delay_timer_ = arm_timer_locked(timers_, id_.wait_delay, &ChildState::on_wait_delay);
  if (!delay_timer_) give_up_pipes_locked();
}

void ChildState::on_wait_delay() {
  Change change{*this};
  delay_timer_ = 0;
  // A relay held up by its slow reader is not waiting on a pipe holder:
  // it gets the delay again, from now.
  for (const auto& p : pumps_) {
    if (p.paused()) {
      arm_wait_delay_locked();
      if (delay_timer_) return;
    }
  }
  if (trace::on()) {
    std::string open;
    for (int i = 0; i < 2; ++i) {
      if (pumps_[i].open()) open += std::string{open.empty() ? "" : ","} + stream_name(i);
    }
    trace::wait_delay_expired(id_.pid, open, id_.wait_delay);
  }
  give_up_pipes_locked();
}

void ChildState::give_up_pipes_locked() {
  if (delay_timer_) timers_.cancel_timer(std::exchange(delay_timer_, 0));
  for (int i = 0; i < 2; ++i) {
    OutputPump& p = pumps_[i];
    if (!p.open()) continue;
    auto holders = proc::pipe_holders(p.fd());
    if (trace::on()) trace::pipe_held(id_.pid, i, holders);
    for (auto& h : holders) {
      bool seen = std::any_of(result_.pipe_holders.begin(), result_.pipe_holders.end(),
                              [&](const PipeHolder& o) { return o.pid == h.pid; });
      if (!seen) result_.pipe_holders.push_back(std::move(h));
    }
    p.give_up();
  }
}

// ---------------------------------------------------------------------------
// Stopping

void ChildState::begin_stop_locked(StopReason reason, std::string cause) {
  if (phase_ == Phase::finished || stop_.begun()) return;
  // Whatever exited by itself before the stop is not stopped by it.
  (void)try_reap_locked();
  if (stop_.begun() || (phase_ == Phase::exited && pipes_done())) return;
  result_.stop_reason = reason;
  result_.cause = std::move(cause);
  if (trace::on()) trace::stop_begun(id_.pid, reason, result_.cause);
  if (!tree_.alive()) {
    // Only our pipe ends are left waiting; the context allows no more.
    stop_.mark_begun();
    give_up_pipes_locked();
    return;
  }
  watch_exit_locked();  // the sequence must hear of the leader's exit
  // The sequence runs to its end even if every handle is dropped and the
  // leader is already reaped (then nothing else holds this state).
  keep_alive_ = shared_from_this();
  // While the leader lives its descendants can still be found; those that
  // left the group are reported (and, with Leftovers::kill, stopped too).
  tree_.find_escapees();
  stop_.start(id_.stop, *this);
  if (phase_ != Phase::running) stop_.leader_gone(*this);
}

bool ChildState::tree_alive() { return tree_.alive(); }

void ChildState::send_step(int sig, int stage) {
  SignalSent sent{sig, now() - id_.started, tree_.mode()};
  if (id_.on_stop_signal) id_.on_stop_signal(sent);
  tree_.send_step(sig);
  result_.signals.push_back(sent);
  if (trace::on()) trace::signal_sent(id_.pid, sig, stage, "stop sequence", tree_.mode(), needs_continue(sig));
}

Timers::Id ChildState::arm(Duration after, StopTimer which) {
  std::weak_ptr<ChildState> weak = weak_from_this();
  // A step's wait is the user's time (a test clock may move it); a poll of
  // the tree is procctx's own and always real time.
  Timers& on = which == StopTimer::poll ? static_cast<Timers&>(loop_) : timers_;
  auto t = on.add_timer(on.now() + after, [weak, which] {
    if (auto c = weak.lock()) {
      Change change{*c};
      c->stop_.on_timer(which, *c);
    }
  });
  return t ? *t : 0;
}

// timers_ also cancels the loop's own (a test clock passes them on).
void ChildState::disarm(Timers::Id id) { timers_.cancel_timer(id); }

Timers::Id ChildState::arm_timer_locked(Timers& on, Duration after, void (ChildState::*fn)()) {
  std::weak_ptr<ChildState> weak = weak_from_this();
  auto t = on.add_timer(on.now() + after, [weak, fn] {
    if (auto c = weak.lock()) ((*c).*fn)();
  });
  return t ? *t : 0;
}

// ---------------------------------------------------------------------------
// Finishing

bool ChildState::pipes_done() const {
  for (const auto& p : pumps_) {
    if (p.open() || p.delivering()) return false;
  }
  return true;
}

Finished ChildState::advance_locked() {
  if (phase_ != Phase::exited || !pipes_done() || stop_.active()) return {};
  return finish_locked();
}

Finished ChildState::finish_locked() {
  if (feed_.open()) feed_.close();
  result_.stdin_written = feed_.written();
  result_.stdin_closed_early = feed_.closed_early();
  for (Timers::Id* t : {&delay_timer_, &broken_timer_, &exit_poll_}) {
    if (*t) timers_.cancel_timer(std::exchange(*t, 0));
  }
  stop_.cancel(*this);
  result_.out = pumps_[0].finish();
  result_.err = pumps_[1].finish();
  if (result_.stop_reason != StopReason::none || !result_.signals.empty()) result_.stop_stage = stop_.stage();
  for (auto& e : tree_.take_live_escapees()) result_.leftovers.push_back(std::move(e));
  result_.oom_killed = tree_.release_leaf();
  if (trace::on()) trace::finished(span_, result_);
  phase_ = Phase::finished;
  finished_cv_.notify_all();
  Finished f;
  f.registration = std::move(context_);
  f.callbacks = std::move(on_exit_);
  f.loop = &loop_;
  // Released only after the caller unlocks: it may be the last reference.
  if (keep_alive_ || !f.callbacks.empty()) f.keep = keep_alive_ ? std::move(keep_alive_) : shared_from_this();
  return f;
}

// ---------------------------------------------------------------------------
// What Process does

const Completed& ChildState::wait() {
  std::unique_lock lock{mu_};
  if (phase_ == Phase::running) {
    // Wait in the kernel for the exit without reaping (WNOWAIT), then reap
    // here: the common case needs no hop through the loop thread. Whoever
    // takes the lock first reaps; the other only sees it done.
    lock.unlock();
    siginfo_t info{};
    (void)sys::waitid_pidfd(id_.pidfd.get(), &info, WEXITED | WNOWAIT, nullptr);
    {
      Change change{*this};
      (void)try_reap_locked();
    }
    lock.lock();
  }
  finished_cv_.wait(lock, [&] { return phase_ == Phase::finished; });
  collected_ = true;
  return result_;
}

const Completed* ChildState::try_wait() {
  {
    Change change{*this};
    (void)try_reap_locked();
  }
  std::lock_guard lock{mu_};
  if (phase_ != Phase::finished) return nullptr;
  collected_ = true;
  return &result_;
}

const Completed* ChildState::wait_for(Duration d) {
  auto until = Clock::now() + d;
  std::unique_lock lock{mu_};
  if (phase_ == Phase::running) {
    lock.unlock();
    auto ms = std::chrono::ceil<std::chrono::milliseconds>(d).count();
    (void)sys::poll_one(id_.pidfd.get(), POLLIN, static_cast<int>(std::clamp<decltype(ms)>(ms, 0, 1 << 30)));
    {
      Change change{*this};
      (void)try_reap_locked();
    }
    lock.lock();
  }
  if (!finished_cv_.wait_until(lock, until, [&] { return phase_ == Phase::finished; })) return nullptr;
  collected_ = true;
  return &result_;
}

Completed ChildState::take_outcome() {
  std::lock_guard lock{mu_};
  return std::move(result_);
}

Result<void> ChildState::signal(int sig) {
  std::lock_guard lock{mu_};
  if (phase_ != Phase::running) return Error{make_error_code(errc::process_exited), "signal: process already exited"};
  sys::Ret r = sys::pidfd_send_signal(id_.pidfd.get(), sig);
  if (!r.ok()) return sys::error(r, "pidfd_send_signal " + signal_name(sig));
  if (trace::on()) trace::signal_sent(id_.pid, sig, -1, "Process::signal()", Tree::none, false);
  return {};
}

Result<void> ChildState::signal_tree(int sig) {
  std::lock_guard lock{mu_};
  if (phase_ == Phase::finished || !tree_.alive()) {
    return Error{make_error_code(errc::process_exited), "signal_tree: process already exited"};
  }
  return tree_.signal(sig);
}

Result<void> ChildState::kill() {
  Change change{*this};
  // A finished outcome never changes again (others may be reading it).
  if (phase_ == Phase::finished || !tree_.alive()) {
    return Error{make_error_code(errc::process_exited), "kill: process already exited"};
  }
  if (!stop_.begun()) {
    stop_.mark_begun();
    result_.stop_reason = StopReason::requested;
    result_.cause = "Process::kill()";
  }
  auto r = tree_.signal(SIGKILL);
  if (r) result_.signals.push_back({SIGKILL, now() - id_.started, tree_.mode()});
  if (r && trace::on()) trace::signal_sent(id_.pid, SIGKILL, -1, "Process::kill()", tree_.mode(), false);
  return r;
}

void ChildState::stop() {
  Change change{*this};
  begin_stop_locked(StopReason::requested, "Process::stop()");
}

void ChildState::detach() {
  Change change{*this};
  holder_ = Holder::detached;
  watch_exit_locked();  // still reaped when it exits
}

void ChildState::drop() {
  {
    std::lock_guard lock{mu_};
    if (phase_ == Phase::finished || holder_ == Holder::detached) return;
    holder_ = Holder::dropped;
    // Said now: the loop may let this state go only after the report at exit.
    note_leak_once();
  }
  // The stop runs on the loop: the destructor never waits for it. The
  // closure holds the state until the loop has taken the child.
  loop_.post([c = shared_from_this()] {
    Change change{*c};
    c->begin_stop_locked(StopReason::dropped, "Process destroyed while running");
  });
}

void ChildState::on_exit(std::function<void(const Completed&)> fn) {
  {
    Change change{*this};
    collected_ = true;  // the caller will be told: that is waiting too
    if (phase_ != Phase::finished) {
      on_exit_.push_back(std::move(fn));
      watch_exit_locked();
      return;
    }
  }
  loop_.post([c = shared_from_this(), fn = std::move(fn)] { fn(c->result_); });
}

// ---------------------------------------------------------------------------
// Diagnostics

ChildInfo ChildState::info(TimePoint at) {
  {
    Change change{*this};
    if (!exit_watch_) (void)try_reap_locked();  // nobody else is looking: see for ourselves
  }
  std::lock_guard lock{mu_};
  ChildInfo i;
  i.pid = id_.pid;
  i.argv = id_.argv;
  i.state = phase_ != Phase::running ? ChildInfo::State::exited
                                     : (stop_.begun() ? ChildInfo::State::stopping : ChildInfo::State::running);
  i.age = at - id_.started;
  i.tree = tree_.mode();
  i.dropped = holder_ == Holder::dropped;
  i.detached = holder_ == Holder::detached;
  i.collected = collected_;
  i.spawned_at = id_.where;
  i.pipe_holders = result_.pipe_holders;
  return i;
}

void ChildState::add_to(Stats& s) {
  {
    Change change{*this};
    if (!exit_watch_) (void)try_reap_locked();
  }
  std::lock_guard lock{mu_};
  ++s.children;
  if (phase_ == Phase::running) ++s.running;
  if (phase_ == Phase::finished && !collected_ && holder_ == Holder::held) ++s.uncollected;
  if (holder_ == Holder::dropped) ++s.dropped;
  if (holder_ == Holder::detached) ++s.detached;
  s.pipe_fds += (pumps_[0].open() ? 1u : 0u) + (pumps_[1].open() ? 1u : 0u) + (feed_.open() ? 1u : 0u);
}

bool ChildState::unseen() const noexcept { return !collected_ && holder_ != Holder::detached; }

void ChildState::note_leak_once() {
  if (!leak_debug::enabled() || !unseen() || leak_noted_.exchange(true)) return;
  leak_debug::record("procctx: leak: " + describe() + ": never waited for nor detached");
}

std::string ChildState::describe() const {
  std::string line = "pid " + std::to_string(id_.pid) + " (";
  for (std::size_t i = 0; i < id_.argv.size(); ++i) line += (i ? " " : "") + id_.argv[i];
  line += "), spawned at " + std::string{id_.where.file_name()} + ":" + std::to_string(id_.where.line()) + " in " +
          id_.where.function_name();
  return line;
}

}  // namespace procctx::detail
