// plan.cpp — parsing procctx-testchild's behaviours (see plan.hpp).
#include "plan.hpp"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include <unistd.h>

namespace testchild {
namespace {

constexpr double kMaxSeconds = 1e7;
constexpr int kMaxForks = 1000;

struct SignalName {
  const char* name;
  int number;
};

constexpr SignalName kSignals[] = {
    {"HUP", SIGHUP},   {"INT", SIGINT},     {"QUIT", SIGQUIT}, {"ILL", SIGILL},   {"TRAP", SIGTRAP},
    {"ABRT", SIGABRT}, {"BUS", SIGBUS},     {"FPE", SIGFPE},   {"KILL", SIGKILL}, {"USR1", SIGUSR1},
    {"SEGV", SIGSEGV}, {"USR2", SIGUSR2},   {"PIPE", SIGPIPE}, {"ALRM", SIGALRM}, {"TERM", SIGTERM},
    {"CHLD", SIGCHLD}, {"CONT", SIGCONT},   {"STOP", SIGSTOP}, {"TSTP", SIGTSTP}, {"TTIN", SIGTTIN},
    {"TTOU", SIGTTOU}, {"URG", SIGURG},     {"XCPU", SIGXCPU}, {"XFSZ", SIGXFSZ}, {"VTALRM", SIGVTALRM},
    {"PROF", SIGPROF}, {"WINCH", SIGWINCH}, {"IO", SIGIO},     {"PWR", SIGPWR},   {"SYS", SIGSYS},
};

// string_view::substr without its exception (which would need the libstdc++ runtime).
std::string_view slice(std::string_view s, std::size_t from, std::size_t n = std::string_view::npos) {
  if (from > s.size()) from = s.size();
  if (n > s.size() - from) n = s.size() - from;
  return {s.data() + from, n};
}

bool parse_uint(std::string_view text, std::uint64_t max, std::uint64_t& out) {
  if (text.empty() || text.size() > 20) return false;
  std::uint64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    std::uint64_t digit = static_cast<std::uint64_t>(c - '0');
    if (v > (max - digit) / 10) return false;
    v = v * 10 + digit;
  }
  out = v;
  return true;
}

bool equal_upper(std::string_view text, const char* name) {
  std::size_t n = std::strlen(name);
  if (text.size() != n) return false;
  for (std::size_t i = 0; i < n; ++i) {
    char c = text[i];
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    if (c != name[i]) return false;
  }
  return true;
}

// "TERM", "SIGTERM", "term" or "15"; 0 when it names no signal.
int signal_number(std::string_view text) {
  std::uint64_t n = 0;
  if (parse_uint(text, NSIG - 1, n)) return n >= 1 ? static_cast<int>(n) : 0;
  if (text.size() > 3 && equal_upper(slice(text, 0, 3), "SIG")) text.remove_prefix(3);
  for (const SignalName& s : kSignals) {
    if (equal_upper(text, s.name)) return s.number;
  }
  return 0;
}

// A signal whose default action does not end the process.
bool does_not_terminate(int sig) {
  return sig == SIGCHLD || sig == SIGCONT || sig == SIGURG || sig == SIGWINCH || sig == SIGSTOP ||
         sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU;
}

using Parser = bool (*)(const char* arg, std::string_view value, Behaviour& b);

bool bad(const char* arg, const char* why) {
  complain(arg, ": ", why);
  return false;
}

bool parse_seconds(const char* arg, std::string_view value, Behaviour& b) {
  char buf[64];
  if (value.empty() || value.size() >= sizeof buf || value[0] == '-' || value[0] == '+') {
    return bad(arg, "SECONDS must be a number from 0 to 10000000 (0.5 is half a second)");
  }
  std::memcpy(buf, value.data(), value.size());
  buf[value.size()] = '\0';
  char* end = nullptr;
  errno = 0;
  double s = std::strtod(buf, &end);
  if (end != buf + value.size() || errno != 0 || !std::isfinite(s) || s < 0 || s > kMaxSeconds) {
    return bad(arg, "SECONDS must be a number from 0 to 10000000 (0.5 is half a second)");
  }
  b.seconds = s;
  return true;
}

bool parse_exit(const char* arg, std::string_view value, Behaviour& b) {
  std::uint64_t n = 0;
  if (!parse_uint(value, 255, n)) return bad(arg, "N must be an exit code from 0 to 255");
  b.number = static_cast<int>(n);
  return true;
}

bool parse_signal(const char* arg, std::string_view value, Behaviour& b) {
  int sig = signal_number(value);
  if (sig == 0) return bad(arg, "not a signal name (TERM, SIGKILL) or number");
  if (does_not_terminate(sig))
    return bad(arg, "this signal does not end a process by default (stop-self stops one)");
  b.number = sig;
  return true;
}

bool parse_ignore(const char* arg, std::string_view value, Behaviour& b) {
  sigemptyset(&b.signals);
  if (value.empty()) return bad(arg, "name the signals to ignore: ignore=TERM,INT");
  while (!value.empty()) {
    std::size_t comma = value.find(',');
    std::string_view name = slice(value, 0, comma);
    int sig = signal_number(name);
    if (sig == 0) return bad(arg, "not a signal name (TERM, SIGINT) or number");
    if (sig == SIGKILL || sig == SIGSTOP) return bad(arg, "SIGKILL and SIGSTOP cannot be ignored");
    sigaddset(&b.signals, sig);
    value = comma == std::string_view::npos ? std::string_view{} : slice(value, comma + 1);
  }
  return true;
}

// BYTES, with K, M or G for KiB, MiB, GiB.
bool parse_bytes(const char* arg, std::string_view value, Behaviour& b) {
  unsigned shift = 0;
  if (!value.empty()) {
    switch (value.back()) {
      case 'K':
      case 'k':
        shift = 10;
        break;
      case 'M':
      case 'm':
        shift = 20;
        break;
      case 'G':
      case 'g':
        shift = 30;
        break;
      default:
        break;
    }
    if (shift != 0) value.remove_suffix(1);
  }
  std::uint64_t n = 0;
  if (!parse_uint(value, UINT64_MAX >> shift, n))
    return bad(arg, "BYTES must be a count, with K, M or G (64K)");
  b.bytes = n << shift;
  return true;
}

bool parse_fork(const char* arg, std::string_view value, Behaviour& b) {
  std::uint64_t n = 0;
  if (!parse_uint(value, kMaxForks, n) || n == 0) return bad(arg, "N must be a count from 1 to 1000");
  b.number = static_cast<int>(n);
  return true;
}

bool parse_text(const char*, std::string_view value, Behaviour& b) {
  b.text = value.data();  // the rest of argv's string, NUL-terminated
  return true;
}

enum class Value { none, required, optional };

struct Entry {
  const char* name;
  Kind kind;
  Value value;
  Parser parse;
  double default_seconds;
};

constexpr Entry kEntries[] = {
    {"sleep", Kind::sleep, Value::required, parse_seconds, 0},
    {"exit", Kind::exit, Value::required, parse_exit, 0},
    {"signal", Kind::signal, Value::required, parse_signal, 0},
    {"ignore", Kind::ignore, Value::required, parse_ignore, 0},
    {"stdout", Kind::stdout_flood, Value::required, parse_bytes, 0},
    {"stderr", Kind::stderr_flood, Value::required, parse_bytes, 0},
    {"print", Kind::print, Value::required, parse_text, 0},
    {"grandchild-holds-output", Kind::grandchild_holds_output, Value::optional, parse_seconds, 60},
    {"setsid-daemon", Kind::setsid_daemon, Value::optional, parse_seconds, 60},
    {"fork", Kind::fork, Value::required, parse_fork, 0},
    {"stop-self", Kind::stop_self, Value::none, nullptr, 0},
    {"close-stdout", Kind::close_stdout, Value::none, nullptr, 0},
    {"read-stdin", Kind::read_stdin, Value::none, nullptr, 0},
    {"print-env", Kind::print_env, Value::none, nullptr, 0},
    {"print-fds", Kind::print_fds, Value::none, nullptr, 0},
    {"print-ids", Kind::print_ids, Value::none, nullptr, 0},
};

bool parse_one(const char* arg, Behaviour& b) {
  std::string_view text{arg};
  std::size_t eq = text.find('=');
  std::string_view name = slice(text, 0, eq);
  for (const Entry& e : kEntries) {
    if (name != e.name) continue;
    b.kind = e.kind;
    b.seconds = e.default_seconds;
    if (eq == std::string_view::npos) {
      if (e.value == Value::required) return bad(arg, "needs a value (NAME=VALUE)");
      return true;
    }
    if (e.value == Value::none) return bad(arg, "takes no value");
    return e.parse(arg, slice(text, eq + 1), b);
  }
  complain("unknown behaviour '", arg, "' (procctx-testchild --help lists them)");
  return false;
}

}  // namespace

bool parse(int argc, char** argv, Plan& plan) {
  if (static_cast<std::size_t>(argc - 1) > kMaxBehaviours) {
    complain("too many behaviours (at most 256)");
    return false;
  }
  for (int i = 1; i < argc; ++i) {
    if (!parse_one(argv[i], plan.steps[plan.size])) return false;
    ++plan.size;
  }
  return true;
}

int write_all(int fd, const char* text, std::size_t size) {
  while (size > 0) {
    ssize_t n = ::write(fd, text, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    text += n;
    size -= static_cast<std::size_t>(n);
  }
  return 0;
}

int write_text(int fd, const char* text) { return write_all(fd, text, std::strlen(text)); }

void complain(const char* a, const char* b, const char* c) {
  (void)write_text(STDERR_FILENO, "procctx-testchild: ");
  (void)write_text(STDERR_FILENO, a);
  (void)write_text(STDERR_FILENO, b);
  (void)write_text(STDERR_FILENO, c);
  (void)write_text(STDERR_FILENO, "\n");
}

}  // namespace testchild
