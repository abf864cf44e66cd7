// procctx_helper: test child process for procctx.
//
// Each subcommand (argv[1]) does exactly one thing the procctx tests need to
// observe from the outside: exit codes, deaths by signal, pipe traffic,
// inherited process state (environment, cwd, ids, fds, signal masks, limits)
// and process-tree tricks (grandchildren, setsid, fork fan-out).
//
// Output is exact and machine-readable. It is written with write(2), so
// nothing sits in a stdio buffer when the process blocks, is signalled or
// exits. Signal dispositions are left as inherited unless a subcommand says
// otherwise.
//
// Exit codes: 0 success, 1 system call failure, 2 usage error (unknown
// subcommand or bad argument), 3 write failed with EPIPE.

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <csignal>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <vector>

extern char** environ;

namespace {

constexpr int kExitSystemError = 1;
constexpr int kExitUsage = 2;
constexpr int kExitBrokenPipe = 3;

constexpr double kMaxSeconds = 1e9;
constexpr double kDefaultSleepSeconds = 60.0;
constexpr std::size_t kChunkSize = 64 * 1024;
constexpr std::uint64_t kMaxForks = 10000;

using Args = std::span<char* const>;

// ---------------------------------------------------------------------------
// Output and errors.

// Writes all of `data` to `fd`, retrying on EINTR and partial writes and
// waiting for writability on EAGAIN. Returns 0 or the errno of the failure.
int write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        pollfd pfd{fd, POLLOUT, 0};
        poll(&pfd, 1, -1);
        continue;
      }
      return errno;
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return 0;
}

// Prints "procctx_helper: <message>" on stderr and exits with `code`.
[[noreturn]] void fail(int code, std::string_view message) {
  std::string line = "procctx_helper: ";
  line += message;
  line += '\n';
  write_all(STDERR_FILENO, line);
  std::exit(code);
}

[[noreturn]] void usage_error(std::string_view message) { fail(kExitUsage, message); }

// Reports the current errno for the failed operation `what` and exits 1.
[[noreturn]] void system_error(std::string_view what) {
  std::string message(what);
  message += ": ";
  message += std::strerror(errno);
  fail(kExitSystemError, message);
}

// Writes `data` to `fd`; exits 3 on EPIPE and 1 on any other failure.
void emit(int fd, std::string_view data) {
  int err = write_all(fd, data);
  if (err == 0) return;
  if (err == EPIPE) std::exit(kExitBrokenPipe);
  errno = err;
  system_error("write");
}

void out(std::string_view data) { emit(STDOUT_FILENO, data); }

// Reads up to `size` bytes from `fd`, retrying on EINTR. Exits 1 on error.
std::size_t read_some(int fd, char* buffer, std::size_t size) {
  while (true) {
    ssize_t n = read(fd, buffer, size);
    if (n >= 0) return static_cast<std::size_t>(n);
    if (errno != EINTR) system_error("read");
  }
}

// Copies the file at `path` to stdout.
void copy_file_to_stdout(const char* path) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) system_error(std::string("open ") + path);
  char buffer[8192];
  while (std::size_t n = read_some(fd, buffer, sizeof buffer)) {
    out(std::string_view(buffer, n));
  }
  close(fd);
}

// Returns the whole content of the file at `path`.
std::string read_file(const char* path) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) system_error(std::string("open ") + path);
  std::string content;
  char buffer[8192];
  while (std::size_t n = read_some(fd, buffer, sizeof buffer)) {
    content.append(buffer, n);
  }
  close(fd);
  return content;
}

// ---------------------------------------------------------------------------
// Argument parsing.

std::optional<std::uint64_t> parse_uint(std::string_view text) {
  std::uint64_t value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc() || ptr != end) return std::nullopt;
  return value;
}

// Parses non-negative float seconds such as "0.5" or "3".
double parse_seconds(std::string_view command, const char* text) {
  char* end = nullptr;
  errno = 0;
  double value = std::strtod(text, &end);
  bool starts_ok = std::isdigit(static_cast<unsigned char>(text[0])) || text[0] == '.';
  if (!starts_ok || end == text || *end != '\0' || errno != 0 || !std::isfinite(value) ||
      value > kMaxSeconds) {
    usage_error(std::string(command) + ": invalid SECONDS '" + text + "'");
  }
  return value;
}

