/// @file
/// @brief What to run, and how.
///
/// A Command is a value: a program, its arguments, its working directory,
/// environment, stdio, how to stop it and which processes count as its tree.
/// Nothing runs until spawn() or run() (declared in process.hpp).
///
/// @code
///   procctx::Command cmd{"grep", {"-r", "TODO", "src"}};
///   cmd.cwd("/repo").env_clear().env("LANG", "C")
///      .out(procctx::Stdio::capture())
///      .stop({{SIGTERM, 5s}, {SIGKILL}});
/// @endcode
///
/// What it will not do: run anything through a shell. The program is looked
/// up on the parent's PATH (never through a relative PATH entry such as "."
/// unless allowed), and the arguments reach the child exactly as given. To
/// run a shell command, say so: Command{"/bin/sh", {"-c", script}}.
///
/// Copying a Command is cheap enough to do per spawn; it is not thread-safe
/// to modify one Command from two threads, but any number of threads may
/// spawn from one unmodified Command.
#pragma once

#include <procctx/context.hpp>
#include <procctx/export.hpp>
#include <procctx/result.hpp>

#include <array>
#include <csignal>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <procctx/source_location.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace procctx {

class Process;
struct Completed;
struct SignalSent;

/// Which processes a stop reaches.
enum class Tree {
  process_group,  ///< default: the child leads a new process group; signals go to the group
  cgroup,         ///< the child starts in its own cgroup v2 leaf (falls back to process_group)
  none,           ///< only the direct child is signalled
};

/// How Stdio::file opens its file. `automatic` reads for stdin and
/// creates/truncates for stdout and stderr.
enum class FileMode { automatic, read, truncate, append };

/// What a relay (Stdio::relay) does when the reader of its fd goes away (EPIPE).
enum class BrokenPipe {
  stop,    ///< as a shell pipeline: close the child's pipe (its next write fails); stop what still runs
           ///< after wait_delay (StopReason::broken_pipe)
  ignore,  ///< keep reading the child's output, counting it as dropped
};

/// How Stdio::relay writes the child's output to the caller's fd.
struct RelayOptions {
  /// Write only whole lines, so relays sharing the fd never mix inside a line (a last line
  /// without a newline gets one at the end; a line longer than 1 MiB is written in pieces).
  bool whole_lines = false;
  /// Put this before every line (implies whole_lines), e.g. a job's tag.
  std::string line_prefix = {};
  /// When the fd's reader goes away.
  BrokenPipe on_broken_pipe = BrokenPipe::stop;
};

/// Where one of the child's standard streams goes.
class PROCCTX_EXPORT Stdio {
 public:
  /// Which of the factories below made it.
  enum class Kind { inherit, null, pipe, capture, data, file, fd, to_stdout, relay, closed };
  /// capture()'s default limit: 64 MiB.
  static constexpr std::size_t default_capture_limit = std::size_t{64} << 20;

  /// The parent's own fd 0/1/2 (the default for all three).
  static Stdio inherit() { return Stdio{Kind::inherit}; }
  /// /dev/null.
  static Stdio null() { return Stdio{Kind::null}; }
  /// A pipe whose parent end you use yourself: Process::in()/out()/err().
  static Stdio pipe() { return Stdio{Kind::pipe}; }
  /// Collected into Completed::out/err. Past `limit` bytes the first and last
  /// limit/2 bytes are kept, the bytes between are counted as dropped, and the
  /// child is never blocked: reading goes on to the end.
  static Stdio capture(std::size_t limit = default_capture_limit) {
    Stdio s{Kind::capture};
    s.limit_ = limit;
    return s;
  }
  /// stdin only: `bytes` fed to the child by procctx's loop, then EOF.
  static Stdio data(std::string bytes) {
    Stdio s{Kind::data};
    s.data_ = std::make_shared<const std::string>(std::move(bytes));
    return s;
  }
  /// A file, opened in the parent at spawn (an error names the path).
  static Stdio file(std::filesystem::path path, FileMode mode = FileMode::automatic) {
    Stdio s{Kind::file};
    s.path_ = std::move(path);
    s.mode_ = mode;
    return s;
  }
  /// An fd of the caller's (it stays the caller's: procctx never closes it).
  static Stdio fd(int fd) {
    Stdio s{Kind::fd};
    s.fd_ = fd;
    return s;
  }
  /// stderr only: wherever stdout goes (2>&1).
  static Stdio to_stdout() { return Stdio{Kind::to_stdout}; }
  /// stdout or stderr: procctx's loop copies the child's output to `fd`, an fd of the caller's that
  /// procctx never closes, and counts it (Completed::out/err: total(), dropped(), error()). Writes
  /// never block procctx: a slow reader slows the child down instead. Pipes held open by other
  /// processes get wait_delay, as with capture(). Relays into the same fd never mix inside one
  /// write (or, with whole_lines, inside one line).
  static Stdio relay(int fd, RelayOptions options = {}) {
    Stdio s{Kind::relay};
    s.fd_ = fd;
    s.relay_ = std::make_shared<const RelayOptions>(std::move(options));
    return s;
  }
  /// The child's fd is closed, as `>&-` in a shell.
  static Stdio closed() { return Stdio{Kind::closed}; }

