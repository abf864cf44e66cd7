#include "spawn_plan_linux.hpp"

#include "shown.hpp"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>

#include <fcntl.h>
#include <sys/mman.h>
#include <grp.h>
#include <pwd.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

extern char** environ;

namespace procctx::detail {
namespace {

Error invalid(std::string message) { return Error{make_error_code(errc::invalid_argument), std::move(message)}; }

const char* stream_name(int fd) {
  static const char* const names[] = {"stdin", "stdout", "stderr"};
  return names[fd];
}

// A program named without a slash is looked up on PATH by the child, right
// before its execve (spawn_child_linux.cpp), as execvp does: a lookup here
// would cost the parent one stat per entry (about 2 µs each), per spawn,
// and a cache of it could go stale (docs/design.md, "Finding the program").
// What the child needs is prepared here: PATH's entries (the parent's PATH,
// read now), NUL-separated, and room for the longest candidate.
Result<void> plan_search(const std::string& program, PathLookup lookup, SpawnPlan& plan) {
  if (program.empty()) return invalid("empty program name");
  plan.path = program;
  if (program.find('/') != std::string::npos) return {};
  const char* env_path = ::getenv("PATH");
  std::string_view path = env_path ? env_path : "/usr/local/bin:/usr/bin:/bin";
  plan.search_entries.assign(path);
  std::size_t longest = 0, from = 0;
  int n = 1;
  for (std::size_t i = 0; i <= plan.search_entries.size(); ++i) {
    if (i < plan.search_entries.size() && plan.search_entries[i] != ':') continue;
    longest = std::max(longest, i - from);
    if (i < plan.search_entries.size()) {
      plan.search_entries[i] = '\0';
      ++n;
    }
    from = i + 1;
  }
  plan.candidate.assign(std::max<std::size_t>(longest, 1) + 1 + program.size(), '\0');
  PathSearch& s = plan.child.search;
  s.program = plan.path.c_str();
  s.entries = plan.search_entries.c_str();
  s.nentries = n;
  s.refuse_relative = lookup != PathLookup::allow_relative;
  s.candidate = plan.candidate.data();
  return {};
}

// The PATH entry `i` of a planned search, and the candidate made from it.
std::string_view search_entry(const SpawnPlan& plan, int i) {
  const char* e = plan.search_entries.c_str();
  for (; i > 0; --i) e += std::strlen(e) + 1;
  return e;
}

std::string candidate_of(const SpawnPlan& plan, int i) {
  std::string_view dir = search_entry(plan, i);
  return concat(dir.empty() ? std::string_view{"."} : dir, "/", plan.path);
}

// The environment the child gets: the parent's (no copy) unless edited.
// The parent's entries are passed by pointer, as they are; only what the
// edits set is built here. An edit of a key replaces the parent's entry
// (its place moves to the end); the last edit of a key is the one that counts.
void plan_env(const Environment& env, SpawnPlan& plan) {
  if (!env.clear && env.edits.empty()) {
    plan.child.envp = environ;
    return;
  }
  auto edited = [&env](std::string_view key) {
    return std::any_of(env.edits.begin(), env.edits.end(), [key](const auto& e) { return e.first == key; });
  };
  for (char** e = environ; e && *e; ++e) {
    std::string_view kv{*e};
    std::string_view key = kv.substr(0, kv.find('='));
    if (env.clear && std::find(env.keep.begin(), env.keep.end(), key) == env.keep.end()) continue;
    if (!edited(key)) plan.env_ptrs.push_back(*e);
  }
  for (auto edit = env.edits.begin(); edit != env.edits.end(); ++edit) {
    const std::string& key = edit->first;
    bool overridden = std::any_of(edit + 1, env.edits.end(), [&key](const auto& later) { return later.first == key; });
    if (!overridden && edit->second) plan.env_owned.push_back(key + "=" + *edit->second);
  }
  for (auto& kv : plan.env_owned) plan.env_ptrs.push_back(kv.data());
  plan.env_ptrs.push_back(nullptr);
  plan.child.envp = plan.env_ptrs.data();
}

void plan_argv(const CommandOptions& o, SpawnPlan& plan) {
  plan.argv.reserve(o.args.size() + 1);
  plan.argv.push_back(o.arg0 ? *o.arg0 : o.program);
  plan.argv.insert(plan.argv.end(), o.args.begin(), o.args.end());
  plan.argv_ptrs.reserve(plan.argv.size() + 1);
  for (auto& a : plan.argv) plan.argv_ptrs.push_back(a.data());
  plan.argv_ptrs.push_back(nullptr);
  plan.child.path = plan.path.c_str();
  plan.child.argv = plan.argv_ptrs.data();
  if (o.shell_fallback) {
    static char sh[] = "/bin/sh";
    plan.sh_argv.push_back(sh);
    // With a PATH search, the candidate the child runs (it writes it there).
    plan.sh_argv.push_back(plan.child.search.program ? plan.candidate.data() : plan.path.data());
    plan.sh_argv.insert(plan.sh_argv.end(), plan.argv_ptrs.begin() + 1, plan.argv_ptrs.end());
    plan.child.sh_argv = plan.sh_argv.data();
  }
}

// An fd of ours for the child, above 2 (stdio may be closed in the parent).
Result<int> keep_for_child(sys::Ret opened, const std::string& what, SpawnPlan& plan) {
  if (!opened.ok()) return sys::error(opened, what);
  auto lifted = sys::lift_above_stdio(sys::UniqueFd{static_cast<int>(opened.value)});
  if (!lifted) return std::move(lifted).error();
  int fd = lifted->get();
  plan.child_ends.push_back(std::move(*lifted));
  return fd;
}

Result<int> open_stdio_file(const Stdio& s, int i, SpawnPlan& plan) {
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
  return keep_for_child(r, concat("open ", stream_name(i), " file ", printable(s.path().string())), plan);
}

Result<int> open_dev_null(SpawnPlan& plan) {
  if (!plan.dev_null) {
    sys::Ret r = sys::call(sys::Call::open, [] { return ::open("/dev/null", O_RDWR | O_CLOEXEC); });
    if (!r.ok()) return sys::error(r, "open /dev/null");
    auto lifted = sys::lift_above_stdio(sys::UniqueFd{static_cast<int>(r.value)});
    if (!lifted) return std::move(lifted).error();
    plan.dev_null = std::move(*lifted);
  }
  return plan.dev_null.get();
}

// A pipe: the child's end for fd `i`, the parent's kept non-blocking.
Result<int> open_stdio_pipe(int i, SpawnPlan& plan) {
  auto p = sys::make_pipe();
  if (!p) return std::move(p).error().wrap(std::string{"pipe for "} + stream_name(i));
  sys::UniqueFd& parent = i == 0 ? p->write : p->read;
  sys::UniqueFd& child = i == 0 ? p->read : p->write;
  if (auto r = sys::set_nonblocking(parent.get()); !r) return std::move(r).error();
  int source = child.get();
  plan.child_ends.push_back(std::move(child));
  plan.parent_end[i] = std::move(parent);
  return source;
}

Result<void> check_stdio_kind(const Stdio& s, int i) {
  auto bad = [&](const char* what) {
    return invalid(std::string{what} + " is not valid for " + stream_name(i));
  };
  switch (s.kind()) {
    case Stdio::Kind::capture:
      return i == 0 ? Result<void>{bad("Stdio::capture()")} : Result<void>{};
    case Stdio::Kind::relay:
      return i == 0 ? Result<void>{bad("Stdio::relay()")} : Result<void>{};
    case Stdio::Kind::data:
      return i != 0 ? Result<void>{bad("Stdio::data()")} : Result<void>{};
    case Stdio::Kind::to_stdout:
      return i != 2 ? Result<void>{invalid(std::string{"Stdio::to_stdout() is only valid for stderr"})}
                    : Result<void>{};
    default:
      return {};
  }
}

// The parent fd the child's fd `i` becomes a copy of (-1: closed).
Result<int> stdio_source(const Stdio& s, int i, Loop& loop, SpawnPlan& plan) {
  if (auto ok = check_stdio_kind(s, i); !ok) return std::move(ok).error();
  switch (s.kind()) {
    case Stdio::Kind::inherit:
      return sys::is_open(i) ? i : -1;  // a closed parent fd stays closed in the child
    case Stdio::Kind::closed:
      return -1;
    case Stdio::Kind::null:
      return open_dev_null(plan);
    case Stdio::Kind::relay: {
      auto sink = RelaySink::for_fd(loop, s.raw_fd());
      if (!sink) return std::move(sink).error().wrap(std::string{"Stdio::relay() for "} + stream_name(i));
      plan.sink[i] = std::move(*sink);
      return open_stdio_pipe(i, plan);
    }
    case Stdio::Kind::pipe:
    case Stdio::Kind::capture:
    case Stdio::Kind::data:
      return open_stdio_pipe(i, plan);
    case Stdio::Kind::file:
      return open_stdio_file(s, i, plan);
    case Stdio::Kind::fd:
      if (!sys::is_open(s.raw_fd())) {
        return sys::error(EBADF, "Stdio::fd(" + std::to_string(s.raw_fd()) + ") for " + stream_name(i));
      }
      return s.raw_fd();
    case Stdio::Kind::to_stdout:
      return plan.child.source[1];
  }
  return -1;
}

Result<void> plan_stdio(const CommandOptions& o, Loop& loop, SpawnPlan& plan) {
  for (int i = 0; i < 3; ++i) {
    auto source = stdio_source(o.stdio[static_cast<std::size_t>(i)], i, loop, plan);
    if (!source) return std::move(source).error();
    plan.child.source[plan.child.nfds] = *source;
    plan.child.target[plan.child.nfds] = i;
    ++plan.child.nfds;
  }
  return {};
}

Result<void> plan_passed_fds(const CommandOptions& o, ChildPlan& plan) {
  for (const auto& [parent_fd, child_fd] : o.passed_fds) {
    std::string what = "pass_fd(" + std::to_string(parent_fd) + ", " + std::to_string(child_fd) + ")";
    if (child_fd < 3) {
      return invalid(what + ": child fd " + std::to_string(child_fd) +
                     " is stdio; use in()/out()/err() with Stdio::fd()");
    }
    for (int i = 0; i < plan.nfds; ++i) {
      if (plan.target[i] == child_fd) return invalid(what + ": child fd " + std::to_string(child_fd) + " is given twice");
    }
    if (!sys::is_open(parent_fd)) return sys::error(EBADF, what + ": fd " + std::to_string(parent_fd) + " is not open");
    if (plan.nfds == ChildPlan::kMaxFds) return invalid(what + ": too many passed fds");
    plan.source[plan.nfds] = parent_fd;
    plan.target[plan.nfds] = child_fd;
    ++plan.nfds;
  }
  for (int i = 0; i < plan.nfds; ++i) {
    if (plan.target[i] > 2) plan.keep[plan.nkeep++] = plan.target[i];
  }
  std::sort(plan.keep, plan.keep + plan.nkeep);
  return {};
}

// Users and groups are resolved in the parent (NSS may load modules and
// allocate: never in the child).
Result<passwd> lookup_user(const Principal& u, std::vector<char>& buf) {
  passwd pw{}, *found = nullptr;
  buf.resize(16384);
  int rc = u.by_id() ? ::getpwuid_r(u.id(), &pw, buf.data(), buf.size(), &found)
                     : ::getpwnam_r(u.name().c_str(), &pw, buf.data(), buf.size(), &found);
  if (rc != 0) return sys::error(rc, concat("user ", shown(u.to_string())));
  if (!found) {
    if (u.by_id()) {  // a bare id is allowed without a passwd entry
      pw.pw_uid = u.id();
      pw.pw_gid = static_cast<gid_t>(-1);
      return pw;
    }
    return invalid(concat("user ", shown(u.to_string()), ": no such user"));
  }
  return pw;
}

Result<unsigned int> lookup_group(const Principal& g) {
  if (g.by_id()) return g.id();
  group gr{}, *found = nullptr;
  std::vector<char> buf(16384);
  int rc = ::getgrnam_r(g.name().c_str(), &gr, buf.data(), buf.size(), &found);
  if (rc != 0) return sys::error(rc, concat("group ", shown(g.to_string())));
  if (!found) return invalid(concat("group ", shown(g.to_string()), ": no such group"));
  return gr.gr_gid;
}

Result<void> plan_identity(const CommandOptions& o, SpawnPlan& plan) {
  ChildPlan& c = plan.child;
  if (o.user) {
    std::vector<char> buf;
    auto pw = lookup_user(*o.user, buf);
    if (!pw) return std::move(pw).error();
    c.uid = pw->pw_uid;
    if (!o.group) {
      if (pw->pw_gid == static_cast<gid_t>(-1)) {
        return invalid("user " + o.user->to_string() + " has no passwd entry: give group() as well");
      }
      c.gid = pw->pw_gid;
    }
  }
  if (o.group) {
    auto g = lookup_group(*o.group);
    if (!g) return std::move(g).error();
    c.gid = *g;
  }
  if (o.groups) {
    for (const auto& g : *o.groups) {
      auto id = lookup_group(g);
      if (!id) return std::move(id).error();
      plan.groups.push_back(*id);
    }
  }
  // Switching identity never keeps the parent's supplementary groups by
  // accident: they are exactly groups(), or none.
  if (o.groups || o.user || o.group) {
    c.groups = plan.groups.data();
    c.ngroups = static_cast<int>(plan.groups.size());
  }
  return {};
}

Result<void> plan_limits(const CommandOptions& o, ChildPlan& c) {
  if (o.rlimits.size() > static_cast<std::size_t>(ChildPlan::kMaxLimits)) {
    return invalid("too many rlimits (at most " + std::to_string(ChildPlan::kMaxLimits) + ")");
  }
  for (const Rlimit& l : o.rlimits) {
    std::string name = rlimit_name(l.resource);
    if (l.resource < 0 || l.resource >= RLIM_NLIMITS) return invalid(name + ": no such resource");
    if (l.soft > l.hard) {
      return invalid(name + ": soft limit " + std::to_string(l.soft) + " above hard limit " + std::to_string(l.hard));
    }
    rlimit current{};
    ::getrlimit(static_cast<__rlimit_resource_t>(l.resource), &current);
    if (l.hard > current.rlim_max && ::geteuid() != 0) {
      return invalid(name + ": hard limit " + std::to_string(l.hard) + " above the current hard limit " +
                     std::to_string(current.rlim_max) + " (raising it needs CAP_SYS_RESOURCE)");
    }
    c.rlimits[c.nrlimits++] = {l.resource, l.soft, l.hard};
  }
  if (o.umask) {
    if (*o.umask > 0777) return invalid("umask " + std::to_string(*o.umask) + ": not a mode (0 to 0777)");
    c.umask = static_cast<int>(*o.umask);
  }
  return {};
}

Result<void> plan_session(const CommandOptions& o, ChildPlan& c) {
  c.keep_ignored = o.keep_ignored_signals;
  for (int sig : o.reset_signals) {
    if (sig < 1 || sig > 64) return invalid("keep_ignored_signals: " + std::to_string(sig) + " is not a signal");
    if (c.nreset == ChildPlan::kMaxResets) return invalid("keep_ignored_signals: too many signals to reset");
    c.reset[c.nreset++] = sig;
  }
  c.no_new_privs = o.no_new_privs;
  c.new_session = o.new_session;
  c.new_process_group = o.tree != Tree::none;  // cgroup mode too: a fallback and job control
  if (int tty = o.foreground_terminal; tty >= 0) {
    if (o.tree == Tree::none) return invalid("foreground_terminal needs a new process group, not Tree::none");
    if (!::isatty(tty)) return invalid("foreground_terminal: fd " + std::to_string(tty) + " is not a terminal");
    c.foreground_tty = tty;
  }
  if (int sig = o.parent_death_signal; sig != 0) {
    if (sig < 1 || sig > 64) return invalid("parent_death_signal " + std::to_string(sig) + ": not a signal");
    c.parent_death_signal = sig;
    c.parent_pid = ::getpid();
  }
  return {};
}

// Tree::pid_namespace: the pipes between procctx and the namespace's init,
// and the page it reports in.
Result<void> plan_namespace(SpawnPlan& plan) {
  auto go = sys::make_pipe();
  if (!go) return std::move(go).error().wrap("pipe for the PID namespace's init");
  auto started = sys::make_pipe();
  if (!started) return std::move(started).error().wrap("pipe for the PID namespace's init");
  void* page = sys::map_memory(sizeof(NamespaceReport), MAP_SHARED);
  if (!page) return sys::error(ENOMEM, "map the PID namespace's report");
  plan.ns_report = std::shared_ptr<NamespaceReport>(new (page) NamespaceReport{}, [](NamespaceReport* r) {
    sys::unmap_memory(r, sizeof(NamespaceReport));
  });
  NamespacePlan& ns = plan.child.ns;
  ns.enabled = true;
  ns.new_user = ::geteuid() != 0;
  ns.go_read = go->read.get();
  ns.started_write = started->write.get();
  ns.report = plan.ns_report.get();
  plan.ns_go_read = std::move(go->read);
  plan.ns_go_write = std::move(go->write);
  plan.ns_started_read = std::move(started->read);
  plan.ns_started_write = std::move(started->write);
  return {};
}

// Tree::cgroup: a fresh leaf, or a process group and a note saying why.
Result<void> plan_tree(const CommandOptions& o, SpawnPlan& plan) {
  plan.tree = o.tree;
  if (o.limits.any() && o.tree != Tree::cgroup) return invalid("cgroup limits need Tree::cgroup");
  if (o.tree == Tree::pid_namespace) return plan_namespace(plan);
  if (o.tree != Tree::cgroup) return {};
  auto made = cgroup::create_leaf(o.cgroup_parent, o.limits);
  if (made) {
    plan.leaf = std::move(*made);
    return {};
  }
  // Asked for explicitly: running unconfined instead would be a lie.
  if (o.limits.any() || !o.cgroup_parent.empty()) return std::move(made).error();
  plan.tree = Tree::process_group;
  plan.tree_note = "no cgroup (" + made.error().message() + "); used a process group";
  return {};
}

bool has_nul(std::string_view s) { return s.find('\0') != std::string_view::npos; }

Error nul_in(const std::string& what) { return invalid(what + " contains a NUL byte, which no C string can hold"); }

// The names the caller gave the principals (user, group, supplementary groups).
std::vector<const Principal*> principals(const CommandOptions& o) {
  std::vector<const Principal*> all;
  if (o.user) all.push_back(&*o.user);
  if (o.group) all.push_back(&*o.group);
  if (o.groups) {
    for (const auto& g : *o.groups) all.push_back(&g);
  }
  return all;
}

// What reaches the kernel as a C string must not hold a NUL, or it would be
// cut there (an argument shortened, a value truncated, another file opened);
// a variable's name holds no '=' (the child would read another variable)
// and is never empty. Refused, saying which, before anything runs.
Result<void> check_strings(const CommandOptions& o) {
  if (has_nul(o.program)) return nul_in("the program name");
  if (o.arg0 && has_nul(*o.arg0)) return nul_in("arg0");
  for (std::size_t i = 0; i < o.args.size(); ++i) {
    if (has_nul(o.args[i])) return nul_in(concat("argument ", std::to_string(i + 1), " ", shown(o.args[i])));
  }
  if (o.cwd && has_nul(o.cwd->native())) return nul_in("the working directory");
  for (const auto& [key, value] : o.env.edits) {
    if (key.empty()) return invalid("an environment variable with an empty name");
    if (key.find('=') != std::string::npos) {
      return invalid(concat("the environment variable name ", shown(key), " contains '='"));
    }
    if (has_nul(key)) return nul_in(concat("the environment variable name ", shown(key)));
    if (value && has_nul(*value)) return nul_in(concat("the value of the environment variable ", shown(key)));
  }
  for (int i = 0; i < 3; ++i) {
    const Stdio& s = o.stdio[static_cast<std::size_t>(i)];
    if (s.kind() == Stdio::Kind::file && has_nul(s.path().native())) {
      return nul_in(std::string{"the file for "} + stream_name(i));
    }
  }
  for (const Principal* p : principals(o)) {
    if (!p->by_id() && has_nul(p->name())) return nul_in(concat("the user or group name ", shown(p->name())));
  }
  if (has_nul(o.cgroup_parent.native())) return nul_in("the cgroup parent");
  return {};
}

}  // namespace

Error program_error(int err, const std::string& what) {
  Error e = sys::error(err, what);
  errc code = err == ENOENT ? errc::not_found : errc::not_executable;
  return Error{make_error_code(code), e.message(), e.code()};
}

std::string program_path(const SpawnPlan& plan) {
  if (!plan.child.search.program || plan.child.failed_entry < 0) return plan.path;
  return candidate_of(plan, plan.child.failed_entry);
}

std::optional<Error> path_search_failure(const SpawnPlan& plan) {
  const ChildPlan& c = plan.child;
  if (c.failed_step == ChildStep::path_search) {
    return program_error(c.failed_errno,
                         c.failed_errno == ENOENT ? "not found on PATH" : "found on PATH but not executable");
  }
  if (c.failed_step != ChildStep::path_relative) return std::nullopt;
  std::string_view dir = search_entry(plan, c.failed_entry);
  return invalid(concat("found as ", printable(candidate_of(plan, c.failed_entry)),
                        " through the relative PATH entry ", shown(dir),
                        "; refused (allow with PathLookup::allow_relative)"));
}

Result<void> prepare(const CommandOptions& o, Loop& loop, SpawnPlan& plan) {
  if (auto r = check_strings(o); !r) return r;
  if (auto r = plan_search(o.program, o.path_lookup, plan); !r) return r;
  plan_argv(o, plan);
  plan_env(o.env, plan);
  if (o.cwd) {
    plan.cwd = o.cwd->string();
    plan.child.cwd = plan.cwd.c_str();
  }
  if (auto r = plan_stdio(o, loop, plan); !r) return r;
  if (auto r = plan_passed_fds(o, plan.child); !r) return r;
  if (auto r = plan_identity(o, plan); !r) return r;
  if (auto r = plan_limits(o, plan.child); !r) return r;
  if (auto r = plan_session(o, plan.child); !r) return r;
  plan.child.keep_inherited = o.keep_inherited_fds;
  plan.child.use_close_range = sys::have_close_range();
  plan.child.share_files = sys::can_share_files();
  plan.child.unshare_fault = plan.child.share_files ? sys::injected(sys::Call::unshare) : 0;
  return plan_tree(o, plan);
}

}  // namespace procctx::detail