// Parses a byte count with an optional K, M or G (KiB, MiB, GiB) suffix.
std::uint64_t parse_size(std::string_view command, std::string_view arg) {
  std::string_view text = arg;
  unsigned shift = 0;
  if (!text.empty()) {
    switch (std::toupper(static_cast<unsigned char>(text.back()))) {
      case 'K':
        shift = 10;
        break;
      case 'M':
        shift = 20;
        break;
      case 'G':
        shift = 30;
        break;
      default:
        break;
    }
    if (shift != 0) text.remove_suffix(1);
  }
  std::optional<std::uint64_t> value = parse_uint(text);
  if (!value || *value > (UINT64_MAX >> shift)) {
    usage_error(std::string(command) + ": invalid size '" + std::string(arg) + "'");
  }
  return *value << shift;
}

struct SignalName {
  std::string_view name;
  int number;
};

constexpr SignalName kSignalNames[] = {
    {"HUP", SIGHUP},       {"INT", SIGINT},   {"QUIT", SIGQUIT},   {"ILL", SIGILL},   {"TRAP", SIGTRAP},
    {"ABRT", SIGABRT},     {"IOT", SIGIOT},   {"BUS", SIGBUS},     {"FPE", SIGFPE},   {"KILL", SIGKILL},
    {"USR1", SIGUSR1},     {"SEGV", SIGSEGV}, {"USR2", SIGUSR2},   {"PIPE", SIGPIPE}, {"ALRM", SIGALRM},
    {"TERM", SIGTERM},     {"CHLD", SIGCHLD}, {"CONT", SIGCONT},   {"STOP", SIGSTOP}, {"TSTP", SIGTSTP},
    {"TTIN", SIGTTIN},     {"TTOU", SIGTTOU}, {"URG", SIGURG},     {"XCPU", SIGXCPU}, {"XFSZ", SIGXFSZ},
    {"VTALRM", SIGVTALRM}, {"PROF", SIGPROF}, {"WINCH", SIGWINCH}, {"IO", SIGIO},     {"POLL", SIGPOLL},
    {"PWR", SIGPWR},       {"SYS", SIGSYS},
};

// Accepts "SEGV", "SIGSEGV" (any case) or a number in 1..NSIG-1.
int parse_signal(std::string_view command, std::string_view text) {
  if (std::optional<std::uint64_t> number = parse_uint(text)) {
    if (*number >= 1 && *number < static_cast<std::uint64_t>(NSIG)) {
      return static_cast<int>(*number);
    }
  } else {
    std::string upper(text);
    for (char& c : upper) {
      c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    std::string_view name = upper;
    if (name.starts_with("SIG")) name.remove_prefix(3);
    for (const SignalName& entry : kSignalNames) {
      if (entry.name == name) return entry.number;
    }
  }
  usage_error(std::string(command) + ": unknown signal '" + std::string(text) + "'");
}

// ---------------------------------------------------------------------------
// Process helpers.

// Sleeps for `seconds` of monotonic time, resuming after interruptions.
void sleep_for(double seconds) {
  timespec deadline{};
  clock_gettime(CLOCK_MONOTONIC, &deadline);
  double whole = std::floor(seconds);
  deadline.tv_sec += static_cast<time_t>(whole);
  deadline.tv_nsec += static_cast<long>((seconds - whole) * 1e9);
  if (deadline.tv_nsec >= 1'000'000'000L) {
    deadline.tv_sec += 1;
    deadline.tv_nsec -= 1'000'000'000L;
  }
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &deadline, nullptr) == EINTR) {}
}

void set_disposition(int sig, sighandler_t handler) {
  struct sigaction action {};
  action.sa_handler = handler;
  sigemptyset(&action.sa_mask);
  sigaction(sig, &action, nullptr);
}

// Optional SECONDS argument at args[index], 60 s by default.
double optional_seconds(std::string_view command, Args args, std::size_t index) {
  return args.size() > index ? parse_seconds(command, args[index]) : kDefaultSleepSeconds;
}

// ---------------------------------------------------------------------------
// Subcommands. Each returns the process exit code.

int cmd_sleep(Args args) {
  sleep_for(parse_seconds("sleep", args[0]));
  return 0;
}

int cmd_exit(Args args) {
  std::optional<std::uint64_t> code = parse_uint(args[0]);
  if (!code || *code > 255) {
    usage_error(std::string("exit: invalid exit code '") + args[0] + "'");
  }
  return static_cast<int>(*code);
}

