#include "child_linux.hpp"

#include <procctx/diagnostics.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>

#include <csignal>

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

namespace procctx {

std::vector<ProcessRef> pipe_holders(int fd) {
  std::vector<ProcessRef> holders;
  struct stat st;
  if (::fstat(fd, &st) != 0) return holders;
  std::string want = "pipe:[" + std::to_string(st.st_ino) + "]";
  std::error_code ec;
  pid_t self = ::getpid();
  for (const auto& proc : std::filesystem::directory_iterator("/proc", ec)) {
    const std::string name = proc.path().filename().string();
    if (name.empty() || !std::isdigit(static_cast<unsigned char>(name[0]))) continue;
    pid_t pid = static_cast<pid_t>(std::stol(name));
    if (pid == self) continue;
    std::error_code fec;
    for (const auto& f : std::filesystem::directory_iterator(proc.path() / "fd", fec)) {
      std::error_code lec;
      if (std::filesystem::read_symlink(f.path(), lec).string() == want) {
        std::string comm;
        std::ifstream{proc.path() / "comm"} >> comm;
        holders.push_back({pid, comm});
        break;
      }
    }
  }
  return holders;
}


namespace detail {
namespace {

Duration from_timeval(const timeval& tv) {
  return std::chrono::duration_cast<Duration>(std::chrono::seconds(tv.tv_sec) +
                                              std::chrono::microseconds(tv.tv_usec));
}

}  // namespace

namespace {
// One line of /proc/PID/stat, the fields procctx needs.
struct ProcInfo {
  pid_t pid = 0, pgrp = 0;
  char state = '?';
  std::string name;
  bool live() const noexcept { return state != 'Z' && state != 'X'; }
};

std::optional<ProcInfo> read_stat(pid_t pid) {
  std::ifstream in{"/proc/" + std::to_string(pid) + "/stat"};
  std::string stat;
  std::getline(in, stat);
  // "pid (comm) state ppid pgrp ...": comm may hold anything but ')'.
  auto open = stat.find('('), close = stat.rfind(')');
  if (open == std::string::npos || close == std::string::npos || close + 2 >= stat.size())
    return std::nullopt;
  int ppid = 0, pgrp = 0;
  if (std::sscanf(stat.c_str() + close + 3, " %d %d", &ppid, &pgrp) != 2) return std::nullopt;
  return ProcInfo{pid, pgrp, stat[close + 2], stat.substr(open + 1, close - open - 1)};
}

// Every live descendant of `root`, following /proc/PID/task/TID/children:
// the cost grows with the tree, not with the processes on the machine.
std::vector<ProcInfo> descendants(pid_t root) {
  std::vector<ProcInfo> out;
  std::vector<pid_t> frontier{root};
  while (!frontier.empty()) {
    pid_t parent = frontier.back();
    frontier.pop_back();
    std::error_code ec;
    auto tasks = std::filesystem::path{"/proc"} / std::to_string(parent) / "task";
    for (const auto& task : std::filesystem::directory_iterator(tasks, ec)) {
      std::ifstream children{task.path() / "children"};
      for (pid_t child; children >> child;) {
        auto info = read_stat(child);
        if (!info || !info->live()) continue;
        out.push_back(std::move(*info));
        frontier.push_back(child);
      }
    }
  }
  return out;
}
}  // namespace

// Members of process group `pgid` that are not zombies, from /proc.
std::vector<ProcessRef> group_members(pid_t pgid) {
  std::vector<ProcessRef> out;
  std::error_code ec;
  for (const auto& proc : std::filesystem::directory_iterator("/proc", ec)) {
    const std::string name = proc.path().filename().string();
    if (name.empty() || !std::isdigit(static_cast<unsigned char>(name[0]))) continue;
    auto info = read_stat(static_cast<pid_t>(std::stol(name)));
    if (info && info->pgrp == pgid && info->live()) out.push_back({info->pid, info->name});
  }
  return out;
}

namespace {
// Every ChildState alive, for stats() and snapshot(); and, with
// PROCCTX_DEBUG=leaks, every child that went without being waited for.
// Never destroyed: the loop thread may still release children while static
// destructors run.
struct Registry {
  std::mutex mu;
  std::vector<ChildState*> children;
  bool debug_leaks = false;
  std::vector<std::string> leaks;  // one line each, printed at exit
};

Registry* registry_ptr();

std::string describe_leak(const ChildState& c) {
  std::string line = "procctx: leak: pid " + std::to_string(c.pid) + " (";
  for (std::size_t i = 0; i < c.argv.size(); ++i) line += (i ? " " : "") + c.argv[i];
  line += ") was never waited for nor detached; spawned at ";
  line += std::string{c.where.file_name()} + ":" + std::to_string(c.where.line()) + " in " +
          c.where.function_name();
  return line;
}

void report_leaks_at_exit() {
  auto& r = *registry_ptr();
  std::lock_guard lock{r.mu};
  for (ChildState* c : r.children) {
    if (!c->collected && !c->detached) r.leaks.push_back(describe_leak(*c));
  }
  for (const auto& l : r.leaks) std::fprintf(stderr, "%s\n", l.c_str());
}

Registry& registry() { return *registry_ptr(); }

Registry* registry_ptr() {
  static Registry* r = [] {
    auto* reg = new Registry;
    const char* debug = std::getenv("PROCCTX_DEBUG");
    reg->debug_leaks = debug && std::string_view{debug}.find("leaks") != std::string_view::npos;
    if (reg->debug_leaks) std::atexit(report_leaks_at_exit);
    return reg;
  }();
  return r;
}
}  // namespace

ChildState::ChildState() {
  Registry& r = registry();
  std::lock_guard lock{r.mu};
  r.children.push_back(this);
}

ChildState::~ChildState() {
  if (leaf) cgroup::release(*leaf);  // never leave a leaf behind
  Registry& r = registry();
  std::lock_guard lock{r.mu};
  std::erase(r.children, this);
  // A spawn that failed never had a caller to wait; that is not a leak.
  if (r.debug_leaks && pid > 0 && !collected && !detached) {
    r.leaks.push_back(describe_leak(*this));
  }
}

void for_each_child(const std::function<void(ChildState&)>& fn) {
  Registry& r = registry();
  std::lock_guard lock{r.mu};
  for (ChildState* c : r.children) fn(*c);
}

void ChildState::find_escapees_locked() {
  for (auto& d : descendants(pid)) {
    if (d.pgrp == pid) continue;
    long fd = ::syscall(SYS_pidfd_open, d.pid, 0);
    if (fd < 0) continue;  // gone already
    escapees.push_back({{d.pid, d.name}, sys::UniqueFd{static_cast<int>(fd)}});
  }
}

bool ChildState::escapee_alive(const Escapee& e) const {
  // A pidfd of a process that is not our child turns readable when it exits.
  pollfd p{e.pidfd.get(), POLLIN, 0};
  return ::poll(&p, 1, 0) == 0;
}

namespace {
constexpr std::size_t kHeapCaptureMax = 256 * 1024;
constexpr std::size_t kPage = 4096;
std::size_t page_round(std::size_t n) { return (n + kPage - 1) / kPage * kPage; }
}  // namespace

Capture& Capture::operator=(Capture&& o) noexcept {
  if (this != &o) {
    release();
    limit_ = o.limit_;
    half_ = o.half_;
    buf_ = std::exchange(o.buf_, nullptr);
    cap_ = std::exchange(o.cap_, 0);
    mapped_ = o.mapped_;
    len_ = o.len_;
    ring_ = o.ring_;
    ring_pos_ = o.ring_pos_;
    dropped_ = o.dropped_;
  }
  return *this;
}

void Capture::release() noexcept {
  if (!buf_) return;
  if (mapped_)
    ::munmap(buf_, cap_);
  else
    delete[] buf_;
  buf_ = nullptr;
  cap_ = 0;
}

void Capture::grow() {
  std::size_t want = std::min(limit_, std::max<std::size_t>(cap_ * 2, 16 * 1024));
  if (want <= kHeapCaptureMax) {
    char* grown = new char[want];
    if (len_) std::memcpy(grown, buf_, len_);
    delete[] buf_;
    buf_ = grown;
    cap_ = want;
    return;
  }
  want = page_round(want);
  void* p;
  if (!mapped_) {
    p = ::mmap(nullptr, want, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw std::bad_alloc();
    if (len_) std::memcpy(p, buf_, len_);
    delete[] buf_;
    mapped_ = true;
  } else {
    p = ::mremap(buf_, cap_, want, MREMAP_MAYMOVE);
    if (p == MAP_FAILED) throw std::bad_alloc();
  }
  ::madvise(p, want, MADV_HUGEPAGE);  // a hint: ignored where THP is off
  buf_ = static_cast<char*>(p);
  cap_ = want;
}

std::span<char> Capture::space() {
  if (!ring_) {
    if (len_ == limit_) {
      if (limit_ == 0) return {};
      // Full: from now on the bytes after the head form a ring of the tail.
      ring_ = true;
      ring_pos_ = 0;
    } else {
      if (len_ == cap_) {
        try {
          grow();
        } catch (const std::bad_alloc&) {
          // No memory for more: keep what fits as head and tail from here on.
          limit_ = cap_;
          half_ = limit_ / 2;
          return space();
        }
      }
      return {buf_ + len_, std::min(cap_, limit_) - len_};
    }
  }
  std::size_t ring_size = limit_ - half_;
  if (ring_size == 0) return {};
  return {buf_ + half_ + ring_pos_, ring_size - ring_pos_};
}

void Capture::commit(std::size_t n) noexcept {
  if (!ring_) {
    len_ += n;
    return;
  }
  dropped_ += n;
  ring_pos_ = (ring_pos_ + n) % (limit_ - half_);
}

Output Capture::finish() {
  std::size_t size = len_, cut = std::string::npos;
  if (ring_) {
    // Put the tail in order in place: the oldest ring byte is at ring_pos_.
    std::size_t ring_size = limit_ - half_;
    if (buf_ && ring_size) std::rotate(buf_ + half_, buf_ + half_ + ring_pos_, buf_ + half_ + ring_size);
    size = limit_ == 0 ? 0 : half_ + ring_size;
    cut = half_;
  }
  std::shared_ptr<const char[]> storage;
  if (buf_) {
    char* p = std::exchange(buf_, nullptr);
    std::size_t cap = std::exchange(cap_, 0);
    if (mapped_)
      storage =
          std::shared_ptr<const char[]>(p, [cap](const char* q) { ::munmap(const_cast<char*>(q), cap); });
    else
      storage = std::shared_ptr<const char[]>(p, [](const char* q) { delete[] q; });
  }
  Output out{std::move(storage), size, ring_ ? dropped_ : 0, cut};
  len_ = 0;
  return out;
}

void ChildState::on_pidfd() {
  Finished done;
  std::lock_guard lock{mu};
  if (reap_locked()) done = maybe_finish_locked();
}

bool ChildState::reap_locked() {
  if (reaped) return false;
  siginfo_t info{};
  struct rusage ru {};
  sys::Ret r = sys::call(sys::Call::waitid, [&] {
    return ::syscall(SYS_waitid, P_PIDFD, pidfd.get(), &info, WEXITED | WNOHANG, &ru);
  });
  if (r.ok() && info.si_pid == 0) return false;  // not yet: spurious wake-up
  if (r.ok()) {
    switch (info.si_code) {
      case CLD_EXITED:
        result.status = ExitStatus::exited_with(info.si_status);
        break;
      case CLD_KILLED:
        result.status = ExitStatus::killed_by(info.si_status);
        break;
      case CLD_DUMPED:
        result.status = ExitStatus::killed_by(info.si_status, true);
        break;
      default:
        break;
    }
    result.rusage.user = from_timeval(ru.ru_utime);
    result.rusage.system = from_timeval(ru.ru_stime);
    result.rusage.max_rss_kib = ru.ru_maxrss;
  }
  // On error (ECHILD: someone else reaped our child) the status stays unknown.
  result.wall = Clock::now() - started;
  reaped = true;
  if (trace::on()) trace::exited(*this);
  // The pidfd itself stays open until the state goes: waiters may be
  // blocked on it, and signals through it can never reach a recycled pid.
  loop->unwatch(std::exchange(pid_watch, 0), pidfd.get());

  if (stopping) {
    // Mid-sequence: it ends as soon as the whole tree is gone.
    if (sequence_running) schedule_poll_locked();
  } else if (tree != Tree::none && tree_alive_locked()) {
    // It exited by itself but left processes in its tree.
    result.leftovers = tree_members_locked();
    if (leftover_policy == Leftovers::kill) start_sequence_locked();
  }

  if (streams[0].fd || streams[1].fd) {
    // Others may still hold the pipes: give them wait_delay, then close
    // our ends and say who held them.
    std::weak_ptr<ChildState> weak = weak_from_this();
    auto t = wait_delay > Duration::zero() ? loop->add_timer(Clock::now() + wait_delay,
                                                             [weak] {
                                                               if (auto s = weak.lock()) s->on_wait_delay();
                                                             })
                                           : Result<Loop::Id>{Loop::Id{0}};
    if (t && *t)
      delay_timer = *t;
    else
      on_wait_delay_locked();
  }
  return true;
}

void ChildState::on_wait_delay() {
  Finished done;
  {
    std::lock_guard lock{mu};
    delay_timer = 0;
    // A relay held up by its slow reader is not waiting on a pipe holder:
    // give it the delay again, from now.
    for (const Stream& st : streams) {
      if (st.fd && st.relay && st.relay->paused()) {
        std::weak_ptr<ChildState> weak = weak_from_this();
        auto t = loop->add_timer(Clock::now() + wait_delay, [weak] {
          if (auto c = weak.lock()) c->on_wait_delay();
        });
        if (t) {
          delay_timer = *t;
          return;
        }
      }
    }
    if (trace::on()) trace::wait_delay_expired(*this);
    on_wait_delay_locked();
    done = maybe_finish_locked();
  }
}

void ChildState::on_wait_delay_locked() {
  for (int i = 0; i < 2; ++i) {
    if (!streams[i].fd) continue;
    // Read what is already there (bounded: a holder may still be writing),
    // then find who else holds the pipe.
    drain_locked(i);
    if (!streams[i].fd) continue;
    auto holders = procctx::pipe_holders(streams[i].fd.get());
    if (trace::on()) trace::pipe_held(*this, i, holders);
    for (auto& h : holders) {
      bool seen = std::any_of(result.pipe_holders.begin(), result.pipe_holders.end(),
                              [&](const PipeHolder& o) { return o.pid == h.pid; });
      if (!seen) result.pipe_holders.push_back(std::move(h));
    }
    if (streams[i].relay) {
      streams[i].relay->end();
      streams[i].relay->give_up();  // no more waiting on its reader either
    }
    close_stream_locked(i);
  }
}

void ChildState::on_stream(int i) {
  Finished done;
  {
    std::lock_guard lock{mu};
    drain_locked(i);
    done = maybe_finish_locked();
  }
}

namespace {
constexpr std::uint64_t kWidenAfter = std::uint64_t{4} << 20;
constexpr int kWidePipe = 1 << 20;
}  // namespace

void ChildState::drain_locked(int i) {
  Stream& s = streams[i];
  // Bounded per wake-up so one chatty child cannot starve the others.
  std::size_t budget = std::size_t{4} << 20;
  static thread_local char scratch[64 * 1024];
  while (s.fd && budget > 0) {
    if (s.relay && s.relay->paused()) return;
    std::span<char> space = s.relay ? std::span<char>{} : s.capture.space();
    bool discard = space.empty();
    if (discard) space = {scratch, sizeof scratch};
    std::size_t want = std::min(space.size(), budget);
    sys::Ret r = sys::call(sys::Call::read, [&] { return ::read(s.fd.get(), space.data(), want); });
    if (!r.ok()) {
      if (r.err == EAGAIN) return;
      close_stream_locked(i);  // EIO and friends: treat as the end
      return;
    }
    if (r.value == 0) {
      if (trace::on()) trace::pipe_eof(*this, i);
      if (s.relay) s.relay->end();
      close_stream_locked(i);
      return;
    }
    auto n = static_cast<std::size_t>(r.value);
    if (s.relay) {
      if (!s.relay->take({space.data(), n})) relay_refused_locked(i);
    } else if (discard) {
      s.capture.count_discarded(n);
    } else {
      s.capture.commit(n);
    }
    budget -= n;
    s.read += n;
    if (!s.widened && s.read >= kWidenAfter) {
      // A heavy writer: a 1 MiB pipe means 16x fewer wake-ups. Only such
      // pipes get it, since unprivileged users share a budget of pipe pages
      // (fs.pipe-user-pages-soft). Refusal just keeps the default.
      s.widened = true;
      (void)sys::call(sys::Call::fcntl, [&] { return ::fcntl(s.fd.get(), F_SETPIPE_SZ, kWidePipe); });
    }
  }
}

void ChildState::relay_refused_locked(int i) {
  Stream& s = streams[i];
  if (!s.relay->sink().error()) {
    // Backed up: the child waits on its pipe until the sink drains.
    s.relay->set_paused(true);
    (void)loop->set_events(s.watch, s.fd.get(), 0);
    return;
  }
  if (!s.relay->sink().broken() || s.on_broken_pipe == BrokenPipe::ignore) return;  // read on, dropping
  // Its reader went away: as in a shell pipeline, the child's next write
  // fails (most die of that SIGPIPE at once); what is still running after
  // wait_delay is stopped.
  close_stream_locked(i);
  std::string why = std::string{"the reader of "} + (i == 0 ? "stdout" : "stderr") + " went away";
  if (broken_timer) return;
  std::weak_ptr<ChildState> weak = weak_from_this();
  auto t = loop->add_timer(Clock::now() + wait_delay, [weak, why] {
    if (auto c = weak.lock()) {
      Finished done;
      std::lock_guard lock{c->mu};
      c->broken_timer = 0;
      c->begin_stop_locked(StopReason::broken_pipe, why);
      done = c->maybe_finish_locked();
    }
  });
  if (t)
    broken_timer = *t;
  else
    begin_stop_locked(StopReason::broken_pipe, why);
}

void ChildState::on_relay_ready(int i) {
  Finished done;
  std::lock_guard lock{mu};
  Stream& s = streams[i];
  if (s.fd && s.relay && s.relay->paused()) {
    s.relay->set_paused(false);
    (void)loop->set_events(s.watch, s.fd.get(), EPOLLIN);
    drain_locked(i);
  }
  done = maybe_finish_locked();
}

void ChildState::on_feed() {
  std::lock_guard lock{mu};
  while (feed.fd) {
    const std::string& bytes = *feed.bytes;
    if (feed.offset == bytes.size()) {
      close_feed_locked();
      return;
    }
    std::size_t chunk = std::min<std::size_t>(bytes.size() - feed.offset, 1 << 20);
    sys::Ret r = sys::call(sys::Call::write,
                           [&] { return ::write(feed.fd.get(), bytes.data() + feed.offset, chunk); });
    if (!r.ok()) {
      if (r.err == EAGAIN) return;
      // EPIPE: the child (and everyone else) closed stdin. Not fatal.
      result.stdin_closed_early = true;
      close_feed_locked();
      return;
    }
    feed.offset += static_cast<std::size_t>(r.value);
    result.stdin_written = feed.offset;
  }
}

void ChildState::close_stream_locked(int i) noexcept {
  Stream& s = streams[i];
  if (!s.fd) return;
  loop->unwatch(std::exchange(s.watch, 0), s.fd.get());
  s.fd.reset();
}

void ChildState::close_feed_locked() noexcept {
  if (!feed.fd) return;
  loop->unwatch(std::exchange(feed.watch, 0), feed.fd.get());
  feed.fd.reset();
  feed.bytes.reset();
}

Finished& Finished::operator=(Finished&& o) noexcept {
  if (this != &o) {
    run();
    registration_ = std::move(o.registration_);
    callbacks_ = std::move(o.callbacks_);
    child_ = std::move(o.child_);
  }
  return *this;
}

void Finished::run() noexcept {
  registration_.reset();
  if (callbacks_.empty() || !child_) return;
  auto callbacks = std::move(callbacks_);
  auto child = std::move(child_);
  auto invoke = [callbacks = std::move(callbacks), child]() {
    for (const auto& fn : callbacks) fn(child->result);
  };
  // on_exit callbacks run on the loop thread, as documented, even when a
  // waiter's thread noticed the exit first.
  if (child->loop->on_loop_thread())
    invoke();
  else
    child->loop->post(std::move(invoke));
}

Finished ChildState::maybe_finish_locked() {
  if (finished || !reaped || streams[0].fd || streams[1].fd || sequence_running) return {};
  for (const Stream& st : streams) {
    if (st.relay && st.relay->pending()) return {};  // its last bytes are still on their way
  }
  if (feed.fd) {
    if (feed.offset < feed.bytes->size()) result.stdin_closed_early = true;
    close_feed_locked();
  }
  for (Loop::Id* t : {&delay_timer, &stop_timer, &poll_timer, &broken_timer}) {
    if (*t) loop->cancel_timer(std::exchange(*t, 0));
  }
  result.out = streams[0].relay ? streams[0].relay->finish() : streams[0].capture.finish();
  result.err = streams[1].relay ? streams[1].relay->finish() : streams[1].capture.finish();
  // The relays' sinks (and the fds they opened) go with their last user,
  // so the caller's reader sees EOF once every child is done.
  for (Stream& st : streams) st.relay.reset();
  if (result.stop_reason != StopReason::none || !result.signals.empty()) result.stop_stage = stop_stage;
  for (const auto& e : escapees) {
    if (escapee_alive(e)) result.leftovers.push_back(e.who);
  }
  escapees.clear();
  if (leaf) {
    result.oom_killed = cgroup::oom_killed(*leaf);
    cgroup::release(*leaf);  // survivors (Leftovers::leave) move to the parent
    leaf.reset();
  }
  if (trace::on()) trace::finished(*this);
  finished = true;
  cv.notify_all();
  Finished f;
  f.registration_ = std::move(on_ctx_done);
  f.callbacks_ = std::move(on_exit);
  // Released only after the caller unlocks: it may be the last reference.
  f.child_ = keep_alive ? std::move(keep_alive) : (f.callbacks_.empty() ? nullptr : shared_from_this());
  return f;
}

bool ChildState::tree_alive_locked() {
  if (!reaped) return true;
  switch (tree) {
    case Tree::none:
      return false;
    case Tree::cgroup:
      return leaf && cgroup::populated(*leaf);
    case Tree::process_group:
      if (leftover_policy == Leftovers::kill) {
        for (const auto& e : escapees) {
          if (escapee_alive(e)) return true;
        }
      }
      // Once seen empty, the group id may be reused by strangers: never
      // look at (or signal) it again.
      if (group_gone) return false;
      // One syscall in the common case of an empty group; a listing only
      // when something is there (it may be zombies waiting for their reaper).
      if (::kill(-pid, 0) != 0 || tree_members_locked().empty()) {
        group_gone = true;
        return false;
      }
      return true;
  }
  return false;
}

std::vector<ProcessRef> ChildState::tree_members_locked() {
  if (tree == Tree::cgroup) return leaf ? cgroup::members(*leaf) : std::vector<ProcessRef>{};
  if (tree == Tree::none) return {};
  return group_members(pid);
}

Result<void> ChildState::signal_tree_locked(int sig) {
  if (tree == Tree::cgroup && leaf) {
    return sig == SIGKILL ? cgroup::kill_all(*leaf) : cgroup::signal_all(*leaf, sig);
  }
  sys::Ret r;
  if (tree == Tree::none) {
    if (reaped) return Error{make_error_code(errc::process_exited), "process already exited"};
    r = sys::call(sys::Call::pidfd_send_signal,
                  [&] { return ::syscall(SYS_pidfd_send_signal, pidfd.get(), sig, nullptr, 0); });
  } else {
    // The leader directly too, in case it moved itself to another group.
    if (!reaped) ::syscall(SYS_pidfd_send_signal, pidfd.get(), sig, nullptr, 0);
    // The group id cannot be reused while the leader is unreaped (only this
    // loop reaps it) or while a member is left; once seen empty, never again.
    if (reaped && group_gone) return {};
    r = sys::call(sys::Call::kill, [&] { return ::kill(-pid, sig); });
    if (leftover_policy == Leftovers::kill) {
      for (const auto& e : escapees) ::syscall(SYS_pidfd_send_signal, e.pidfd.get(), sig, nullptr, 0);
    }
  }
  if (!r.ok() && r.err != ESRCH) return sys::error(r, "send " + signal_name(sig));
  return {};
}

void ChildState::post_stop(StopReason reason, std::string why) {
  std::weak_ptr<ChildState> weak = weak_from_this();
  loop->post([weak, reason, why = std::move(why)]() mutable {
    if (auto s = weak.lock()) {
      Finished done;
      std::lock_guard lock{s->mu};
      s->begin_stop_locked(reason, std::move(why));
      done = s->maybe_finish_locked();
    }
  });
}

void ChildState::begin_stop_locked(StopReason reason, std::string why) {
  if (finished || stopping) return;
  result.stop_reason = reason;
  result.cause = std::move(why);
  if (trace::on()) trace::stop_begun(*this);
  if (!tree_alive_locked()) {
    // Only our pipe ends are left waiting; the context allows no more.
    stopping = true;
    if (delay_timer) loop->cancel_timer(std::exchange(delay_timer, 0));
    on_wait_delay_locked();
    return;
  }
  start_sequence_locked();
}

void ChildState::start_sequence_locked() {
  // The sequence must run to its end even if every handle is dropped and
  // the leader is already reaped (then nothing else holds this state).
  keep_alive = shared_from_this();
  // While the leader lives its descendants can still be found; those that
  // left the group are reported (and, with Leftovers::kill, stopped too).
  if (tree == Tree::process_group && !reaped) find_escapees_locked();
  stopping = true;
  sequence_running = true;
  stop_stage = -1;
  next_stop_stage_locked();
  if (sequence_running && reaped) schedule_poll_locked();
}

void ChildState::next_stop_stage_locked() {
  const auto& steps = stop.steps();
  while (tree_alive_locked() && stop_stage + 1 < static_cast<int>(steps.size())) {
    ++stop_stage;
    const StopStep& step = steps[static_cast<std::size_t>(stop_stage)];
    SignalSent sent{step.signal, Clock::now() - started, tree};
    if (on_stop_signal) on_stop_signal(sent);
    (void)signal_tree_locked(step.signal);
    result.signals.push_back(sent);
    if (trace::on()) trace::signal_sent(*this, step.signal, stop_stage, "stop sequence");
    // A stopped child must run to act on the signal.
    if (step.signal != SIGKILL && step.signal != SIGCONT) (void)signal_tree_locked(SIGCONT);
    if (step.wait > Duration::zero()) {
      std::weak_ptr<ChildState> weak = weak_from_this();
      auto t = loop->add_timer(Clock::now() + step.wait, [weak] {
        if (auto s = weak.lock()) {
          Finished done;
          std::lock_guard lock{s->mu};
          s->stop_timer = 0;
          s->next_stop_stage_locked();
          done = s->maybe_finish_locked();
        }
      });
      if (t) {
        stop_timer = *t;
        return;
      }
      // No timer: skip the grace rather than never escalate.
    }
  }
  // Every step sent (the last one, SIGKILL, cannot be refused) or nothing
  // is left to signal.
  sequence_running = false;
}

// Polls a tree whose leader is gone (no pidfd tells when the rest go),
// backing off from 5 ms to 100 ms.
void ChildState::schedule_poll_locked() {
  if (poll_timer || !sequence_running) return;
  poll_interval = poll_interval == Duration::zero()
                      ? std::chrono::milliseconds(5)
                      : std::min<Duration>(poll_interval * 2, std::chrono::milliseconds(100));
  std::weak_ptr<ChildState> weak = weak_from_this();
  auto t = loop->add_timer(Clock::now() + poll_interval, [weak] {
    if (auto s = weak.lock()) s->on_poll();
  });
  if (t) poll_timer = *t;
}

void ChildState::on_poll() {
  Finished done;
  std::lock_guard lock{mu};
  poll_timer = 0;
  if (!sequence_running) return;
  if (tree_alive_locked()) {
    schedule_poll_locked();
    return;
  }
  sequence_running = false;
  if (stop_timer) loop->cancel_timer(std::exchange(stop_timer, 0));
  done = maybe_finish_locked();
}

}  // namespace detail

using detail::ChildState;
using detail::Finished;

std::string ExitStatus::to_string() const {
  switch (state_) {
    case State::unknown:
      return "unknown";
    case State::exited:
      return "exited " + std::to_string(value_);
    case State::killed:
      return "killed by " + signal_name(value_);
    case State::dumped:
      return "killed by " + signal_name(value_) + " (core dumped)";
  }
  return "unknown";
}

std::string_view to_string(StopReason r) noexcept {
  switch (r) {
    case StopReason::none:
      return "none";
    case StopReason::canceled:
      return "canceled";
    case StopReason::deadline:
      return "deadline";
    case StopReason::dropped:
      return "dropped";
    case StopReason::requested:
      return "requested";
    case StopReason::broken_pipe:
      return "broken_pipe";
  }
  return "?";
}

Result<void> Completed::check() const {
  if (status.success()) return {};
  std::string name = argv.empty() ? std::string{"process"} : "'" + argv[0] + "'";
  std::string message = name + " " + status.to_string();
  if (stop_reason != StopReason::none) {
    message += " (stopped by procctx: " + std::string{to_string(stop_reason)};
    if (!cause.empty()) message += ": " + cause;
    message += ")";
  }
  errc code = stop_reason == StopReason::deadline   ? errc::deadline_exceeded
              : stop_reason == StopReason::canceled ? errc::canceled
                                                    : errc::unsuccessful;
  return Error{make_error_code(code), std::move(message)};
}

namespace {

// Waits until `fd` is ready for `events` or the context ends.
Result<void> wait_ready(int fd, short events, const Context& ctx, const char* what) {
  auto cfd = ctx.fd();
  if (!cfd) return std::move(cfd).error();
  pollfd fds[2] = {{fd, events, 0}, {*cfd, POLLIN, 0}};
  namespace sys = detail::sys;
  sys::Ret r = sys::call(sys::Call::poll, [&] { return ::poll(fds, 2, -1); });
  if (!r.ok()) return sys::error(r, what);
  if (ctx.done()) return Error{ctx.err(), std::string{what} + ": " + ctx.cause()};
  return {};
}

// Blocks SIGPIPE on this thread for one write, so a dead reader yields
// EPIPE; a SIGPIPE that write raised is taken back before unblocking.
class SigpipeGuard {
 public:
  SigpipeGuard() {
    sigemptyset(&pipe_);
    sigaddset(&pipe_, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_, &old_);
    sigset_t pending;
    sigpending(&pending);
    was_pending_ = sigismember(&pending, SIGPIPE) == 1;
  }
  ~SigpipeGuard() {
    if (raised_ && !was_pending_) {
      timespec zero{};
      while (sigtimedwait(&pipe_, nullptr, &zero) == -1 && errno == EINTR) {}
    }
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }
  void raised() { raised_ = true; }

