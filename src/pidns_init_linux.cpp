// pidns_init_linux.cpp — the init procctx puts at the top of a new PID
// namespace (Tree::pid_namespace).
//
// PID 1 of a namespace is special: when it dies the kernel kills every
// other process there, and it ignores signals it has no handler for. So
// this init (the way tini and bubblewrap do it) dies with procctx
// (PR_SET_PDEATHSIG), starts the command, forwards to everything in the
// namespace each signal procctx's stop sequence sends it, reaps whatever
// gets orphaned there, and when the command ends writes its exact status
// into the page it shares with procctx and exits, which ends the namespace.
//
// It is a copy of procctx's memory (a fork, not a vfork: it outlives the
// spawn), running only raw syscalls on whatever thread made it, like the
// child side of spawn; this file is built without sanitizers for the same
// reason.
#include "spawn_child_linux.hpp"

#include <cerrno>
#include <csignal>
#include <cstdint>

#include <linux/sched.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

namespace procctx::detail {
namespace {

[[noreturn]] void leave(int code) {
  ::syscall(SYS_exit_group, code);
  __builtin_unreachable();
}

// Closes every fd but the `n` in `keep` (any order).
void close_all_but(int* keep, int n) {
  for (int i = 1; i < n; ++i) {  // insertion sort: a handful of fds
    for (int j = i; j > 0 && keep[j - 1] > keep[j]; --j) {
      int t = keep[j];
      keep[j] = keep[j - 1];
      keep[j - 1] = t;
    }
  }
  unsigned int from = 0;
  for (int i = 0; i < n; ++i) {
    if (keep[i] < 0) continue;
    auto k = static_cast<unsigned int>(keep[i]);
    if (k > from) ::syscall(SYS_close_range, from, k - 1, 0U);
    if (k >= from) from = k + 1;
  }
  ::syscall(SYS_close_range, from, ~0U, 0U);
}

// Init holds a copy of procctx's whole fd table: everything but what the
// command needs goes, so no pipe of another child is held open here.
void close_foreign_fds(const ChildPlan* plan) {
  int keep[ChildPlan::kMaxFds + 3];
  int n = 0;
  for (int i = 0; i < plan->nfds; ++i) keep[n++] = plan->source[i];
  keep[n++] = plan->ns.go_read;
  keep[n++] = plan->ns.started_write;
  keep[n++] = plan->foreground_tty;
  close_all_but(keep, n);
}

void default_disposition(int sig) {
  struct {
    void (*handler)(int);
    unsigned long flags;
    void (*restorer)();
    unsigned long mask;
  } dfl{SIG_DFL, 0, nullptr, 0};
  ::syscall(SYS_rt_sigaction, sig, &dfl, nullptr, sizeof(unsigned long));
}

// Waits for procctx's go (sent once it has written the id maps of a user
// namespace); end of file means procctx is gone.
void wait_for_go(const ChildPlan* plan) {
  char go = 0;
  long n;
  do {
    n = ::syscall(SYS_read, plan->ns.go_read, &go, 1);
  } while (n < 0 && errno == EINTR);
  if (n != 1) leave(127);
  ::syscall(SYS_close, plan->ns.go_read);
}

// Starts the command, as a normal spawn would, from here; tells procctx
// whether it exec'ed. Returns its pid in this namespace.
pid_t start_command(ChildPlan* plan) {
  plan->parent_death_signal = 0;  // it dies with this init, and this init with procctx
  int pidfd = -1;
  long pid = clone_child(plan, plan->ns.stack, plan->ns.stack_size, &pidfd, true, -1);
  if (pid == -ENOSYS || pid == -EINVAL) pid = clone_child(plan, plan->ns.stack, plan->ns.stack_size, &pidfd, false, -1);
  NamespaceReport* report = plan->ns.report;
  if (pid < 0) {
    report->failed_step = ChildStep::exec;
    report->failed_errno = static_cast<int>(-pid);
  } else if (plan->failed_step != ChildStep::none) {
    report->failed_step = plan->failed_step;
    report->failed_errno = plan->failed_errno;
    report->failed_entry = plan->failed_entry;
  }
  char started = 1;
  ::syscall(SYS_write, plan->ns.started_write, &started, 1);
  if (report->failed_step != ChildStep::none) leave(127);
  // From here on init holds nothing the command's readers wait on.
  close_all_but(&pidfd, 1);
  return static_cast<pid_t>(pid);
}

// Reaps everything that has exited; true once the command has.
bool reap(pid_t command, NamespaceReport* report) {
  bool ended = false;
  for (;;) {
    siginfo_t info{};
    if (::syscall(SYS_waitid, P_ALL, 0, &info, WEXITED | WNOHANG, nullptr) < 0 || info.si_pid == 0) break;
    if (info.si_pid == command) {
      report->command_code = info.si_code;
      report->command_status = info.si_status;
      ended = true;
    }
  }
  return ended;
}

[[noreturn]] void run_init(ChildPlan* plan) {
  ::syscall(SYS_prctl, PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  close_foreign_fds(plan);
  // An ignored SIGCHLD would have the kernel reap our children unseen.
  default_disposition(SIGCHLD);
  wait_for_go(plan);
  pid_t command = start_command(plan);
  // Every signal stays blocked (as procctx blocked them around the clone):
  // they are taken here one by one, never handled.
  unsigned long all = ~0UL;
  while (!reap(command, plan->ns.report)) {
    siginfo_t info{};
    long sig = ::syscall(SYS_rt_sigtimedwait, &all, &info, nullptr, sizeof all);
    if (sig <= 0 || sig == SIGCHLD) continue;
    ::syscall(SYS_kill, -1, sig);  // every process of the namespace but init
  }
  const NamespaceReport* r = plan->ns.report;
  leave(r->command_code == CLD_EXITED ? r->command_status : 128 + r->command_status);
}

}  // namespace

long clone_init(ChildPlan* plan, int* pidfd) noexcept {
  clone_args args{};
  args.flags = CLONE_PIDFD | CLONE_NEWPID | (plan->ns.new_user ? CLONE_NEWUSER : 0);
  args.pidfd = reinterpret_cast<std::uintptr_t>(pidfd);
  args.exit_signal = SIGCHLD;
  long pid = ::syscall(SYS_clone3, &args, sizeof args);
  if (pid == 0) run_init(plan);  // the init, in its own copy of memory
  return pid < 0 ? -errno : pid;
}

}  // namespace procctx::detail