// Raises the named signal with its default disposition and unblocked.
int raise_default(std::string_view command, const char* name, bool want_core) {
  int sig = parse_signal(command, name);
  rlimit limit{};
  if (want_core) {
    limit = {RLIM_INFINITY, RLIM_INFINITY};
    if (setrlimit(RLIMIT_CORE, &limit) != 0) {
      if (getrlimit(RLIMIT_CORE, &limit) != 0) system_error("getrlimit");
      limit.rlim_cur = limit.rlim_max;
      if (setrlimit(RLIMIT_CORE, &limit) != 0) system_error("setrlimit");
    }
  } else {
    if (getrlimit(RLIMIT_CORE, &limit) != 0) system_error("getrlimit");
    limit.rlim_cur = 0;
    if (setrlimit(RLIMIT_CORE, &limit) != 0) system_error("setrlimit");
  }
  if (sig != SIGKILL && sig != SIGSTOP) set_disposition(sig, SIG_DFL);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, sig);
  sigprocmask(SIG_UNBLOCK, &set, nullptr);
  raise(sig);
  // Only reached for signals whose default action is not to terminate.
  fail(kExitSystemError,
       std::string(command) + ": signal " + std::to_string(sig) + " did not terminate the process");
}

int cmd_signal(Args args) { return raise_default("signal", args[0], false); }

int cmd_signal_core(Args args) { return raise_default("signal-core", args[0], true); }

int cmd_echo_stdin(Args /*args*/) {
  char buffer[kChunkSize];
  while (std::size_t n = read_some(STDIN_FILENO, buffer, sizeof buffer)) {
    out(std::string_view(buffer, n));
  }
  return 0;
}

int cmd_count_stdin(Args /*args*/) {
  char buffer[kChunkSize];
  std::uint64_t total = 0;
  while (std::size_t n = read_some(STDIN_FILENO, buffer, sizeof buffer)) {
    total += n;
  }
  out(std::to_string(total) + "\n");
  return 0;
}

// Writes `total` bytes of "abc...\n" lines (64 bytes each) to each selected
// stream, alternating 64 KiB chunks between stdout and stderr.
int flood(std::string_view command, const char* size, bool to_stdout, bool to_stderr) {
  std::uint64_t total = parse_size(command, size);
  static char chunk[kChunkSize];
  for (std::size_t i = 0; i < kChunkSize; ++i) {
    std::size_t column = i % 64;
    chunk[i] = column == 63 ? '\n' : static_cast<char>('a' + column % 26);
  }
  std::uint64_t stdout_left = to_stdout ? total : 0;
  std::uint64_t stderr_left = to_stderr ? total : 0;
  while (stdout_left > 0 || stderr_left > 0) {
    if (stdout_left > 0) {
      std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(stdout_left, kChunkSize));
      emit(STDOUT_FILENO, std::string_view(chunk, n));
      stdout_left -= n;
    }
    if (stderr_left > 0) {
      std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(stderr_left, kChunkSize));
      emit(STDERR_FILENO, std::string_view(chunk, n));
      stderr_left -= n;
    }
  }
  return 0;
}

int cmd_flood_stdout(Args args) { return flood("flood-stdout", args[0], true, false); }

int cmd_flood_stderr(Args args) { return flood("flood-stderr", args[0], false, true); }

int cmd_flood_both(Args args) { return flood("flood-both", args[0], true, true); }

int cmd_print(Args args) {
  out(args[0]);
  return 0;
}

int cmd_print_err(Args args) {
  emit(STDERR_FILENO, args[0]);
  return 0;
}

int cmd_print_both(Args args) {
  out(args[0]);
  emit(STDERR_FILENO, args[1]);
  return 0;
}

int cmd_ignore_term(Args args) {
  double seconds = optional_seconds("ignore-term", args, 0);
  set_disposition(SIGTERM, SIG_IGN);
  out("ready\n");
  sleep_for(seconds);
  return 0;
}

int cmd_ignore_all(Args args) {
  double seconds = optional_seconds("ignore-all", args, 0);
  // Failures (e.g. the signals glibc reserves for itself) are expected.
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig != SIGKILL && sig != SIGSTOP) set_disposition(sig, SIG_IGN);
  }
  out("ready\n");
  sleep_for(seconds);
  return 0;
}

