#include "spawn_launch_linux.hpp"

#include "shown.hpp"

#include <csignal>
#include <future>

#include <fcntl.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

namespace procctx::detail {
namespace {

// A private stack for the child, one per spawning thread, kept for reuse.
// It is only used while this thread is suspended in clone.
struct ChildStack {
  static constexpr std::size_t kSize = 64 * 1024;
  static constexpr std::size_t kGuard = 4096;
  void* base = nullptr;
  ChildStack() {
    void* p = sys::map_memory(kSize + kGuard, MAP_STACK);
    if (!p) return;
    sys::protect_memory(p, kGuard, PROT_NONE);  // the stack grows down into this
    base = p;
  }
  ChildStack(const ChildStack&) = delete;
  ChildStack& operator=(const ChildStack&) = delete;
  ~ChildStack() {
    if (base) sys::unmap_memory(base, kSize + kGuard);
  }
  void* bottom() const { return static_cast<char*>(base) + kGuard; }
};

struct Attempt {
  long pid = -ENOSYS;  // or -errno
  int pidfd = -1;
  bool no_stack = false;
};

// One clone: clone3 where the kernel (and a container's seccomp filter)
// allows it, else clone(). Every signal is blocked meanwhile, so no handler
// of ours can run in the child while it shares our memory.
Attempt clone_once(SpawnPlan& plan, int cgroup_fd) {
  thread_local ChildStack stack;
  Attempt a;
  if (!stack.base) {
    a.no_stack = true;
    return a;
  }
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  if (sys::have_clone3()) {
    int injected = sys::injected(sys::Call::clone3);
    plan.child.handlers_cleared = sys::have_clear_sighand();
    a.pid = injected ? -injected : clone_child(&plan.child, stack.bottom(), ChildStack::kSize, &a.pidfd, true, cgroup_fd);
    if (a.pid == -EINVAL && plan.child.handlers_cleared) {
      // A kernel before 5.5: no CLONE_CLEAR_SIGHAND; the child resets every handler itself.
      sys::note_no_clear_sighand();
      plan.child.handlers_cleared = false;
      a.pid = clone_child(&plan.child, stack.bottom(), ChildStack::kSize, &a.pidfd, true, cgroup_fd);
    }
    // Seccomp filters in containers often answer ENOSYS for clone3.
    if (a.pid == -ENOSYS) sys::note_no_clone3();
    // A kernel without CLONE_INTO_CGROUP (before 5.7) rejects the flag.
    if (cgroup_fd >= 0 && (a.pid == -EINVAL || a.pid == -EOPNOTSUPP)) a.pid = -ENOSYS;
  }
  if (a.pid == -ENOSYS) {
    plan.child.cgroup_dir = cgroup_fd;  // the child joins the leaf itself
    int injected = sys::injected(sys::Call::clone);
    a.pid = injected ? -injected : clone_child(&plan.child, stack.bottom(), ChildStack::kSize, &a.pidfd, false, -1);
  }
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  return a;
}

// The kernel sends the parent-death signal when the *thread* that created
// the child exits. The loop thread lives as long as the process, so
// children that ask for it are started there.
Attempt clone_on_the_right_thread(SpawnPlan& plan, Loop& loop, int cgroup_fd) {
  if (!plan.child.parent_death_signal || loop.on_loop_thread()) return clone_once(plan, cgroup_fd);
  std::promise<Attempt> started;
  loop.post([&] { started.set_value(clone_once(plan, cgroup_fd)); });
  return started.get_future().get();
}

// Tree::pid_namespace: the clone of the namespace's init, on the loop
// thread (its parent-death signal is tied to the thread that makes it). The
// command's stack inside the init is this thread's ChildStack.
Attempt clone_init_on_loop(SpawnPlan& plan, Loop& loop) {
  auto clone = [&plan] {
    thread_local ChildStack stack;
    Attempt a;
    if (!stack.base) {
      a.no_stack = true;
      return a;
    }
    plan.child.ns.stack = stack.bottom();
    plan.child.ns.stack_size = ChildStack::kSize;
    plan.child.handlers_cleared = sys::have_clear_sighand();
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int injected = sys::injected(sys::Call::clone_namespace);
    a.pid = injected ? -injected : clone_init(&plan.child, &a.pidfd);
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
    return a;
  };
  if (loop.on_loop_thread()) return clone();
  std::promise<Attempt> started;
  loop.post([&] { started.set_value(clone()); });
  return started.get_future().get();
}

// Reaps a child we are abandoning during spawn: it has exited (or is killed
// here), so this waits only for the kernel.
void kill_and_reap(int pidfd) noexcept {
  (void)sys::pidfd_send_signal(pidfd, SIGKILL);
  siginfo_t info;
  (void)sys::waitid_pidfd(pidfd, &info, WEXITED, nullptr);
}

// What the child wrote into the plan before it exited 127.
Error child_failure(const SpawnPlan& plan) {
  if (auto search = path_search_failure(plan)) return std::move(*search);
  std::string what = step_name(plan.child.failed_step);
  int err = plan.child.failed_errno;
  if (plan.child.failed_step == ChildStep::chdir) what += concat(" ", printable(plan.cwd));
  if (plan.child.failed_step != ChildStep::exec) return sys::error(err, what);
  std::string path = program_path(plan);
  what += concat(" ", printable(path));
  // ENOENT for a file that exists means its #! interpreter is missing.
  if (err == ENOENT && ::access(path.c_str(), F_OK) == 0) what += " (its interpreter was not found)";
  return program_error(err, what);
}

// An unprivileged procctx in a user namespace of its own: the same uid and
// gid inside as outside, so the command sees who it is.
Result<void> write_id_maps(pid_t pid) {
  std::string dir = "/proc/" + std::to_string(pid) + "/";
  std::string uid = std::to_string(::getuid()), gid = std::to_string(::getgid());
  for (auto [file, text] : {std::pair{"setgroups", std::string{"deny"}}, std::pair{"uid_map", uid + " " + uid + " 1"},
                            std::pair{"gid_map", gid + " " + gid + " 1"}}) {
    sys::Ret r = sys::write_file_at(AT_FDCWD, (dir + file).c_str(), text);
    if (!r.ok()) return sys::error(r, "write " + dir + file);
  }
  return {};
}

// Lets the init go on, then waits until it says whether the command exec'ed.
Result<void> start_in_namespace(SpawnPlan& plan, pid_t init) {
  if (plan.child.ns.new_user) {
    if (auto maps = write_id_maps(init); !maps) return maps;
  }
  char byte = 1;
  sys::Ret w = sys::call(sys::Call::write, [&] { return ::write(plan.ns_go_write.get(), &byte, 1); });
  if (!w.ok()) return sys::error(w, "start the PID namespace's init");
  plan.ns_go_write.reset();
  sys::Ret r = sys::call(sys::Call::read, [&] { return ::read(plan.ns_started_read.get(), &byte, 1); });
  if (!r.ok() || r.value != 1) return sys::error(r.ok() ? ECHILD : r.err, "the PID namespace's init exited");
  const NamespaceReport& report = *plan.ns_report;
  if (report.failed_step == ChildStep::none) return {};
  plan.child.failed_step = report.failed_step;
  plan.child.failed_errno = report.failed_errno;
  plan.child.failed_entry = report.failed_entry;
  return child_failure(plan);
}

// The kernel numbers a new pidfd with the lowest free fd: 0-2 when this
// process's stdio is closed. Left there, the next child would inherit it
// as its stdio, so it moves above them (and a child that cannot be held
// so is killed rather than left unwatched).
Result<Launched> launched(pid_t pid, sys::UniqueFd pidfd) {
  if (pidfd.get() > 2) return Launched{pid, std::move(pidfd)};
  sys::Ret above = sys::duplicate_above_stdio(pidfd.get());
  if (!above.ok()) {
    kill_and_reap(pidfd.get());
    return sys::error(above, "move the child's pidfd above stdio");
  }
  return Launched{pid, sys::UniqueFd{static_cast<int>(above.value)}};
}

// The errors that mean "no PID namespace here": the caller falls back.
bool namespace_refused(int err) {
  return err == EPERM || err == EACCES || err == EINVAL || err == ENOSPC || err == EUSERS || err == ENOSYS;
}

Result<Launched> launch_in_namespace(SpawnPlan& plan, Loop& loop) {
  Attempt a = clone_init_on_loop(plan, loop);
  plan.ns_go_read.reset();  // the init's ends
  plan.ns_started_write.reset();
  if (a.no_stack) return sys::error(ENOMEM, "allocate child stack");
  if (a.pid < 0) return sys::error(static_cast<int>(-a.pid), "clone into a new PID namespace");
  sys::UniqueFd pidfd{a.pidfd};
  if (auto started = start_in_namespace(plan, static_cast<pid_t>(a.pid)); !started) {
    kill_and_reap(pidfd.get());
    return std::move(started).error();
  }
  return launched(static_cast<pid_t>(a.pid), std::move(pidfd));
}

}  // namespace

Result<Launched> launch(SpawnPlan& plan, Loop& loop) {
  if (plan.child.ns.enabled) {
    auto in_namespace = launch_in_namespace(plan, loop);
    if (in_namespace || !namespace_refused(in_namespace.error().code().value()) ||
        plan.child.failed_step != ChildStep::none) {
      plan.child_ends.clear();
      plan.dev_null.reset();
      return in_namespace;
    }
    // No PID namespace here: a process group, and a note saying why.
    plan.tree = Tree::process_group;
    plan.tree_note = "no PID namespace (" + in_namespace.error().message() + "); used a process group";
    plan.child.ns = NamespacePlan{};
    plan.ns_report.reset();
    plan.ns_go_write.reset();
    plan.ns_started_read.reset();
  }
  int cgroup_fd = plan.leaf ? plan.leaf->dir.get() : -1;
  Attempt a = clone_on_the_right_thread(plan, loop, cgroup_fd);
  if (a.pid > 0 && plan.child.failed_step == ChildStep::fd_table) {
    // A sandbox refused the child its own copy of our fd table (it touched
    // nothing): from now on clone without sharing it, as posix_spawn does.
    kill_and_reap(a.pidfd);
    { sys::UniqueFd refused{a.pidfd}; }
    sys::note_no_share_files();
    plan.child.share_files = false;
    plan.child.unshare_fault = 0;
    plan.child.failed_step = ChildStep::none;
    plan.child.failed_errno = 0;
    a = clone_on_the_right_thread(plan, loop, cgroup_fd);
  }
  plan.child_ends.clear();
  plan.dev_null.reset();

  if (a.no_stack) return sys::error(ENOMEM, "allocate child stack");
  if (a.pid < 0) {
    std::string what = plan.leaf ? "clone into cgroup " + plan.leaf->path.string() : std::string{"clone"};
    return sys::error(static_cast<int>(-a.pid), what);
  }
  sys::UniqueFd pidfd{a.pidfd};
  if (plan.child.failed_step != ChildStep::none) {
    kill_and_reap(pidfd.get());
    return child_failure(plan);
  }
  return launched(static_cast<pid_t>(a.pid), std::move(pidfd));
}

}  // namespace procctx::detail