 private:
  sigset_t pipe_, old_;
  bool was_pending_ = false;
  bool raised_ = false;
};

}  // namespace

Writer::~Writer() { close(); }

void Writer::close() noexcept {
  if (fd_ >= 0) ::close(std::exchange(fd_, -1));
}

Result<void> Writer::write(std::string_view bytes) {
  namespace sys = detail::sys;
  if (fd_ < 0) return sys::error(EBADF, "write to stdin (not a Stdio::pipe(), or closed)");
  SigpipeGuard guard;
  while (!bytes.empty()) {
    if (ctx_.done()) return Error{ctx_.err(), "write to stdin: " + ctx_.cause()};
    sys::Ret r = sys::call(sys::Call::write, [&] { return ::write(fd_, bytes.data(), bytes.size()); });
    if (r.ok()) {
      bytes.remove_prefix(static_cast<std::size_t>(r.value));
    } else if (r.err == EAGAIN) {
      if (auto w = wait_ready(fd_, POLLOUT, ctx_, "write to stdin"); !w) return w;
    } else {
      if (r.err == EPIPE) guard.raised();
      return sys::error(r, "write to stdin");
    }
  }
  return {};
}

Reader::~Reader() { close(); }

void Reader::close() noexcept {
  if (fd_ >= 0) ::close(std::exchange(fd_, -1));
}

Result<std::size_t> Reader::read(std::span<char> buffer) {
  namespace sys = detail::sys;
  if (fd_ < 0) return sys::error(EBADF, "read (not a Stdio::pipe(), or closed)");
  for (;;) {
    sys::Ret r = sys::call(sys::Call::read, [&] { return ::read(fd_, buffer.data(), buffer.size()); });
    if (r.ok()) return static_cast<std::size_t>(r.value);
    if (r.err != EAGAIN) return sys::error(r, "read");
    if (auto w = wait_ready(fd_, POLLIN, ctx_, "read"); !w) return std::move(w).error();
  }
}

Result<std::string> Reader::read_all() {
  std::string out;
  char buf[64 * 1024];
  for (;;) {
    auto n = read(buf);
    if (!n) return std::move(n).error();
    if (*n == 0) return out;
    out.append(buf, *n);
  }
}

Process::Process(std::shared_ptr<ChildState> s) noexcept : state_(std::move(s)) {}
Process::Process(Process&&) noexcept = default;

Process& Process::operator=(Process&& o) noexcept {
  if (this != &o) {
    Process dying{std::move(*this)};
    state_ = std::move(o.state_);
    in_ = std::move(o.in_);
    out_ = std::move(o.out_);
    err_ = std::move(o.err_);
  }
  return *this;
}

Process::~Process() {
  if (!state_) return;
  in_.close();
  out_.close();
  err_.close();
  {
    std::lock_guard lock{state_->mu};
    if (state_->finished || state_->detached) return;
    state_->dropped = true;
  }
  // The stop runs on the loop: this destructor never waits for it.
  state_->post_stop(StopReason::dropped, "Process destroyed while running");
}

pid_t Process::pid() const noexcept { return state_ ? state_->pid : 0; }

const Completed& Process::wait() const {
  std::unique_lock lock{state_->mu};
  if (!state_->reaped) {
    // Wait in the kernel for the exit without reaping (WNOWAIT), then reap
    // here: the common case needs no hop through the loop thread. Whoever
    // takes the lock first reaps; the loop only sees it done.
    lock.unlock();
    siginfo_t info{};
    int fd = state_->pidfd.get();
    (void)detail::sys::call(detail::sys::Call::waitid, [&] {
      return ::syscall(SYS_waitid, P_PIDFD, fd, &info, WEXITED | WNOWAIT, nullptr);
    });
    Finished done;
    lock.lock();
    if (state_->reap_locked()) done = state_->maybe_finish_locked();
    state_->cv.wait(lock, [&] { return state_->finished; });
    state_->collected = true;
    lock.unlock();
    return state_->result;
  }
  state_->cv.wait(lock, [&] { return state_->finished; });
  state_->collected = true;
  return state_->result;
}

const Completed* Process::try_wait() const noexcept {
  std::lock_guard lock{state_->mu};
  if (!state_->finished) return nullptr;
  state_->collected = true;
  return &state_->result;
}

const Completed* Process::wait_for(Duration d) const {
  std::unique_lock lock{state_->mu};
  if (!state_->cv.wait_for(lock, d, [&] { return state_->finished; })) return nullptr;
  state_->collected = true;
  return &state_->result;
}

Result<void> Process::signal(int sig) const {
  std::lock_guard lock{state_->mu};
  if (state_->reaped) return Error{make_error_code(errc::process_exited), "signal: process already exited"};
  namespace sys = detail::sys;
  sys::Ret r = sys::call(sys::Call::pidfd_send_signal, [&] {
    return ::syscall(SYS_pidfd_send_signal, state_->pidfd.get(), sig, nullptr, 0);
  });
  if (!r.ok()) return sys::error(r, "pidfd_send_signal " + signal_name(sig));
  if (detail::trace::on()) detail::trace::signal_sent(*state_, sig, -1, "Process::signal()");
  return {};
}

Result<void> Process::signal_tree(int sig) const {
  std::lock_guard lock{state_->mu};
  if (state_->finished || !state_->tree_alive_locked()) {
    return Error{make_error_code(errc::process_exited), "signal_tree: process already exited"};
  }
  return state_->signal_tree_locked(sig);
}

Result<void> Process::kill() const {
  std::lock_guard lock{state_->mu};
  // A finished outcome never changes again (others may be reading it).
  if (state_->finished || !state_->tree_alive_locked()) {
    return Error{make_error_code(errc::process_exited), "kill: process already exited"};
  }
  if (!state_->stopping) {
    state_->stopping = true;
    state_->result.stop_reason = StopReason::requested;
    state_->result.cause = "Process::kill()";
  }
  auto r = state_->signal_tree_locked(SIGKILL);
  if (r) state_->result.signals.push_back({SIGKILL, Clock::now() - state_->started, state_->tree});
  if (r && detail::trace::on()) detail::trace::signal_sent(*state_, SIGKILL, -1, "Process::kill()");
  return r;
}

void Process::stop() const {
  Finished done;
  std::lock_guard lock{state_->mu};
  state_->begin_stop_locked(StopReason::requested, "Process::stop()");
  done = state_->maybe_finish_locked();
}

void Process::on_exit(std::function<void(const Completed&)> fn) const {
  std::unique_lock lock{state_->mu};
  state_->collected = true;  // the caller will be told: that is waiting too
  if (!state_->finished) {
    state_->on_exit.push_back(std::move(fn));
    return;
  }
  lock.unlock();
  auto child = state_;
  child->loop->post([child, fn = std::move(fn)] { fn(child->result); });
}

std::future<Completed> Process::wait_async() const {
  auto promise = std::make_shared<std::promise<Completed>>();
  auto future = promise->get_future();
  on_exit([promise](const Completed& c) { promise->set_value(c); });
  return future;
}

void Process::detach() noexcept {
  if (!state_) return;
  std::lock_guard lock{state_->mu};
  state_->detached = true;
}

}  // namespace procctx
