// The child side of spawn, and the clone calls that start it.
//
// This file is compiled without sanitizers (see src/CMakeLists.txt): the
// child runs in the parent's memory, on the parent thread's TLS, between
// clone and execve, where sanitizer hooks would corrupt the parent's state.
// Rules for code here: raw syscalls only (through syscall(2), which no
// sanitizer intercepts), no allocation, no locks, no libc state, no errno
// reads except right after a syscall.
#include "spawn_child_linux.hpp"

#include <cerrno>
#include <csignal>
#include <cstddef>
#include <cstdint>

#include <dirent.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <linux/sched.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif
#ifndef CLONE_CLEAR_SIGHAND
#define CLONE_CLEAR_SIGHAND 0x100000000ULL
#endif

extern "C" long procctx_clone3_run(clone_args* args, std::size_t size, int (*fn)(void*), void* arg);

// clone3 with a new stack returns in the child on that stack, which C++
// cannot express; these few instructions call fn(arg) there and exit.
#if defined(__x86_64__)
asm(R"(
  .text
  .globl procctx_clone3_run
  .hidden procctx_clone3_run
  .type procctx_clone3_run,@function
procctx_clone3_run:
  mov %rcx, %r8
  mov $435, %eax
  syscall
  test %rax, %rax
  jz 1f
  ret
1:
  xor %ebp, %ebp
  and $-16, %rsp
  mov %r8, %rdi
  call *%rdx
  mov %eax, %edi
  mov $231, %eax
  syscall
  hlt
  .size procctx_clone3_run, .-procctx_clone3_run
)");
#define PROCCTX_HAVE_CLONE3_RUN 1
#elif defined(__aarch64__)
asm(R"(
  .text
  .globl procctx_clone3_run
  .hidden procctx_clone3_run
  .type procctx_clone3_run,%function
procctx_clone3_run:
  mov x8, #435
  svc #0
  cbz x0, 1f
  ret
1:
  mov x29, xzr
  mov x30, xzr
  mov x0, x3
  blr x2
  mov x8, #94
  svc #0
  brk #0
  .size procctx_clone3_run, .-procctx_clone3_run
)");
#define PROCCTX_HAVE_CLONE3_RUN 1
#endif

