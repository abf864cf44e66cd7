// The parent side of spawn: everything is prepared here, then one clone.
#include "spawn_linux.hpp"
#include "cgroup_linux.hpp"
#include "child_linux.hpp"
#include "relay_linux.hpp"

#include <algorithm>
#include <csignal>
#include <cstring>
#include <future>

#include <grp.h>
#include <pwd.h>

#include <fcntl.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace procctx::detail {
namespace {

std::string quoted(const std::string& s) { return "'" + s + "'"; }

// The program itself could not be run: errc::not_found for ENOENT (as
// execvp's callers read it: exit 127), errc::not_executable for the rest.
Error program_error(int err, const std::string& what) {
  Error e = sys::error(err, what);
  errc code = err == ENOENT ? errc::not_found : errc::not_executable;
  return Error{make_error_code(code), e.message(), e.code()};
}

bool is_executable_file(const std::string& path, int* err) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    *err = errno;
    return false;
  }
  if (!S_ISREG(st.st_mode)) {
    *err = EACCES;
    return false;
  }
  if (::access(path.c_str(), X_OK) != 0) {
    *err = errno;
    return false;
  }
  return true;
}

// Resolves `program` on the parent's PATH, as execvp would, but refuses a
// match through a relative entry unless allowed.
Result<std::string> resolve(const std::string& program, PathLookup lookup) {
  if (program.empty()) return Error{make_error_code(errc::invalid_argument), "empty program name"};
  if (program.find('/') != std::string::npos) return program;
  const char* env_path = ::getenv("PATH");
  std::string_view path = env_path ? env_path : "/usr/local/bin:/usr/bin:/bin";
  int best_err = ENOENT;
  for (;;) {
    auto colon = path.find(':');
    std::string dir{path.substr(0, colon)};
    std::string candidate = (dir.empty() ? std::string{"."} : dir) + "/" + program;
    int err = 0;
    if (is_executable_file(candidate, &err)) {
      if (dir.empty() || dir.front() != '/') {
        if (lookup == PathLookup::allow_relative) return candidate;
        return Error{make_error_code(errc::invalid_argument),
                     "found as " + candidate + " through the relative PATH entry '" + dir +
                         "'; refused (allow with PathLookup::allow_relative)"};
      }
      return candidate;
    }
    if (err == EACCES) best_err = EACCES;  // found but not runnable: say so
    if (colon == std::string_view::npos) break;
    path.remove_prefix(colon + 1);
  }
  return program_error(best_err, best_err == ENOENT ? "not found on PATH" : "found on PATH but not executable");
}

// The environment the child gets: the parent's (no copy) unless edited.
struct Env {
  std::vector<std::string> owned;
  std::vector<char*> ptrs;
  char* const* envp = nullptr;
};

void build_env(const Command& cmd, Env& env) {
  if (!cmd.env_cleared() && cmd.env_edits().empty()) {
    env.envp = environ;
    return;
  }
  for (char** e = environ; e && *e; ++e) {
    std::string_view kv{*e};
    std::string_view key = kv.substr(0, kv.find('='));
    const auto& keep = cmd.env_kept();
    if (!cmd.env_cleared() || std::find(keep.begin(), keep.end(), key) != keep.end())
      env.owned.emplace_back(kv);
  }
  for (const auto& edit : cmd.env_edits()) {
    const std::string& key = edit.first;
    const std::optional<std::string>& value = edit.second;
    auto same_key = [&key](const std::string& kv) {
      return kv.size() > key.size() && kv[key.size()] == '=' && kv.compare(0, key.size(), key) == 0;
    };
    std::erase_if(env.owned, same_key);
    if (value) env.owned.push_back(key + "=" + *value);
  }
  for (auto& kv : env.owned) env.ptrs.push_back(kv.data());
  env.ptrs.push_back(nullptr);
  env.envp = env.ptrs.data();
}