  ///@{
  /// The settings, read back: the kind, and each factory's argument (limit for capture, bytes for data, path
  /// and mode for file, the fd for fd).
  Kind kind() const noexcept { return kind_; }
  std::size_t limit() const noexcept { return limit_; }
  const std::string& bytes() const noexcept;
  const std::filesystem::path& path() const noexcept { return path_; }
  FileMode mode() const noexcept { return mode_; }
  int raw_fd() const noexcept { return fd_; }
  const RelayOptions& relay_options() const noexcept;
  ///@}

 private:
  explicit Stdio(Kind k) : kind_(k) {}
  Kind kind_;
  std::size_t limit_ = default_capture_limit;
  std::shared_ptr<const std::string> data_;
  std::filesystem::path path_;
  FileMode mode_ = FileMode::automatic;
  int fd_ = -1;
  std::shared_ptr<const RelayOptions> relay_;
};

/// One step of a stop sequence: send `signal`, then give the tree `wait` to
/// go away before the next step. The last step's wait is how long procctx
/// keeps watching after it (0: forever, which is right for SIGKILL).
struct StopStep {
  int signal = SIGKILL;  ///< The signal to send.
  Duration wait{};       ///< How long to wait after it before the next step.
};

/// What procctx does to stop a command: default {SIGTERM, 5s}, {SIGKILL}.
/// A stopped (SIGSTOP) child gets SIGCONT after each signal so it can act on it.
class PROCCTX_EXPORT StopSequence {
 public:
  StopSequence();  ///< the default
  ///@{
  /// A sequence of these steps, in order: `{{SIGTERM, 5s}, {SIGKILL}}`.
  StopSequence(std::initializer_list<StopStep> steps) : steps_(steps) {}
  explicit StopSequence(std::vector<StopStep> steps) : steps_(std::move(steps)) {}
  ///@}

  /// Parses "TERM,5s,KILL": signal names (with or without SIG) or numbers,
  /// each optionally followed by a duration to wait after it. Errors name
  /// the offending item.
  static Result<StopSequence> parse(std::string_view text);
  /// "TERM,5s,KILL"
  std::string to_string() const;

  /// The steps, in order.
  const std::vector<StopStep>& steps() const noexcept { return steps_; }

 private:
  std::vector<StopStep> steps_;
};

/// Resource limits of a Tree::cgroup leaf (cgroup v2 files of the same names).
struct CgroupLimits {
  std::optional<std::uint64_t> memory_max;  ///< bytes, memory.max
  std::optional<std::uint64_t> pids_max;    ///< processes, pids.max
  std::optional<std::string> cpu_max;       ///< "QUOTA PERIOD" in µs, cpu.max ("50000 100000": half a CPU)
  /// True when any limit is set.
  bool any() const noexcept { return memory_max || pids_max || cpu_max; }
};

/// What happens to processes the child leaves in its tree when it exits by
/// itself: `leave` reports them (Completed::leftovers) and lets them run;
/// `kill` also stops them with the stop sequence before the outcome is final.
enum class Leftovers { leave, kill };

/// A user or group, by name ("nobody") or by id (65534). Names are resolved
/// in the parent at spawn; an unknown one is an error before anything runs.
class Principal {
 public:
  ///@{
  /// A user or group by name, or by numeric id (implicit: `.user("nobody")`, `.user(65534)`).
  Principal(std::string name) : name_(std::move(name)) {}  // NOLINT: implicit by design
  Principal(const char* name) : name_(name) {}             // NOLINT
  Principal(unsigned int id) : id_(id), by_id_(true) {}    // NOLINT
  ///@}
  ///@{
  /// Read back: whether it is an id, the id, the name, and either as text.
  bool by_id() const noexcept { return by_id_; }
  unsigned int id() const noexcept { return id_; }
  const std::string& name() const noexcept { return name_; }
  std::string to_string() const { return by_id_ ? std::to_string(id_) : name_; }
  ///@}