int cmd_env(Args /*args*/) {
  std::string text;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    text += *entry;
    text += '\n';
  }
  out(text);
  return 0;
}

int cmd_cwd(Args /*args*/) {
  std::vector<char> buffer(256);
  while (getcwd(buffer.data(), buffer.size()) == nullptr) {
    if (errno != ERANGE) system_error("getcwd");
    buffer.resize(buffer.size() * 2);
  }
  out(std::string(buffer.data()) + "\n");
  return 0;
}

int cmd_ids(Args /*args*/) {
  int count = getgroups(0, nullptr);
  if (count < 0) system_error("getgroups");
  std::vector<gid_t> groups(static_cast<std::size_t>(count));
  count = getgroups(count, groups.data());
  if (count < 0) system_error("getgroups");
  groups.resize(static_cast<std::size_t>(count));
  std::sort(groups.begin(), groups.end());

  std::string text = "uid=" + std::to_string(getuid()) + "," + std::to_string(geteuid()) +
                     " gid=" + std::to_string(getgid()) + "," + std::to_string(getegid()) + " groups=";
  for (std::size_t i = 0; i < groups.size(); ++i) {
    if (i > 0) text += ',';
    text += std::to_string(groups[i]);
  }
  out(text + "\n");
  return 0;
}

int cmd_fds(Args /*args*/) {
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) system_error("opendir /proc/self/fd");
  std::uint64_t own_fd = static_cast<std::uint64_t>(dirfd(dir));
  std::vector<std::uint64_t> fds;
  while (dirent* entry = readdir(dir)) {
    std::optional<std::uint64_t> fd = parse_uint(entry->d_name);
    if (fd && *fd != own_fd) fds.push_back(*fd);
  }
  closedir(dir);
  std::sort(fds.begin(), fds.end());

  std::string text;
  for (std::size_t i = 0; i < fds.size(); ++i) {
    if (i > 0) text += ' ';
    text += std::to_string(fds[i]);
  }
  out(text + "\n");
  return 0;
}

// Returns the value of the "Key:\tvalue" line in /proc status text.
std::string status_field(std::string_view status, std::string_view key) {
  std::size_t pos = 0;
  while (pos < status.size()) {
    std::size_t end = status.find('\n', pos);
    if (end == std::string_view::npos) end = status.size();
    std::string_view line = status.substr(pos, end - pos);
    if (line.starts_with(key) && line.size() > key.size() && line[key.size()] == ':') {
      std::string_view value = line.substr(key.size() + 1);
      std::size_t first = value.find_first_not_of(" \t");
      return first == std::string_view::npos ? std::string() : std::string(value.substr(first));
    }
    pos = end + 1;
  }
  fail(kExitSystemError, std::string("no ") + std::string(key) + " line in /proc/self/status");
}

int cmd_sigstate(Args /*args*/) {
  std::string status = read_file("/proc/self/status");
  out("blocked=" + status_field(status, "SigBlk") + " ignored=" + status_field(status, "SigIgn") + "\n");
  return 0;
}

int cmd_pgid(Args /*args*/) {
  out("pid=" + std::to_string(getpid()) + " pgid=" + std::to_string(getpgid(0)) +
      " sid=" + std::to_string(getsid(0)) + "\n");
  return 0;
}

int cmd_umask(Args /*args*/) {
  mode_t mask = umask(0);
  umask(mask);
  char text[16];
  std::snprintf(text, sizeof text, "%04o\n", static_cast<unsigned>(mask));
  out(text);
  return 0;
}

int cmd_limits(Args /*args*/) {
  copy_file_to_stdout("/proc/self/limits");
  return 0;
}

int cmd_status(Args /*args*/) {
  copy_file_to_stdout("/proc/self/status");
  return 0;
}

int cmd_grandchild_holds_stdout(Args args) {
  double seconds = parse_seconds("grandchild-holds-stdout", args[0]);
  pid_t pid = fork();
  if (pid < 0) system_error("fork");
  if (pid == 0) {
    sleep_for(seconds);
    _exit(0);
  }
  out("grandchild=" + std::to_string(pid) + "\n");
  return 0;
}