// A private stack for the child, one per spawning thread, kept for reuse.
// It is only used while this thread is suspended in clone.
struct ChildStack {
  static constexpr std::size_t kSize = 64 * 1024;
  static constexpr std::size_t kGuard = 4096;
  void* base = nullptr;
  ChildStack() {
    void* p = ::mmap(nullptr, kSize + kGuard, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK,
                     -1, 0);
    if (p == MAP_FAILED) return;
    ::mprotect(p, kGuard, PROT_NONE);  // the stack grows down into this
    base = p;
  }
  ~ChildStack() {
    if (base) ::munmap(base, kSize + kGuard);
  }
  void* bottom() const { return static_cast<char*>(base) + kGuard; }
};

const char* stream_name(int fd) {
  static const char* const names[] = {"stdin", "stdout", "stderr"};
  return names[fd];
}

// The fds of one spawn: what the child gets, and what the parent keeps.
struct FdPlan {
  std::vector<sys::UniqueFd> child_ends;  // closed in the parent after clone
  sys::UniqueFd parent_end[3];            // pipes the parent reads/writes
  sys::UniqueFd dev_null;
  std::shared_ptr<RelaySink> sink[3];     // Stdio::relay destinations
};

Result<void> plan_stdio(const Command& cmd, ChildPlan& plan, FdPlan& fds) {
  for (int i = 0; i < 3; ++i) {
    const Stdio& s = cmd.stdio(i);
    auto bad = [&](const char* why) {
      return Error{make_error_code(errc::invalid_argument), std::string{why} + " for " + stream_name(i)};
    };
    int source = -1;
    switch (s.kind()) {
      case Stdio::Kind::inherit:
        // A closed parent fd stays closed in the child.
        source = ::fcntl(i, F_GETFD) == -1 ? -1 : i;
        break;
      case Stdio::Kind::null:
        if (!fds.dev_null) {
          sys::Ret r = sys::call(sys::Call::open, [] { return ::open("/dev/null", O_RDWR | O_CLOEXEC); });
          if (!r.ok()) return sys::error(r, "open /dev/null");
          auto lifted = sys::lift_above_stdio(sys::UniqueFd{static_cast<int>(r.value)});
          if (!lifted) return std::move(lifted).error();
          fds.dev_null = std::move(*lifted);
        }
        source = fds.dev_null.get();
        break;
      case Stdio::Kind::closed:
        source = -1;
        break;
      case Stdio::Kind::relay:
      case Stdio::Kind::pipe:
      case Stdio::Kind::capture:
      case Stdio::Kind::data: {
        if (i == 0 && s.kind() == Stdio::Kind::capture) return bad("Stdio::capture() is not valid");
        if (i == 0 && s.kind() == Stdio::Kind::relay) return bad("Stdio::relay() is not valid");
        if (i != 0 && s.kind() == Stdio::Kind::data) return bad("Stdio::data() is not valid");
        if (s.kind() == Stdio::Kind::relay) {
          auto loop = Loop::get();
          if (!loop) return std::move(loop).error();
          auto sink = RelaySink::for_fd(**loop, s.raw_fd());
          if (!sink) return std::move(sink).error().wrap(std::string{"Stdio::relay() for "} + stream_name(i));
          fds.sink[i] = std::move(*sink);
        }
        auto p = sys::make_pipe();
        if (!p) return std::move(p).error().wrap(std::string{"pipe for "} + stream_name(i));
        sys::UniqueFd& parent = i == 0 ? p->write : p->read;
        sys::UniqueFd& child = i == 0 ? p->read : p->write;
        if (auto r = sys::set_nonblocking(parent.get()); !r) return std::move(r).error();
        source = child.get();
        fds.child_ends.push_back(std::move(child));
        fds.parent_end[i] = std::move(parent);
        break;
      }
      case Stdio::Kind::file: {
        FileMode mode = s.mode();
        if (mode == FileMode::automatic) mode = i == 0 ? FileMode::read : FileMode::truncate;
        int flags = O_CLOEXEC;
        switch (mode) {
          case FileMode::read:
            flags |= O_RDONLY;
            break;
          case FileMode::truncate:
            flags |= O_WRONLY | O_CREAT | O_TRUNC;
            break;
          case FileMode::append:
            flags |= O_WRONLY | O_CREAT | O_APPEND;
            break;
          case FileMode::automatic:
            break;
        }
        const char* path = s.path().c_str();
        sys::Ret r = sys::call(sys::Call::open, [&] { return ::open(path, flags, 0666); });
        if (!r.ok())
          return sys::error(r, std::string{"open "} + stream_name(i) + " file " + s.path().string());
        auto lifted = sys::lift_above_stdio(sys::UniqueFd{static_cast<int>(r.value)});
        if (!lifted) return std::move(lifted).error();
        source = lifted->get();
        fds.child_ends.push_back(std::move(*lifted));
        break;
      }
      case Stdio::Kind::fd:
        if (::fcntl(s.raw_fd(), F_GETFD) == -1) {
          return sys::error(errno, "Stdio::fd(" + std::to_string(s.raw_fd()) + ") for " + stream_name(i));
        }
        source = s.raw_fd();
        break;
      case Stdio::Kind::to_stdout:
        if (i != 2) return bad("Stdio::to_stdout() is only valid");
        source = plan.source[1];
        break;
    }
    plan.source[plan.nfds] = source;
    plan.target[plan.nfds] = i;
    ++plan.nfds;
  }
  return {};
}

