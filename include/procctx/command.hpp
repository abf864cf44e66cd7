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
/// spawn from one unmodified Command. Its settings read back as one
/// aggregate, Command::options().
#pragma once

#include <procctx/context.hpp>
#include <procctx/export.hpp>
#include <procctx/parse.hpp>
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
  /// The child is the first process of a new PID namespace, under a minimal
  /// init of procctx's: signals reach everything in the namespace, and when
  /// the child or procctx dies (even of SIGKILL) the kernel kills all of it.
  /// Falls back to process_group, saying why in Completed::tree_note, where
  /// a PID namespace cannot be made.
  pid_namespace,
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

/// The child's environment: the parent's at spawn time (or none, with
/// `clear`), then `edits` in order: a value to set, or nullopt to remove.
struct Environment {
  bool clear = false;                 ///< start empty (keeping only `keep`)
  std::vector<std::string> keep;      ///< with `clear`: take these over from the parent, if set
  std::vector<std::pair<std::string, std::optional<std::string>>> edits;  ///< applied in order
};

/// Everything a Command records, as its setters left it. spawn() reads
/// nothing else; tools that show or log a Command read it through
/// Command::options().
struct CommandOptions {
  std::string program;                                    ///< looked up on PATH unless it has a slash
  std::vector<std::string> args;                          ///< argv[1..]
  std::optional<std::string> arg0;                        ///< argv[0], if not `program`
  std::optional<std::filesystem::path> cwd;               ///< the working directory (default: the parent's)
  Environment env;                                        ///< the environment
  std::array<Stdio, 3> stdio{Stdio::inherit(), Stdio::inherit(), Stdio::inherit()};  ///< stdin, stdout, stderr
  StopSequence stop;                                      ///< how to stop the tree
  Duration wait_delay = std::chrono::seconds(2);          ///< bound on pipes held after the exit
  Tree tree = Tree::process_group;                        ///< which processes a stop reaches
  PathLookup path_lookup = PathLookup::absolute_only;     ///< relative PATH entries allowed or not
  Leftovers leftovers = Leftovers::leave;                 ///< what happens to processes left in the tree
  std::filesystem::path cgroup_parent;                    ///< Tree::cgroup: where to make leaves
  CgroupLimits limits;                                    ///< Tree::cgroup: memory.max, pids.max, cpu.max
  std::optional<Principal> user;                          ///< switch to this user
  std::optional<Principal> group;                         ///< and this primary group
  std::optional<std::vector<Principal>> groups;           ///< exactly these supplementary groups
  bool no_new_privs = false;                              ///< PR_SET_NO_NEW_PRIVS
  std::vector<Rlimit> rlimits;                            ///< resource limits
  std::optional<unsigned int> umask;                      ///< the file mode creation mask
  bool new_session = false;                               ///< setsid()
  int parent_death_signal = 0;                            ///< sent when the spawning process dies (0: none)
  int foreground_terminal = -1;                           ///< make the child's group this tty's foreground
  std::function<void(const SignalSent&)> on_stop_signal;  ///< called before each stop signal
  std::vector<std::pair<int, int>> passed_fds;            ///< parent fd, child fd
  bool keep_inherited_fds = false;                        ///< every fd that is not close-on-exec
  bool shell_fallback = false;                            ///< ENOEXEC: run through /bin/sh
  bool keep_ignored_signals = false;                      ///< ignored signals stay ignored (as execve)
  std::vector<int> reset_signals;                         ///< with keep_ignored_signals: these still start at default
};

/// What to run and how: a value, see the top of this file.
///
/// Every setter returns the Command, so calls chain, on a named Command or
/// on a temporary: Command{"ls"}.cwd("/").out(Stdio::capture()).run(ctx).
/// Setters record; nothing is checked or resolved until spawn(), whose
/// Error names what was wrong.
class PROCCTX_EXPORT Command {
 public:
  /// `program` is looked up on PATH unless it contains a slash: on this
  /// process's PATH at spawn time, by the child as its last step before
  /// exec (as execvp does), so as its cwd() and user(), and afresh on every
  /// spawn. args are argv[1..]; argv[0] is `program` as given (see arg0()).
  explicit Command(std::string program, std::vector<std::string> args = {});

  /// Appends one argument.
  Command& arg(std::string a);
  /// Replaces the arguments (argv[1..]).
  Command& args(std::vector<std::string> a);
  /// argv[0] as the child sees it (default: program as given).
  Command& arg0(std::string a);
  /// The child's working directory (default: the parent's), entered as the
  /// new user when user() is given. A missing one is a spawn error.
  Command& cwd(std::filesystem::path dir);

  /// The environment starts as the parent's at spawn time; env_clear() starts
  /// it empty. env/env_remove apply in call order on top.
  Command& env_clear();
  /// Sets `key` to `value` in the child's environment.
  Command& env(std::string key, std::string value);
  /// Removes `key` from the child's environment.
  Command& env_remove(std::string key);
  /// With env_clear(): take these variables over from the parent (if set).
  Command& env_keep(std::vector<std::string> keys);