int cmd_setsid_escape(Args args) {
  double seconds = parse_seconds("setsid-escape", args[0]);
  int handshake[2];
  if (pipe2(handshake, O_CLOEXEC) != 0) system_error("pipe2");
  pid_t pid = fork();
  if (pid < 0) system_error("fork");
  if (pid == 0) {
    close(handshake[0]);
    if (setsid() < 0) _exit(kExitSystemError);
    write_all(STDOUT_FILENO, "escaped=" + std::to_string(getpid()) + "\n");
    int null_fd = open("/dev/null", O_RDWR);
    if (null_fd >= 0) {
      dup2(null_fd, STDOUT_FILENO);
      dup2(null_fd, STDERR_FILENO);
      if (null_fd > STDERR_FILENO) close(null_fd);
    } else {
      close(STDOUT_FILENO);
      close(STDERR_FILENO);
    }
    close(handshake[1]);  // Tells the parent the line has been written.
    sleep_for(seconds);
    _exit(0);
  }
  close(handshake[1]);
  char byte;
  while (read_some(handshake[0], &byte, 1) != 0) {}
  close(handshake[0]);
  sleep_for(seconds);
  return 0;
}

// setsid-escape from a second thread: the escapee is that thread's child
// (listed under /proc/PID/task/TID/children, not the main thread's), and
// the thread lives on beside the main one.
int cmd_thread_setsid_escape(Args args) {
  int result = 0;
  std::thread second{[&] { result = cmd_setsid_escape(args); }};
  second.join();
  return result;
}

// The classic daemon: fork, setsid, fork again, the middle process exits
// and the grandchild (reparented away from us) prints "daemon=PID\n" and
// lives on with its stdio on /dev/null. Exits 0 once the line is written.
int cmd_daemon(Args args) {
  double seconds = parse_seconds("daemon", args[0]);
  int handshake[2];
  if (pipe2(handshake, O_CLOEXEC) != 0) system_error("pipe2");
  pid_t middle = fork();
  if (middle < 0) system_error("fork");
  if (middle == 0) {
    close(handshake[0]);
    if (setsid() < 0) _exit(kExitSystemError);
    pid_t daemon = fork();
    if (daemon < 0) _exit(kExitSystemError);
    if (daemon > 0) _exit(0);
    write_all(STDOUT_FILENO, "daemon=" + std::to_string(getpid()) + "\n");
    int null_fd = open("/dev/null", O_RDWR);
    if (null_fd < 0) _exit(kExitSystemError);
    dup2(null_fd, STDIN_FILENO);
    dup2(null_fd, STDOUT_FILENO);
    dup2(null_fd, STDERR_FILENO);
    if (null_fd > STDERR_FILENO) close(null_fd);
    close(handshake[1]);  // Tells the parent the line has been written.
    sleep_for(seconds);
    _exit(0);
  }
  close(handshake[1]);
  while (waitpid(middle, nullptr, 0) < 0 && errno == EINTR) {}
  char byte;
  while (read_some(handshake[0], &byte, 1) != 0) {}
  close(handshake[0]);
  return 0;
}