std::string rlimit_name(int resource) {
  static const char* const names[] = {"CPU",      "FSIZE",  "DATA",    "STACK", "CORE",  "RSS",
                                      "NPROC",    "NOFILE", "MEMLOCK", "AS",    "LOCKS", "SIGPENDING",
                                      "MSGQUEUE", "NICE",   "RTPRIO",  "RTTIME"};
  if (resource >= 0 && resource < 16) return std::string{"RLIMIT_"} + names[resource];
  return "rlimit " + std::to_string(resource);
}

Error invalid(std::string message) {
  return Error{make_error_code(errc::invalid_argument), std::move(message)};
}

// Ids of users and groups, resolved in the parent (NSS may load modules and
// allocate: never in the child).
struct Credentials {
  std::vector<unsigned int> groups;
};

Result<passwd> lookup_user(const Principal& u, std::vector<char>& buf) {
  passwd pw{}, *found = nullptr;
  buf.resize(16384);
  int rc = u.by_id() ? ::getpwuid_r(u.id(), &pw, buf.data(), buf.size(), &found)
                     : ::getpwnam_r(u.name().c_str(), &pw, buf.data(), buf.size(), &found);
  if (rc != 0) return sys::error(rc, "user '" + u.to_string() + "'");
  if (!found) {
    if (u.by_id()) {  // a bare id is allowed without a passwd entry
      pw.pw_uid = u.id();
      pw.pw_gid = static_cast<gid_t>(-1);
      return pw;
    }
    return invalid("user '" + u.to_string() + "': no such user");
  }
  return pw;
}

Result<unsigned int> lookup_group(const Principal& g) {
  if (g.by_id()) return g.id();
  group gr{}, *found = nullptr;
  std::vector<char> buf(16384);
  int rc = ::getgrnam_r(g.name().c_str(), &gr, buf.data(), buf.size(), &found);
  if (rc != 0) return sys::error(rc, "group '" + g.to_string() + "'");
  if (!found) return invalid("group '" + g.to_string() + "': no such group");
  return gr.gr_gid;
}