  /// Credentials, switched in the child as setgroups, setgid, setuid. A user
  /// alone also takes the user's primary group; supplementary groups are
  /// exactly groups(), or none (never the parent's by accident). Switching
  /// needs the privilege to do so.
  Command& user(Principal u);
  /// The child's primary group (default: the user's, with user(); else the parent's).
  Command& group(Principal g);
  /// Exactly these supplementary groups (empty: none).
  Command& groups(std::vector<Principal> gs);
  /// prctl(PR_SET_NO_NEW_PRIVS): no setuid binary or file capability can
  /// raise the child's privileges.
  Command& no_new_privs();
  /// Any RLIMIT_*; checked at spawn (soft <= hard; hard not above ours unless
  /// we may raise it).
  Command& rlimit(int resource, std::uint64_t soft, std::uint64_t hard);
  /// The child's file mode creation mask (octal, 022).
  Command& umask(unsigned int mode);
  /// setsid(): the child leads a new session (and so a new process group).
  Command& new_session();
  /// The child gets `sig` when the process that spawned it dies — the
  /// process, not the spawning thread: procctx starts such children from its
  /// loop thread, which lives as long as the process. If the parent is gone
  /// before the child runs, the child exits instead of running orphaned.
  Command& parent_death_signal(int sig);
  /// The child gets `parent_fd` as `child_fd` (>= 3); every other fd but
  /// stdio stays closed. The parent's fd stays the caller's.
  Command& pass_fd(int parent_fd, int child_fd);
  /// Every fd of the parent that is not close-on-exec reaches the child as it is (what a shell, GNU
  /// timeout or make's jobserver expect). By default the child gets stdio and pass_fd()s only.
  Command& keep_inherited_fds();
  /// As execvp(3): a file the kernel will not execute as it is (ENOEXEC: a script without a `#!`
  /// line) runs as `/bin/sh FILE ARGS...`. By default that is an errc::not_executable error.
  Command& shell_fallback();
  /// By default the child starts with every signal at its default disposition: an ignored SIGPIPE
  /// of this process never leaks into it. With this, a signal ignored in this process when spawn()
  /// runs stays ignored in the child, as execve(2) leaves it (nohup's SIGHUP, a background job's
  /// SIGINT), except those in `reset`, which start at their default (signals this process ignores
  /// for itself, such as SIGTTOU). Handled signals always start at their default.
  Command& keep_ignored_signals(std::vector<int> reset = {});
  /// Applies every set field of `p` (see Profile).
  Command& profile(const Profile& p);
  /// The child's process group becomes the foreground process group of the
  /// terminal open on `tty_fd` before it runs (as a shell does for a job),
  /// so it can read the terminal and gets its Ctrl-C. Needs a tree mode that
  /// makes a new process group (not Tree::none). Giving the terminal back
  /// when the child is done is the caller's part (tcsetpgrp with SIGTTOU
  /// blocked).
  Command& foreground_terminal(int tty_fd);
  /// Called on procctx's loop thread just before the stop sequence sends
  /// each signal (for a log line like GNU timeout's --verbose). Keep it short
  /// and never block in it.
  Command& on_stop_signal(std::function<void(const SignalSent&)> fn);

  ///@{
  /// Where the child's stdin, stdout and stderr go (default: Stdio::inherit()).
  Command& in(Stdio s);
  Command& out(Stdio s);
  Command& err(Stdio s);
  ///@}

  /// How to stop the tree when the context ends or stop() is called.
  Command& stop(StopSequence s);
  /// How long pipes held open by other processes (grandchildren) may delay
  /// the outcome once the child itself has exited (default 2 s).
  Command& wait_delay(Duration d);
  /// Which processes a stop reaches (default Tree::process_group).
  Command& tree(Tree t);
  /// Whether a program found through a relative PATH entry (relative to
  /// cwd(), where the child looks) may run (default: no).
  Command& path_lookup(PathLookup p);
  /// What happens to processes the child leaves in its tree (default: leave them, reported).
  Command& leftovers(Leftovers l);
  /// Tree::cgroup: the cgroup2 directory to create leaves under (default: the
  /// one this process is in, if writable).
  Command& cgroup_parent(std::filesystem::path p);
  ///@{
  /// Limits imply Tree::cgroup; spawn fails (naming the limit) where the
  /// controller is not available, rather than run the child unlimited.
  /// memory.max in bytes; pids.max; cpu.max as "QUOTA PERIOD" in µs.
  Command& memory_max(std::uint64_t bytes);
  Command& pids_max(std::uint64_t n);
  Command& cpu_max(std::string quota_period);
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

  /// The settings, as the setters recorded them.
  const CommandOptions& options() const noexcept { return o_; }
  /// argv as the child will see it.
  std::vector<std::string> argv() const;

 private:
  CommandOptions o_;
};

}  // namespace procctx