int cmd_fork(Args args) {
  std::optional<std::uint64_t> count = parse_uint(args[0]);
  if (!count || *count > kMaxForks) {
    usage_error(std::string("fork: invalid count '") + args[0] + "'");
  }
  double seconds = parse_seconds("fork", args[1]);
  std::vector<pid_t> children;
  for (std::uint64_t i = 0; i < *count; ++i) {
    pid_t pid = fork();
    if (pid < 0) system_error("fork");
    if (pid == 0) {
      sleep_for(seconds);
      _exit(0);
    }
    children.push_back(pid);
  }
  out("forked " + std::to_string(*count) + "\n");
  for (pid_t pid : children) {
    while (waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {}
  }
  return 0;
}

int cmd_close_stdout(Args args) {
  double seconds = parse_seconds("close-stdout", args[0]);
  close(STDOUT_FILENO);
  sleep_for(seconds);
  return 0;
}

int cmd_stop_self(Args /*args*/) {
  raise(SIGSTOP);
  sleep_for(kDefaultSleepSeconds);
  return 0;
}

int cmd_concurrency(Args args) {
  std::string dir_path = args[0];
  double seconds = parse_seconds("concurrency", args[1]);
  std::string file_path = dir_path + "/" + std::to_string(getpid());
  int fd = open(file_path.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
  if (fd < 0) system_error("open " + file_path);
  close(fd);

  DIR* dir = opendir(dir_path.c_str());
  if (dir == nullptr) system_error("opendir " + dir_path);
  std::uint64_t count = 0;
  while (dirent* entry = readdir(dir)) {
    std::string_view name = entry->d_name;
    if (name != "." && name != "..") ++count;
  }
  closedir(dir);

  out(std::to_string(count) + "\n");
  sleep_for(seconds);
  if (unlink(file_path.c_str()) != 0) system_error("unlink " + file_path);
  return 0;
}

// Exits 0 once reparented; exits 1 if that has not happened within 60 s.
int cmd_pdeath(Args /*args*/) {
  pid_t parent = getppid();
  out("ppid=" + std::to_string(parent) + "\n");
  constexpr double kPollSeconds = 0.05;
  constexpr int kMaxPolls = static_cast<int>(kDefaultSleepSeconds / kPollSeconds);
  for (int i = 0; i < kMaxPolls; ++i) {
    sleep_for(kPollSeconds);
    if (getppid() != parent) return 0;
  }
  return kExitSystemError;
}

// ---------------------------------------------------------------------------
// Dispatch.

struct Command {
  std::string_view name;
  std::string_view synopsis;  // Shown in usage errors.
  std::size_t min_args;
  std::size_t max_args;
  int (*run)(Args args);
};

constexpr Command kCommands[] = {
    {"sleep", "SECONDS", 1, 1, cmd_sleep},
    {"exit", "N", 1, 1, cmd_exit},
    {"signal", "NAME|N", 1, 1, cmd_signal},
    {"signal-core", "NAME|N", 1, 1, cmd_signal_core},
    {"echo-stdin", "", 0, 0, cmd_echo_stdin},
    {"count-stdin", "", 0, 0, cmd_count_stdin},
    {"flood-stdout", "N[K|M|G]", 1, 1, cmd_flood_stdout},
    {"flood-stderr", "N[K|M|G]", 1, 1, cmd_flood_stderr},
    {"flood-both", "N[K|M|G]", 1, 1, cmd_flood_both},
    {"print", "STRING", 1, 1, cmd_print},
    {"print-err", "STRING", 1, 1, cmd_print_err},
    {"print-both", "OUT ERR", 2, 2, cmd_print_both},
    {"ignore-term", "[SECONDS]", 0, 1, cmd_ignore_term},
    {"ignore-all", "[SECONDS]", 0, 1, cmd_ignore_all},
    {"env", "", 0, 0, cmd_env},
    {"cwd", "", 0, 0, cmd_cwd},
    {"ids", "", 0, 0, cmd_ids},
    {"fds", "", 0, 0, cmd_fds},
    {"sigstate", "", 0, 0, cmd_sigstate},
    {"pgid", "", 0, 0, cmd_pgid},
    {"umask", "", 0, 0, cmd_umask},
    {"limits", "", 0, 0, cmd_limits},
    {"status", "", 0, 0, cmd_status},
    {"grandchild-holds-stdout", "SECONDS", 1, 1, cmd_grandchild_holds_stdout},
    {"setsid-escape", "SECONDS", 1, 1, cmd_setsid_escape},
    {"thread-setsid-escape", "SECONDS", 1, 1, cmd_thread_setsid_escape},
    {"daemon", "SECONDS", 1, 1, cmd_daemon},
    {"fork", "N SECONDS", 2, 2, cmd_fork},
    {"close-stdout", "SECONDS", 1, 1, cmd_close_stdout},
    {"stop-self", "", 0, 0, cmd_stop_self},
    {"concurrency", "DIR SECONDS", 2, 2, cmd_concurrency},
    {"pdeath", "", 0, 0, cmd_pdeath},
};

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) usage_error("missing subcommand");
  std::string_view name = argv[1];
  Args args(argv + 2, static_cast<std::size_t>(argc - 2));

  const Command* command = std::find_if(std::begin(kCommands), std::end(kCommands),
                                        [name](const Command& candidate) { return candidate.name == name; });
  if (command == std::end(kCommands)) {
    usage_error("unknown subcommand '" + std::string(name) + "'");
  }
  if (args.size() < command->min_args || args.size() > command->max_args) {
    std::string usage = "usage: " + std::string(name);
    if (!command->synopsis.empty()) {
      usage += " " + std::string(command->synopsis);
    }
    usage_error(usage);
  }
  return command->run(args);
}