 private:
  std::string name_;
  unsigned int id_ = 0;
  bool by_id_ = false;
};

/// One resource limit for the child (setrlimit's RLIMIT_* and values).
struct Rlimit {
  int resource = 0;        ///< RLIMIT_NOFILE, RLIMIT_AS, ...
  std::uint64_t soft = 0;  ///< The soft limit (RLIM_INFINITY for none).
  std::uint64_t hard = 0;  ///< The hard limit (RLIM_INFINITY for none).
};

/// Settings applied together, e.g. Profile::hardened(). Each set field
/// overrides the command's; Command::profile() applies it.
struct PROCCTX_EXPORT Profile {
  /// The environment is emptied except for these variables of the parent's;
  /// no_new_privs; no fd but stdio; umask 077; a new session; SIGKILL when
  /// the spawning process dies. Combine with user()/group() as needed.
  static Profile hardened(std::vector<std::string> env_allow = {"PATH", "LANG", "TERM", "TZ"});

  std::optional<std::vector<std::string>>
      env_allow;              ///< Set: empty the environment but for these (as env_clear() + env_keep()).
  bool no_new_privs = false;  ///< As Command::no_new_privs().
  std::optional<unsigned int> umask;  ///< As Command::umask().
  bool new_session = false;           ///< As Command::new_session().
  int parent_death_signal = 0;        ///< As Command::parent_death_signal() (0: none).
  bool close_passed_fds = false;      ///< Drop fds given with pass_fd(): the child gets stdio only.
};

/// Whether a program found through a relative PATH entry (".", "" or
/// "bin") may be run. Go calls this ErrDot; procctx refuses by default.
enum class PathLookup { absolute_only, allow_relative };

/// What to run and how: a value, see the top of this file.
///
/// Every setter returns the Command, so calls chain; each also has an
/// overload on temporaries (`Command&&`), so a Command can be built and
/// run in one expression. Setters record; nothing is checked or resolved
/// until spawn(), whose Error names what was wrong.
class PROCCTX_EXPORT Command {
 public:
  /// `program` is looked up on PATH unless it contains a slash. args are
  /// argv[1..]; argv[0] is `program` as given (see arg0()).
  explicit Command(std::string program, std::vector<std::string> args = {});

  /// Appends one argument.
  Command& arg(std::string a) & {
    args_.push_back(std::move(a));
    return *this;
  }
  /// Replaces the arguments (argv[1..]).
  Command& args(std::vector<std::string> a) & {
    args_ = std::move(a);
    return *this;
  }
  /// argv[0] as the child sees it (default: program as given).
  Command& arg0(std::string a) & {
    arg0_ = std::move(a);
    return *this;
  }
  /// The child's working directory (default: the parent's). A missing one is a spawn error.
  Command& cwd(std::filesystem::path dir) & {
    cwd_ = std::move(dir);
    return *this;
  }

  /// The environment starts as the parent's at spawn time; env_clear() starts
  /// it empty. env/env_remove apply in call order on top.
  Command& env_clear() & {
    env_clear_ = true;
    env_edits_.clear();
    return *this;
  }
  /// Sets `key` to `value` in the child's environment.
  Command& env(std::string key, std::string value) &;
  /// Removes `key` from the child's environment.
  Command& env_remove(std::string key) &;

  /// With env_clear(): take these variables over from the parent (if set).
  Command& env_keep(std::vector<std::string> keys) & {
    env_keep_.insert(env_keep_.end(), keys.begin(), keys.end());
    return *this;
  }