Result<void> plan_isolation(const Command& cmd, ChildPlan& plan, Credentials& creds) {
  if (cmd.user()) {
    std::vector<char> buf;
    auto pw = lookup_user(*cmd.user(), buf);
    if (!pw) return std::move(pw).error();
    plan.uid = pw->pw_uid;
    if (!cmd.group()) {
      if (pw->pw_gid == static_cast<gid_t>(-1)) {
        return invalid("user " + cmd.user()->to_string() + " has no passwd entry: give group() as well");
      }
      plan.gid = pw->pw_gid;
    }
  }
  if (cmd.group()) {
    auto g = lookup_group(*cmd.group());
    if (!g) return std::move(g).error();
    plan.gid = *g;
  }
  if (cmd.groups()) {
    for (const auto& g : *cmd.groups()) {
      auto id = lookup_group(g);
      if (!id) return std::move(id).error();
      creds.groups.push_back(*id);
    }
  }
  // Switching identity never keeps the parent's supplementary groups by
  // accident: they are exactly groups(), or none.
  if (cmd.groups() || cmd.user() || cmd.group()) {
    plan.groups = creds.groups.data();
    plan.ngroups = static_cast<int>(creds.groups.size());
  }

  if (cmd.rlimits().size() > static_cast<std::size_t>(ChildPlan::kMaxLimits)) {
    return invalid("too many rlimits (at most " + std::to_string(ChildPlan::kMaxLimits) + ")");
  }
  for (const Rlimit& l : cmd.rlimits()) {
    std::string name = rlimit_name(l.resource);
    if (l.resource < 0 || l.resource >= RLIM_NLIMITS) return invalid(name + ": no such resource");
    if (l.soft > l.hard) {
      return invalid(name + ": soft limit " + std::to_string(l.soft) + " above hard limit " +
                     std::to_string(l.hard));
    }
    rlimit current{};
    ::getrlimit(static_cast<__rlimit_resource_t>(l.resource), &current);
    if (l.hard > current.rlim_max && ::geteuid() != 0) {
      return invalid(name + ": hard limit " + std::to_string(l.hard) + " above the current hard limit " +
                     std::to_string(current.rlim_max) + " (raising it needs CAP_SYS_RESOURCE)");
    }
    plan.rlimits[plan.nrlimits++] = {l.resource, l.soft, l.hard};
  }
  if (cmd.umask()) {
    if (*cmd.umask() > 0777)
      return invalid("umask " + std::to_string(*cmd.umask()) + ": not a mode (0 to 0777)");
    plan.umask = static_cast<int>(*cmd.umask());
  }
  plan.no_new_privs = cmd.no_new_privs_set();
  plan.new_session = cmd.new_session_set();
  if (int tty = cmd.foreground_terminal(); tty >= 0) {
    if (cmd.tree() == Tree::none) return invalid("foreground_terminal needs a new process group, not Tree::none");
    if (!::isatty(tty)) return invalid("foreground_terminal: fd " + std::to_string(tty) + " is not a terminal");
    plan.foreground_tty = tty;
  }
  if (int sig = cmd.parent_death_signal(); sig != 0) {
    if (sig < 1 || sig > 64) return invalid("parent_death_signal " + std::to_string(sig) + ": not a signal");
    plan.parent_death_signal = sig;
    plan.parent_pid = ::getpid();
  }
  return {};
}

Result<void> plan_passed_fds(const Command& cmd, ChildPlan& plan) {
  for (const auto& [parent_fd, child_fd] : cmd.passed_fds()) {
    std::string what = "pass_fd(" + std::to_string(parent_fd) + ", " + std::to_string(child_fd) + ")";
    if (child_fd < 3)
      return invalid(what + ": child fd " + std::to_string(child_fd) +
                     " is stdio; use in()/out()/err() with Stdio::fd()");
    for (int i = 0; i < plan.nfds; ++i) {
      if (plan.target[i] == child_fd)
        return invalid(what + ": child fd " + std::to_string(child_fd) + " is given twice");
    }
    if (::fcntl(parent_fd, F_GETFD) == -1)
      return sys::error(errno, what + ": fd " + std::to_string(parent_fd) + " is not open");
    if (plan.nfds == ChildPlan::kMaxFds) return invalid(what + ": too many passed fds");
    plan.source[plan.nfds] = parent_fd;
    plan.target[plan.nfds] = child_fd;
    ++plan.nfds;
  }
  return {};
}