namespace procctx::detail {
namespace {

// The kernel's sigaction layout for rt_sigaction.
struct KernelSigaction {
  void (*handler)(int);
  unsigned long flags;
  void (*restorer)();
  unsigned long mask;
};

[[noreturn]] void fail(ChildPlan* plan, ChildStep step, int err) {
  plan->failed_step = step;
  plan->failed_errno = err;
  ::syscall(SYS_exit_group, 127);
  __builtin_unreachable();
}

// Closes every fd >= 3 not in plan->keep, via /proc/self/fd (close_range
// is missing before Linux 5.9).
bool close_by_listing(ChildPlan* plan) {
  long dir = ::syscall(SYS_openat, AT_FDCWD, "/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) return false;
  alignas(8) char buf[4096];
  bool closed_any = true;
  while (closed_any) {  // closing while listing can skip entries: repeat until clean
    closed_any = false;
    ::syscall(SYS_lseek, dir, 0, SEEK_SET);
    for (;;) {
      long n = ::syscall(SYS_getdents64, dir, buf, sizeof buf);
      if (n <= 0) break;
      for (long off = 0; off < n;) {
        auto* d = reinterpret_cast<struct dirent64*>(buf + off);
        off += d->d_reclen;
        int fd = 0;
        const char* p = d->d_name;
        if (*p < '0' || *p > '9') continue;
        for (; *p >= '0' && *p <= '9'; ++p) fd = fd * 10 + (*p - '0');
        if (fd < 3 || fd == dir) continue;
        bool keep = false;
        for (int i = 0; i < plan->nkeep; ++i) keep = keep || plan->keep[i] == fd;
        if (!keep) {
          ::syscall(SYS_close, fd);
          closed_any = true;
        }
      }
    }
  }
  ::syscall(SYS_close, dir);
  return true;
}

// The child starts on its parent's fd table (CLONE_FILES), so cloning cost
// nothing however many fds the parent holds (a pidfd per child, for one).
// Before anything else touches the table, take a private copy of only the
// fds below the highest one the plan uses: close_range with
// CLOSE_RANGE_UNSHARE copies [0, lo) and nothing above. Without close_range
// (before Linux 5.9) unshare copies the whole table, as a plain clone would.
void private_fd_table(ChildPlan* plan) {
  if (plan->unshare_fault) fail(plan, ChildStep::fd_table, plan->unshare_fault);
  int high = 2;
  for (int i = 0; i < plan->nfds; ++i) high = plan->source[i] > high ? plan->source[i] : high;
  high = plan->foreground_tty > high ? plan->foreground_tty : high;
  high = plan->cgroup_dir > high ? plan->cgroup_dir : high;
  // Keeping every inherited fd needs the whole table.
  if (plan->use_close_range && !plan->keep_inherited &&
      ::syscall(SYS_close_range, static_cast<unsigned int>(high + 1), ~0U, CLOSE_RANGE_UNSHARE) == 0) {
    return;
  }
  if (::syscall(SYS_unshare, CLONE_FILES) < 0) fail(plan, ChildStep::fd_table, errno);
}

// Every signal to its default disposition. With CLONE_CLEAR_SIGHAND the
// kernel has already reset every handled signal at the clone (so no handler
// of the parent's could ever run here); what it keeps are the ignored ones,
// which go back to default too unless the plan keeps them (as execve does).
bool wanted_ignored(const ChildPlan* plan, int sig) {
  if (!plan->keep_ignored) return false;
  for (int i = 0; i < plan->nreset; ++i) {
    if (plan->reset[i] == sig) return false;
  }
  return true;
}

void default_signals(ChildPlan* plan) {
  KernelSigaction dfl{};
  dfl.handler = SIG_DFL;
  if (plan->handlers_cleared && plan->keep_ignored) {
    // Only the few the plan resets: no syscall for the rest.
    for (int i = 0; i < plan->nreset; ++i) ::syscall(SYS_rt_sigaction, plan->reset[i], &dfl, nullptr, sizeof(unsigned long));
    return;
  }
  for (int sig = 1; sig < 65; ++sig) {
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    if (plan->handlers_cleared || plan->keep_ignored) {
      KernelSigaction now{};
      if (::syscall(SYS_rt_sigaction, sig, nullptr, &now, sizeof(unsigned long)) != 0) continue;
      bool ignored = now.handler == SIG_IGN;
      if (ignored ? wanted_ignored(plan, sig) : (plan->handlers_cleared || now.handler == SIG_DFL)) continue;
    }
    ::syscall(SYS_rt_sigaction, sig, &dfl, nullptr, sizeof(unsigned long));
  }
}

// A session or a process group of its own; with a terminal to take, its
// foreground too — still with every signal blocked, so the terminal does
// not stop us with SIGTTOU for taking its foreground from a background group.
void join_session(ChildPlan* plan) {
  if (plan->new_session) {
    if (::syscall(SYS_setsid) < 0) fail(plan, ChildStep::session, errno);
  } else if (plan->new_process_group) {
    if (::syscall(SYS_setpgid, 0, 0) < 0) fail(plan, ChildStep::process_group, errno);
  }
  if (plan->foreground_tty >= 0) {
    pid_t self = static_cast<pid_t>(::syscall(SYS_getpid));
    if (::syscall(SYS_ioctl, plan->foreground_tty, TIOCSPGRP, &self) < 0) fail(plan, ChildStep::terminal, errno);
  }
  unsigned long empty = 0;
  if (::syscall(SYS_rt_sigprocmask, SIG_SETMASK, &empty, nullptr, sizeof empty) < 0)
    fail(plan, ChildStep::signals, errno);
}

// When clone3 could not put the child in its cgroup leaf, it joins itself.
void join_cgroup(ChildPlan* plan) {
  if (plan->cgroup_dir < 0) return;
  long fd = ::syscall(SYS_openat, plan->cgroup_dir, "cgroup.procs", O_WRONLY | O_CLOEXEC);
  if (fd < 0) fail(plan, ChildStep::cgroup, errno);
  if (::syscall(SYS_write, fd, "0", 1) < 0) fail(plan, ChildStep::cgroup, errno);
  ::syscall(SYS_close, fd);
}

void apply_limits(ChildPlan* plan) {
  for (int i = 0; i < plan->nrlimits; ++i) {
    const auto& l = plan->rlimits[i];
    std::uint64_t lim[2] = {l.soft, l.hard};
    if (::syscall(SYS_prlimit64, 0, l.resource, lim, nullptr) < 0) fail(plan, ChildStep::rlimits, errno);
  }
  if (plan->umask >= 0) ::syscall(SYS_umask, plan->umask);
}

// Groups first, then the gid, then the uid (after which we may no longer
// change the others); only then the working directory, entered as the new
// identity (a directory it may not enter stays closed to it, as runuser and
// su do it). Raw syscalls change this thread only, which in a
// single-threaded child is the whole process.
void switch_identity(ChildPlan* plan) {
  if (plan->ngroups >= 0 && ::syscall(SYS_setgroups, plan->ngroups, plan->groups) < 0)
    fail(plan, ChildStep::groups, errno);
  if (plan->gid >= 0 && ::syscall(SYS_setresgid, plan->gid, plan->gid, plan->gid) < 0)
    fail(plan, ChildStep::gid, errno);
  if (plan->uid >= 0 && ::syscall(SYS_setresuid, plan->uid, plan->uid, plan->uid) < 0)
    fail(plan, ChildStep::uid, errno);
  if (plan->cwd && ::syscall(SYS_chdir, plan->cwd) < 0) fail(plan, ChildStep::chdir, errno);
  if (plan->no_new_privs && ::syscall(SYS_prctl, PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
    fail(plan, ChildStep::no_new_privs, errno);
}

void arm_parent_death(ChildPlan* plan) {
  if (!plan->parent_death_signal) return;
  if (::syscall(SYS_prctl, PR_SET_PDEATHSIG, plan->parent_death_signal, 0, 0, 0) < 0)
    fail(plan, ChildStep::parent_death, errno);
  // The parent may have died before the signal was armed: then it never comes.
  if (::syscall(SYS_getppid) != plan->parent_pid) fail(plan, ChildStep::parent_death, ESRCH);
}

// Child fd target[i] becomes a copy of source[i]. Sources that sit where a
// target will land are moved out of the way first, so no dup3 overwrites a
// source still needed.
void install_fds(ChildPlan* plan) {
  int max_target = 2;
  for (int i = 0; i < plan->nfds; ++i) max_target = plan->target[i] > max_target ? plan->target[i] : max_target;
  for (int i = 0; i < plan->nfds; ++i) {
    int s = plan->source[i];
    if (s < 0 || s > max_target || s == plan->target[i]) continue;
    long moved = ::syscall(SYS_fcntl, s, F_DUPFD_CLOEXEC, max_target + 1);
    if (moved < 0) fail(plan, ChildStep::fds, errno);
    for (int j = i; j < plan->nfds; ++j) {
      if (plan->source[j] == s) plan->source[j] = static_cast<int>(moved);
    }
  }
  for (int i = 0; i < plan->nfds; ++i) {
    int s = plan->source[i], t = plan->target[i];
    if (s < 0) {
      ::syscall(SYS_close, t);
    } else if (s == t) {
      if (::syscall(SYS_fcntl, t, F_SETFD, 0) < 0) fail(plan, ChildStep::fds, errno);
    } else if (::syscall(SYS_dup3, s, t, 0) < 0) {
      fail(plan, ChildStep::fds, errno);
    }
  }
}

// Only stdio and the fds passed on purpose survive (or, when asked, every
// fd that is not close-on-exec: exec closes the rest).
void close_other_fds(ChildPlan* plan) {
  if (plan->keep_inherited) return;
  unsigned int from = 3;
  bool ok = plan->use_close_range;
  for (int i = 0; i < plan->nkeep; ++i) {
    auto k = static_cast<unsigned int>(plan->keep[i]);
    if (k > from) ok = ok && ::syscall(SYS_close_range, from, k - 1, 0U) == 0;
    if (k >= from) from = k + 1;
  }
  ok = ok && ::syscall(SYS_close_range, from, ~0U, 0U) == 0;
  if (!ok && !close_by_listing(plan)) fail(plan, ChildStep::close_fds, errno);
}

[[noreturn]] void exec_program(ChildPlan* plan, const char* path) {
  ::syscall(SYS_execve, path, plan->argv, plan->envp);
  int err = errno;
  // As execvp: what the kernel cannot execute as it is (no #! line) is a
  // shell script. (With a PATH search, sh_argv[1] is the candidate buffer.)
  if (err == ENOEXEC && plan->sh_argv) {
    ::syscall(SYS_execve, plan->sh_argv[0], plan->sh_argv, plan->envp);
    err = errno;
  }
  fail(plan, ChildStep::exec, err);
}

// 0 when `path` is a regular file this process may execute, else why not.
int not_executable(const char* path) {
  struct stat st {};
  if (::syscall(SYS_newfstatat, AT_FDCWD, path, &st, 0) < 0) return errno;
  if (!S_ISREG(st.st_mode)) return EACCES;
  if (::syscall(SYS_faccessat, AT_FDCWD, path, X_OK) < 0) return errno;
  return 0;
}

// Copies the NUL-terminated `from` to `to`; returns where the NUL went. (The
// barrier keeps the compiler from making this a call into libc.)
char* copy_string(char* to, const char* from) {
  while ((*to = *from) != '\0') {
    ++to;
    ++from;
    asm volatile("" ::: "memory");
  }
  return to;
}

// The PATH search, entry by entry (an empty entry is "."): the first
// regular file this process may execute is run; a match through a relative
// entry fails unless allowed; nothing found fails with ENOENT, or EACCES
// when something was found but could not be run.
[[noreturn]] void search_and_exec(ChildPlan* plan) {
  const PathSearch& s = plan->search;
  int best = ENOENT;
  const char* entry = s.entries;
  for (int i = 0; i < s.nentries; ++i) {
    char* end = *entry == '\0' ? copy_string(s.candidate, ".") : copy_string(s.candidate, entry);
    *end++ = '/';
    copy_string(end, s.program);
    int err = not_executable(s.candidate);
    if (err == 0) {
      plan->failed_entry = i;
      if (*entry != '/' && s.refuse_relative) fail(plan, ChildStep::path_relative, EACCES);
      exec_program(plan, s.candidate);
    }
    if (err == EACCES) best = EACCES;
    while (*entry != '\0') ++entry;
    ++entry;
  }
  fail(plan, ChildStep::path_search, best);
}

int child_main(void* arg) {
  auto* plan = static_cast<ChildPlan*>(arg);
  if (plan->share_files) private_fd_table(plan);
  default_signals(plan);
  join_session(plan);
  join_cgroup(plan);
  apply_limits(plan);
  switch_identity(plan);
  arm_parent_death(plan);
  install_fds(plan);
  close_other_fds(plan);
  if (plan->search.program) search_and_exec(plan);
  exec_program(plan, plan->path);
}

}  // namespace

const char* step_name(ChildStep s) noexcept {
  switch (s) {
    case ChildStep::none:
      return "none";
    case ChildStep::signals:
      return "reset signals";
    case ChildStep::session:
      return "setsid";
    case ChildStep::terminal:
      return "tcsetpgrp";
    case ChildStep::process_group:
      return "setpgid";
    case ChildStep::cgroup:
      return "join cgroup";
    case ChildStep::rlimits:
      return "setrlimit";
    case ChildStep::umask:
      return "umask";
    case ChildStep::groups:
      return "setgroups";
    case ChildStep::gid:
      return "setgid";
    case ChildStep::uid:
      return "setuid";
    case ChildStep::no_new_privs:
      return "no_new_privs";
    case ChildStep::parent_death:
      return "parent death signal";
    case ChildStep::chdir:
      return "chdir";
    case ChildStep::fd_table:
      return "copy fd table";
    case ChildStep::fds:
      return "set up stdio";
    case ChildStep::close_fds:
      return "close fds";
    case ChildStep::path_search:
      return "look up on PATH";
    case ChildStep::path_relative:
      return "refuse a relative PATH entry";
    case ChildStep::exec:
      return "exec";
  }
  return "?";
}

long clone_child(ChildPlan* plan, void* stack, std::size_t stack_size, int* pidfd, bool use_clone3,
                 int cgroup_fd) noexcept {
#ifdef PROCCTX_HAVE_CLONE3_RUN
  if (use_clone3) {
    clone_args args{};
    args.flags = CLONE_PIDFD | CLONE_VFORK | CLONE_VM | (plan->share_files ? CLONE_FILES : 0) |
                 (plan->handlers_cleared ? CLONE_CLEAR_SIGHAND : 0);
    args.pidfd = reinterpret_cast<std::uintptr_t>(pidfd);
    args.exit_signal = SIGCHLD;
    args.stack = reinterpret_cast<std::uintptr_t>(stack);
    args.stack_size = stack_size;
    if (cgroup_fd >= 0) {
      args.flags |= CLONE_INTO_CGROUP;
      args.cgroup = static_cast<decltype(args.cgroup)>(cgroup_fd);
    }
    return procctx_clone3_run(&args, sizeof args, child_main, plan);
  }
#else
  (void)use_clone3;
#endif
  if (cgroup_fd >= 0) return -ENOSYS;
  plan->handlers_cleared = false;  // clone() has no CLONE_CLEAR_SIGHAND
  char* top = static_cast<char*>(stack) + stack_size;
  int flags = CLONE_PIDFD | CLONE_VFORK | CLONE_VM | (plan->share_files ? CLONE_FILES : 0) | SIGCHLD;
  long pid = ::clone(child_main, top, flags, plan, pidfd);
  return pid < 0 ? -errno : pid;
}

}  // namespace procctx::detail