  /// Credentials, switched in the child as setgroups, setgid, setuid. A user
  /// alone also takes the user's primary group; supplementary groups are
  /// exactly groups(), or none (never the parent's by accident). Switching
  /// needs the privilege to do so.
  Command& user(Principal u) & {
    user_ = std::move(u);
    return *this;
  }
  /// The child's primary group (default: the user's, with user(); else the parent's).
  Command& group(Principal g) & {
    group_ = std::move(g);
    return *this;
  }
  /// Exactly these supplementary groups (empty: none).
  Command& groups(std::vector<Principal> gs) & {
    groups_ = std::move(gs);
    return *this;
  }
  /// prctl(PR_SET_NO_NEW_PRIVS): no setuid binary or file capability can
  /// raise the child's privileges.
  Command& no_new_privs() & {
    no_new_privs_ = true;
    return *this;
  }
  /// Any RLIMIT_*; checked at spawn (soft <= hard; hard not above ours unless
  /// we may raise it).
  Command& rlimit(int resource, std::uint64_t soft, std::uint64_t hard) & {
    rlimits_.push_back({resource, soft, hard});
    return *this;
  }
  /// The child's file mode creation mask (octal, 022).
  Command& umask(unsigned int mode) & {
    umask_ = mode;
    return *this;
  }
  /// setsid(): the child leads a new session (and so a new process group).
  Command& new_session() & {
    new_session_ = true;
    return *this;
  }
  /// The child gets `sig` when the process that spawned it dies — the
  /// process, not the spawning thread: procctx starts such children from its
  /// loop thread, which lives as long as the process. If the parent is gone
  /// before the child runs, the child exits instead of running orphaned.
  Command& parent_death_signal(int sig) & {
    parent_death_signal_ = sig;
    return *this;
  }
  /// The child gets `parent_fd` as `child_fd` (>= 3); every other fd but
  /// stdio stays closed. The parent's fd stays the caller's.
  Command& pass_fd(int parent_fd, int child_fd) & {
    passed_fds_.emplace_back(parent_fd, child_fd);
    return *this;
  }
  /// Every fd of the parent that is not close-on-exec reaches the child as it is (what a shell, GNU
  /// timeout or make's jobserver expect). By default the child gets stdio and pass_fd()s only.
  Command& keep_inherited_fds() & {
    keep_inherited_fds_ = true;
    return *this;
  }
  /// As execvp(3): a file the kernel will not execute as it is (ENOEXEC: a script without a `#!`
  /// line) runs as `/bin/sh FILE ARGS...`. By default that is an errc::not_executable error.
  Command& shell_fallback() & {
    shell_fallback_ = true;
    return *this;
  }
  /// Applies every set field of `p` (see Profile).
  Command& profile(const Profile& p) &;
  /// The child's process group becomes the foreground process group of the
  /// terminal open on `tty_fd` before it runs (as a shell does for a job),
  /// so it can read the terminal and gets its Ctrl-C. Needs a tree mode that
  /// makes a new process group (not Tree::none). Giving the terminal back
  /// when the child is done is the caller's part (tcsetpgrp with SIGTTOU
  /// blocked).
  Command& foreground_terminal(int tty_fd) & {
    foreground_tty_ = tty_fd;
    return *this;
  }
  /// Called on procctx's loop thread just before the stop sequence sends
  /// each signal (for a log line like GNU timeout's --verbose). Keep it short
  /// and never block in it.
  Command& on_stop_signal(std::function<void(const SignalSent&)> fn) & {
    on_stop_signal_ = std::move(fn);
    return *this;
  }

  ///@{
  /// Where the child's stdin, stdout and stderr go (default: Stdio::inherit()).
  Command& in(Stdio s) & {
    stdio_[0] = std::move(s);
    return *this;
  }
  Command& out(Stdio s) & {
    stdio_[1] = std::move(s);
    return *this;
  }
  Command& err(Stdio s) & {
    ///@}
    stdio_[2] = std::move(s);
    return *this;
  }

  /// How to stop the tree when the context ends or stop() is called.
  Command& stop(StopSequence s) & {
    stop_ = std::move(s);
    return *this;
  }
  /// How long pipes held open by other processes (grandchildren) may delay
  /// the outcome once the child itself has exited (default 2 s).
  Command& wait_delay(Duration d) & {
    wait_delay_ = d;
    return *this;
  }
  /// Which processes a stop reaches (default Tree::process_group).
  Command& tree(Tree t) & {
    tree_ = t;
    return *this;
  }
  /// Whether a program found through a relative PATH entry may run (default: no).
  Command& path_lookup(PathLookup p) & {
    path_lookup_ = p;
    return *this;
  }
  /// What happens to processes the child leaves in its tree (default: leave them, reported).
  Command& leftovers(Leftovers l) & {
    leftovers_ = l;
    return *this;
  }
  /// Tree::cgroup: the cgroup2 directory to create leaves under (default: the
  /// one this process is in, if writable).
  Command& cgroup_parent(std::filesystem::path p) & {
    cgroup_parent_ = std::move(p);
    return *this;
  }
  /// Limits imply Tree::cgroup; spawn fails (naming the limit) where the
  /// controller is not available, rather than run the child unlimited.
  Command& memory_max(std::uint64_t bytes) & {
    limits_.memory_max = bytes;
    tree_ = Tree::cgroup;
    return *this;
  }
  /// The cgroup's pids.max (implies Tree::cgroup).
  Command& pids_max(std::uint64_t n) & {
    limits_.pids_max = n;
    tree_ = Tree::cgroup;
    return *this;
  }
  /// The cgroup's cpu.max, "QUOTA PERIOD" in µs (implies Tree::cgroup).
  Command& cpu_max(std::string quota_period) & {
    limits_.cpu_max = std::move(quota_period);
    tree_ = Tree::cgroup;
    return *this;
  }