// Reaps a child we are abandoning during spawn: it has exited (or is killed
// here), so this waits only for the kernel.
void kill_and_reap(int pidfd) noexcept {
  ::syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, nullptr, 0);
  siginfo_t info;
  (void)sys::call(sys::Call::waitid,
                  [&] { return ::syscall(SYS_waitid, P_PIDFD, pidfd, &info, WEXITED, nullptr); });
}

}  // namespace

Result<Process> spawn(const Command& cmd, const Context& ctx, SourceLocation where, ExitWatch exit_watch) {
  const std::string& program = cmd.program();
  auto fail = [&](Error e) { return std::move(e).wrap("spawn " + quoted(program)); };

  if (ctx.done()) return fail(Error{ctx.err(), "context already done: " + ctx.cause()});
  auto path = resolve(program, cmd.path_lookup());
  if (!path) return fail(std::move(path).error());

  ChildPlan plan;
  std::vector<std::string> argv = cmd.argv();
  std::vector<char*> argv_ptrs;
  argv_ptrs.reserve(argv.size() + 1);
  for (auto& a : argv) argv_ptrs.push_back(a.data());
  argv_ptrs.push_back(nullptr);
  Env env;
  build_env(cmd, env);
  std::string cwd = cmd.cwd() ? cmd.cwd()->string() : std::string{};

  FdPlan fds;
  if (auto r = plan_stdio(cmd, plan, fds); !r) return fail(std::move(r).error());
  if (auto r = plan_passed_fds(cmd, plan); !r) return fail(std::move(r).error());
  Credentials creds;
  if (auto r = plan_isolation(cmd, plan, creds); !r) return fail(std::move(r).error());
  for (int i = 0; i < plan.nfds; ++i) {
    if (plan.target[i] > 2) plan.keep[plan.nkeep++] = plan.target[i];
  }
  std::sort(plan.keep, plan.keep + plan.nkeep);

  std::vector<char*> sh_argv;
  static char sh_path[] = "/bin/sh";
  if (cmd.has_shell_fallback()) {
    sh_argv.push_back(sh_path);
    sh_argv.push_back(path->data());
    sh_argv.insert(sh_argv.end(), argv_ptrs.begin() + 1, argv_ptrs.end());  // ends with the nullptr
    plan.sh_argv = sh_argv.data();
  }
  plan.keep_inherited = cmd.keeps_inherited_fds();
  plan.path = path->c_str();
  plan.argv = argv_ptrs.data();
  plan.envp = env.envp;
  plan.cwd = cmd.cwd() ? cwd.c_str() : nullptr;
  plan.new_process_group = cmd.tree() != Tree::none;  // cgroup mode too: a fallback and job control
  plan.use_close_range = sys::have_close_range() && sys::injected(sys::Call::close_range) == 0;
  plan.share_files = sys::can_share_files();
  plan.unshare_fault = plan.share_files ? sys::injected(sys::Call::unshare) : 0;

  auto loop = Loop::get();
  if (!loop) return fail(std::move(loop).error());

  // Tree::cgroup: a fresh leaf, or a process group and a note saying why.
  Tree tree = cmd.tree();
  std::string tree_note;
  std::optional<cgroup::Leaf> leaf;
  if (cmd.limits().any() && tree != Tree::cgroup) {
    return fail(Error{make_error_code(errc::invalid_argument), "cgroup limits need Tree::cgroup"});
  }
  if (tree == Tree::cgroup) {
    auto made = cgroup::create_leaf(cmd.cgroup_parent(), cmd.limits());
    if (made) {
      leaf = std::move(*made);
    } else if (cmd.limits().any() || !cmd.cgroup_parent().empty()) {
      // Asked for explicitly: running unconfined instead would be a lie.
      return fail(std::move(made).error());
    } else {
      tree = Tree::process_group;
      tree_note = "no cgroup (" + made.error().message() + "); used a process group";
    }
  }
  struct LeafGuard {
    std::optional<cgroup::Leaf>& leaf;
    ~LeafGuard() {
      if (leaf) cgroup::release(*leaf);
    }
  } leaf_guard{leaf};
  int cgroup_fd = leaf ? leaf->dir.get() : -1;

  int pidfd = -1;
  long pid = -ENOSYS;
  bool no_stack = false;
  auto start_child = [&] {
    thread_local ChildStack stack;
    if (!stack.base) {
      no_stack = true;
      return;
    }
    // No signal handler may run in the child while it shares our memory.
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pid = -ENOSYS;
    if (sys::have_clone3()) {
      int injected = sys::injected(sys::Call::clone3);
      pid = injected ? -injected
                     : clone_child(&plan, stack.bottom(), ChildStack::kSize, &pidfd, true, cgroup_fd);
      // Seccomp filters in containers often answer ENOSYS for clone3.
      if (pid == -ENOSYS) sys::note_no_clone3();
      // A kernel without CLONE_INTO_CGROUP (before 5.7) rejects the flag.
      if (cgroup_fd >= 0 && (pid == -EINVAL || pid == -EOPNOTSUPP)) pid = -ENOSYS;
    }
    if (pid == -ENOSYS) {
      plan.cgroup_dir = cgroup_fd;  // the child joins the leaf itself
      int injected = sys::injected(sys::Call::clone);
      pid = injected ? -injected : clone_child(&plan, stack.bottom(), ChildStack::kSize, &pidfd, false, -1);
    }
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
  };
  auto launch = [&] {
    if (plan.parent_death_signal && !(*loop)->on_loop_thread()) {
      // The kernel sends the parent-death signal when the *thread* that
      // created the child exits. The loop thread lives as long as the
      // process, so children that ask for it are started there.
      std::promise<void> started;
      (*loop)->post([&] {
        start_child();
        started.set_value();
      });
      started.get_future().wait();
    } else {
      start_child();
    }
  };
  launch();
  if (pid > 0 && plan.failed_step == ChildStep::fd_table) {
    // A sandbox refused the child its own copy of our fd table (it touched
    // nothing): from now on clone without sharing it, as posix_spawn does.
    kill_and_reap(pidfd);
    ::close(pidfd);
    pidfd = -1;
    sys::note_no_share_files();
    plan.share_files = false;
    plan.unshare_fault = 0;
    plan.failed_step = ChildStep::none;
    plan.failed_errno = 0;
    launch();
  }
  fds.child_ends.clear();
  fds.dev_null.reset();

  if (no_stack) return fail(sys::error(ENOMEM, "allocate child stack"));
  if (pid < 0) {
    std::string what = leaf ? "clone into cgroup " + leaf->path.string() : std::string{"clone"};
    return fail(sys::error(static_cast<int>(-pid), what));
  }
  sys::UniqueFd owned_pidfd{pidfd};
  if (plan.failed_step != ChildStep::none) {
    kill_and_reap(pidfd);
    std::string what = step_name(plan.failed_step);
    if (plan.failed_step == ChildStep::chdir) what += " " + cwd;
    if (plan.failed_step == ChildStep::exec) {
      what += " " + *path;
      // ENOENT for a file that exists means its #! interpreter is missing.
      if (plan.failed_errno == ENOENT && ::access(path->c_str(), F_OK) == 0) {
        what += " (its interpreter was not found)";
      }
      return fail(program_error(plan.failed_errno, what));
    }
    return fail(sys::error(plan.failed_errno, what));
  }

  auto child = std::make_shared<ChildState>();
  child->pid = static_cast<pid_t>(pid);
  child->argv = std::move(argv);
  child->started = Clock::now();
  child->tree = tree;
  child->leftover_policy = cmd.leftovers();
  if (leaf) {
    child->result.cgroup = leaf->path.string();
    child->leaf = std::move(leaf);
    leaf.reset();
  }
  child->result.tree_note = std::move(tree_note);
  child->stop = cmd.stop_sequence();
  child->on_stop_signal = cmd.on_stop_signal();
  child->wait_delay = cmd.wait_delay();
  child->where = where;
  child->loop = *loop;
  child->pidfd = std::move(owned_pidfd);
  child->result.pid = child->pid;
  child->result.argv = child->argv;
  child->result.tree = child->tree;
  if (trace::on()) child->trace_span = trace::spawned(*child);

  Process process = SpawnAccess::make(child);
  {
    std::lock_guard lock{child->mu};
    Loop& l = **loop;
    Result<void> ok;
    // The loop's callbacks hold the child alive until they are unwatched.
    if (exit_watch == ExitWatch::loop) {
      auto w = l.watch(child->pidfd.get(), EPOLLIN, [child](std::uint32_t) { child->on_pidfd(); });
      if (w)
        child->pid_watch = *w;
      else
        ok = std::move(w).error();
    }
    for (int i = 1; i < 3 && ok; ++i) {
      const Stdio& s = cmd.stdio(i);
      if (s.kind() != Stdio::Kind::capture && s.kind() != Stdio::Kind::relay) continue;
      auto& stream = child->streams[i - 1];
      if (s.kind() == Stdio::Kind::relay) {
        std::weak_ptr<ChildState> weak = child;
        stream.relay = std::make_shared<RelaySource>(std::move(fds.sink[i]), s.relay_options(), [weak, i] {
          if (auto c = weak.lock()) c->on_relay_ready(i - 1);
        });
        stream.on_broken_pipe = s.relay_options().on_broken_pipe;
      } else {
        stream.capture = Capture{s.limit()};
      }
      stream.fd = std::move(fds.parent_end[i]);
      auto sw = l.watch(stream.fd.get(), EPOLLIN, [child, i](std::uint32_t) { child->on_stream(i - 1); });
      if (sw)
        stream.watch = *sw;
      else
        ok = std::move(sw).error();
    }
    if (ok && cmd.stdio(0).kind() == Stdio::Kind::data) {
      child->feed.fd = std::move(fds.parent_end[0]);
      child->feed.bytes = std::make_shared<const std::string>(cmd.stdio(0).bytes());
      auto fw = l.watch(child->feed.fd.get(), EPOLLOUT, [child](std::uint32_t) { child->on_feed(); });
      if (fw)
        child->feed.watch = *fw;
      else
        ok = std::move(fw).error();
    }
    if (!ok) {
      // Could not hand the child to the loop: it must not outlive this call.
      l.unwatch(child->pid_watch, child->pidfd.get());
      for (int i = 0; i < 2; ++i) child->close_stream_locked(i);
      child->close_feed_locked();
      kill_and_reap(child->pidfd.get());
      child->reaped = child->finished = true;
      child->collected = true;  // an error went back to the caller: nothing leaked
      return fail(std::move(ok).error().wrap("watch child"));
    }
  }
  if (cmd.stdio(0).kind() == Stdio::Kind::pipe)
    SpawnAccess::set(process.in(), fds.parent_end[0].release(), ctx);
  if (cmd.stdio(1).kind() == Stdio::Kind::pipe)
    SpawnAccess::set(process.out(), fds.parent_end[1].release(), ctx);
  if (cmd.stdio(2).kind() == Stdio::Kind::pipe)
    SpawnAccess::set(process.err(), fds.parent_end[2].release(), ctx);

  // Registered last and outside the child's lock: on a context that ended
  // meanwhile the callback runs right here.
  std::weak_ptr<ChildState> weak = child;
  Registration reg = ctx.on_done([weak, ctx] {
    // Runs on whichever thread ends the context: hand the work to the loop
    // so that cancelling a thousand children stays a quick call.
    if (auto s = weak.lock()) {
      if (trace::on()) trace::context_done(s->pid, ctx.err(), ctx.cause());
      bool deadline = ctx.err() == errc::deadline_exceeded;
      s->post_stop(deadline ? StopReason::deadline : StopReason::canceled, ctx.cause());
    }
  });
  {
    std::lock_guard lock{child->mu};
    if (!child->finished) child->on_ctx_done = std::move(reg);
  }
  return process;
}

}  // namespace procctx::detail