  /// The same setters on temporaries, so a Command can be built in one
  /// expression: Command{"ls"}.cwd("/").out(Stdio::capture()).run(ctx).
#define PROCCTX_RVALUE_SETTER(name, type) \
  Command&& name(type v)&& { return std::move(this->name(std::move(v))); }
  PROCCTX_RVALUE_SETTER(arg, std::string)
  PROCCTX_RVALUE_SETTER(args, std::vector<std::string>)
  PROCCTX_RVALUE_SETTER(arg0, std::string)
  PROCCTX_RVALUE_SETTER(cwd, std::filesystem::path)
  PROCCTX_RVALUE_SETTER(in, Stdio)
  PROCCTX_RVALUE_SETTER(out, Stdio)
  PROCCTX_RVALUE_SETTER(err, Stdio)
  PROCCTX_RVALUE_SETTER(stop, StopSequence)
  PROCCTX_RVALUE_SETTER(wait_delay, Duration)
  PROCCTX_RVALUE_SETTER(tree, Tree)
  PROCCTX_RVALUE_SETTER(path_lookup, PathLookup)
  PROCCTX_RVALUE_SETTER(leftovers, Leftovers)
  PROCCTX_RVALUE_SETTER(cgroup_parent, std::filesystem::path)
  PROCCTX_RVALUE_SETTER(memory_max, std::uint64_t)
  PROCCTX_RVALUE_SETTER(pids_max, std::uint64_t)
  PROCCTX_RVALUE_SETTER(cpu_max, std::string)
  PROCCTX_RVALUE_SETTER(env_keep, std::vector<std::string>)
  PROCCTX_RVALUE_SETTER(user, Principal)
  PROCCTX_RVALUE_SETTER(group, Principal)
  PROCCTX_RVALUE_SETTER(groups, std::vector<Principal>)
  PROCCTX_RVALUE_SETTER(umask, unsigned int)
  PROCCTX_RVALUE_SETTER(parent_death_signal, int)
  PROCCTX_RVALUE_SETTER(foreground_terminal, int)
  PROCCTX_RVALUE_SETTER(on_stop_signal, std::function<void(const SignalSent&)>)
#undef PROCCTX_RVALUE_SETTER
  ///@{
  /// The same setters on a temporary Command (see the class description).
  Command&& env_clear() && { return std::move(this->env_clear()); }
  Command&& env(std::string k, std::string v) && { return std::move(this->env(std::move(k), std::move(v))); }
  Command&& env_remove(std::string k) && { return std::move(this->env_remove(std::move(k))); }
  Command&& no_new_privs() && { return std::move(this->no_new_privs()); }
  Command&& keep_inherited_fds() && { return std::move(this->keep_inherited_fds()); }
  Command&& shell_fallback() && { return std::move(this->shell_fallback()); }
  Command&& new_session() && { return std::move(this->new_session()); }
  Command&& rlimit(int r, std::uint64_t soft, std::uint64_t hard) && {
    return std::move(this->rlimit(r, soft, hard));
  }
  Command&& pass_fd(int parent_fd, int child_fd) && { return std::move(this->pass_fd(parent_fd, child_fd)); }
  Command&& profile(const Profile& p) && { return std::move(this->profile(p)); }
  ///@}

  /// Starts the command. When `ctx` ends, the stop sequence runs on its tree.
  /// "Could not start" (not found, not executable, bad cwd, ...) is an Error
  /// naming the command, the step and the errno; the returned Process owns
  /// the running child. Thread-safe for one unmodified Command.
  Result<Process> spawn(const Context& ctx = background(),
                        SourceLocation where = SourceLocation::current()) const;
  /// spawn() then wait(): the outcome, or why the command could not start.
  /// A non-zero exit is a Completed, not an Error (see Completed::check()).
  Result<Completed> run(const Context& ctx = background(),
                        SourceLocation where = SourceLocation::current()) const;

  ///@{
  /// The settings, read back as the setters above recorded them (for tools that show or log a Command).
  const std::string& program() const noexcept { return program_; }
  const std::vector<std::string>& args() const noexcept { return args_; }
  /// argv as the child will see it.
  std::vector<std::string> argv() const;
  const std::optional<std::filesystem::path>& cwd() const noexcept { return cwd_; }
  const Stdio& stdio(int fd) const { return stdio_.at(static_cast<std::size_t>(fd)); }
  const StopSequence& stop_sequence() const noexcept { return stop_; }
  Duration wait_delay() const noexcept { return wait_delay_; }
  Tree tree() const noexcept { return tree_; }
  PathLookup path_lookup() const noexcept { return path_lookup_; }
  Leftovers leftovers() const noexcept { return leftovers_; }
  const std::filesystem::path& cgroup_parent() const noexcept { return cgroup_parent_; }
  const CgroupLimits& limits() const noexcept { return limits_; }
  const std::vector<std::string>& env_kept() const noexcept { return env_keep_; }
  const std::optional<Principal>& user() const noexcept { return user_; }
  const std::optional<Principal>& group() const noexcept { return group_; }
  const std::optional<std::vector<Principal>>& groups() const noexcept { return groups_; }
  bool no_new_privs_set() const noexcept { return no_new_privs_; }
  const std::vector<Rlimit>& rlimits() const noexcept { return rlimits_; }
  const std::optional<unsigned int>& umask() const noexcept { return umask_; }
  bool new_session_set() const noexcept { return new_session_; }
  int parent_death_signal() const noexcept { return parent_death_signal_; }
  int foreground_terminal() const noexcept { return foreground_tty_; }
  const std::function<void(const SignalSent&)>& on_stop_signal() const noexcept { return on_stop_signal_; }
  const std::vector<std::pair<int, int>>& passed_fds() const noexcept { return passed_fds_; }
  bool env_cleared() const noexcept { return env_clear_; }
  bool keeps_inherited_fds() const noexcept { return keep_inherited_fds_; }
  bool has_shell_fallback() const noexcept { return shell_fallback_; }
  ///@}
  /// The edits in order: a value to set, or nullopt to remove.
  const std::vector<std::pair<std::string, std::optional<std::string>>>& env_edits() const noexcept {
    return env_edits_;
  }

 private:
  std::string program_;
  std::vector<std::string> args_;
  std::optional<std::string> arg0_;
  std::optional<std::filesystem::path> cwd_;
  bool env_clear_ = false;
  std::vector<std::pair<std::string, std::optional<std::string>>> env_edits_;
  std::array<Stdio, 3> stdio_{Stdio::inherit(), Stdio::inherit(), Stdio::inherit()};
  StopSequence stop_;
  Duration wait_delay_ = std::chrono::seconds(2);
  Tree tree_ = Tree::process_group;
  PathLookup path_lookup_ = PathLookup::absolute_only;
  Leftovers leftovers_ = Leftovers::leave;
  std::filesystem::path cgroup_parent_;
  CgroupLimits limits_;
  std::vector<std::string> env_keep_;
  std::optional<Principal> user_, group_;
  std::optional<std::vector<Principal>> groups_;
  bool no_new_privs_ = false;
  std::vector<Rlimit> rlimits_;
  std::optional<unsigned int> umask_;
  bool new_session_ = false;
  int parent_death_signal_ = 0;
  int foreground_tty_ = -1;
  std::function<void(const SignalSent&)> on_stop_signal_;
  std::vector<std::pair<int, int>> passed_fds_;  ///< parent fd, child fd
  bool keep_inherited_fds_ = false;
  bool shell_fallback_ = false;
};

/// Signal names: "TERM", "SIGTERM" or "15" → 15; 0 when unknown.
PROCCTX_EXPORT int signal_from_name(std::string_view name) noexcept;
/// 15 → "SIGTERM"; "SIG42" style for unnamed ones.
PROCCTX_EXPORT std::string signal_name(int sig);
/// "NOFILE" or "RLIMIT_NOFILE" → RLIMIT_NOFILE; -1 when unknown.
PROCCTX_EXPORT int rlimit_from_name(std::string_view name) noexcept;
/// Go-like durations for the CLI and stop sequences: "1.5s", "250ms", "2m",
/// "1h", "3d", "10" (seconds). Errors name the text.
PROCCTX_EXPORT Result<Duration> parse_duration(std::string_view text);

}  // namespace procctx
