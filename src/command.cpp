#include <procctx/command.hpp>
#include <procctx/process.hpp>

#include "child_linux.hpp"

#include <array>
#include <charconv>
#include <cmath>
#include <cstring>

#include <sys/resource.h>

namespace procctx {
namespace {

struct SignalName {
  int number;
  const char* name;  // without "SIG"
};
constexpr std::array<SignalName, 31> kSignals{{
    {SIGHUP, "HUP"},       {SIGINT, "INT"},   {SIGQUIT, "QUIT"},   {SIGILL, "ILL"},   {SIGTRAP, "TRAP"},
    {SIGABRT, "ABRT"},     {SIGBUS, "BUS"},   {SIGFPE, "FPE"},     {SIGKILL, "KILL"}, {SIGUSR1, "USR1"},
    {SIGSEGV, "SEGV"},     {SIGUSR2, "USR2"}, {SIGPIPE, "PIPE"},   {SIGALRM, "ALRM"}, {SIGTERM, "TERM"},
    {SIGSTKFLT, "STKFLT"}, {SIGCHLD, "CHLD"}, {SIGCONT, "CONT"},   {SIGSTOP, "STOP"}, {SIGTSTP, "TSTP"},
    {SIGTTIN, "TTIN"},     {SIGTTOU, "TTOU"}, {SIGURG, "URG"},     {SIGXCPU, "XCPU"}, {SIGXFSZ, "XFSZ"},
    {SIGVTALRM, "VTALRM"}, {SIGPROF, "PROF"}, {SIGWINCH, "WINCH"}, {SIGIO, "IO"},     {SIGPWR, "PWR"},
    {SIGSYS, "SYS"},
}};

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::toupper(static_cast<unsigned char>(a[i])) != std::toupper(static_cast<unsigned char>(b[i])))
      return false;
  }
  return true;
}

Error invalid(std::string message) {
  return Error{make_error_code(errc::invalid_argument), std::move(message)};
}

}  // namespace

int signal_from_name(std::string_view name) noexcept {
  if (name.empty()) return 0;
  int n = 0;
  auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), n);
  if (ec == std::errc{} && end == name.data() + name.size()) return (n > 0 && n < 65) ? n : 0;
  if (name.size() > 3 && iequals(name.substr(0, 3), "SIG")) name.remove_prefix(3);
  for (const auto& s : kSignals) {
    if (iequals(name, s.name)) return s.number;
  }
  // Real-time signals: RTMIN, RTMIN+n, RTMAX-n.
  if (iequals(name, "RTMIN")) return SIGRTMIN;
  if (iequals(name, "RTMAX")) return SIGRTMAX;
  if (name.size() > 6 && (iequals(name.substr(0, 6), "RTMIN+") || iequals(name.substr(0, 6), "RTMAX-"))) {
    int k = 0;
    auto [e, c] = std::from_chars(name.data() + 6, name.data() + name.size(), k);
    if (c != std::errc{} || e != name.data() + name.size()) return 0;
    int sig = iequals(name.substr(0, 6), "RTMIN+") ? SIGRTMIN + k : SIGRTMAX - k;
    return (sig >= SIGRTMIN && sig <= SIGRTMAX) ? sig : 0;
  }
  return 0;
}

std::string signal_name(int sig) {
  for (const auto& s : kSignals) {
    if (s.number == sig) return std::string{"SIG"} + s.name;
  }
  return "SIG" + std::to_string(sig);
}

Result<Duration> parse_duration(std::string_view text) {
  auto bad = [&](const char* why) { return invalid("invalid duration '" + std::string{text} + "': " + why); };
  if (text.empty()) return bad("empty");
  // A decimal number, then an optional unit.
  std::size_t i = 0;
  while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.')) ++i;
  if (i == 0) return bad("expected a number");
  double value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + i, value);
  if (ec != std::errc{} || end != text.data() + i) return bad("expected a number");
  std::string_view unit = text.substr(i);
  double seconds;
  if (unit.empty() || unit == "s")
    seconds = value;
  else if (unit == "ms")
    seconds = value / 1e3;
  else if (unit == "us")
    seconds = value / 1e6;
  else if (unit == "ns")
    seconds = value / 1e9;
  else if (unit == "m")
    seconds = value * 60;
  else if (unit == "h")
    seconds = value * 3600;
  else if (unit == "d")
    seconds = value * 86400;
  else
    return bad("unknown unit (use ns, us, ms, s, m, h or d)");
  if (!std::isfinite(seconds) || seconds > 1e9) return bad("too large");
  return std::chrono::duration_cast<Duration>(std::chrono::duration<double>(seconds));
}

const std::string& Stdio::bytes() const noexcept {
  static const std::string none;
  return data_ ? *data_ : none;
}

const RelayOptions& Stdio::relay_options() const noexcept {
  static const RelayOptions defaults;
  return relay_ ? *relay_ : defaults;
}

StopSequence::StopSequence() : steps_{{SIGTERM, std::chrono::seconds(5)}, {SIGKILL, {}}} {}

Result<StopSequence> StopSequence::parse(std::string_view text) {
  std::vector<StopStep> steps;
  std::size_t pos = 0;
  auto bad = [&](std::string_view item, const char* why) {
    return invalid("invalid stop sequence '" + std::string{text} + "': '" + std::string{item} + "' " + why);
  };
  while (pos <= text.size()) {
    auto comma = text.find(',', pos);
    std::string_view item =
        text.substr(pos, comma == std::string_view::npos ? std::string_view::npos : comma - pos);
    pos = comma == std::string_view::npos ? text.size() + 1 : comma + 1;
    if (item.empty()) return bad(item, "is empty");
    if (std::isdigit(static_cast<unsigned char>(item[0])) && !steps.empty() &&
        item.find_first_not_of("0123456789") != std::string_view::npos) {
      auto d = parse_duration(item);
      if (!d) return bad(item, "is not a duration");
      if (steps.back().wait != Duration::zero()) return bad(item, "follows another duration");
      steps.back().wait = *d;
      continue;
    }
    int sig = signal_from_name(item);
    if (sig == 0) return bad(item, "is not a signal or a duration");
    steps.push_back({sig, {}});
  }
  if (steps.empty()) return invalid("invalid stop sequence: empty");
  return StopSequence{std::move(steps)};
}

std::string StopSequence::to_string() const {
  std::string out;
  for (const auto& s : steps_) {
    if (!out.empty()) out += ',';
    out += signal_name(s.signal).substr(3);
    if (s.wait > Duration::zero()) {
      auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(s.wait).count();
      out += ',';
      out += ms % 1000 == 0 ? std::to_string(ms / 1000) + "s" : std::to_string(ms) + "ms";
    }
  }
  return out;
}

Profile Profile::hardened(std::vector<std::string> env_allow) {
  Profile p;
  p.env_allow = std::move(env_allow);
  p.no_new_privs = true;
  p.umask = 077;
  p.new_session = true;
  p.parent_death_signal = SIGKILL;
  p.close_passed_fds = true;
  return p;
}

Command& Command::profile(const Profile& p) & {
  if (p.env_allow) {
    env_clear();
    env_keep_ = *p.env_allow;
  }
  if (p.no_new_privs) no_new_privs_ = true;
  if (p.umask) umask_ = p.umask;
  if (p.new_session) new_session_ = true;
  if (p.parent_death_signal) parent_death_signal_ = p.parent_death_signal;
  if (p.close_passed_fds) passed_fds_.clear();
  return *this;
}

int rlimit_from_name(std::string_view name) noexcept {
  static constexpr std::array<std::pair<const char*, int>, 16> kLimits{{
      {"AS", RLIMIT_AS},
      {"CORE", RLIMIT_CORE},
      {"CPU", RLIMIT_CPU},
      {"DATA", RLIMIT_DATA},
      {"FSIZE", RLIMIT_FSIZE},
      {"LOCKS", RLIMIT_LOCKS},
      {"MEMLOCK", RLIMIT_MEMLOCK},
      {"MSGQUEUE", RLIMIT_MSGQUEUE},
      {"NICE", RLIMIT_NICE},
      {"NOFILE", RLIMIT_NOFILE},
      {"NPROC", RLIMIT_NPROC},
      {"RSS", RLIMIT_RSS},
      {"RTPRIO", RLIMIT_RTPRIO},
      {"RTTIME", RLIMIT_RTTIME},
      {"SIGPENDING", RLIMIT_SIGPENDING},
      {"STACK", RLIMIT_STACK},
  }};
  if (name.size() > 7 && iequals(name.substr(0, 7), "RLIMIT_")) name.remove_prefix(7);
  for (const auto& [n, r] : kLimits) {
    if (iequals(name, n)) return r;
  }
  return -1;
}

Command::Command(std::string program, std::vector<std::string> args)
    : program_(std::move(program)), args_(std::move(args)) {}

Command& Command::env(std::string key, std::string value) & {
  env_edits_.emplace_back(std::move(key), std::move(value));
  return *this;
}

Command& Command::env_remove(std::string key) & {
  env_edits_.emplace_back(std::move(key), std::nullopt);
  return *this;
}

std::vector<std::string> Command::argv() const {
  std::vector<std::string> argv;
  argv.reserve(args_.size() + 1);
  argv.push_back(arg0_ ? *arg0_ : program_);
  argv.insert(argv.end(), args_.begin(), args_.end());
  return argv;
}

Result<Process> Command::spawn(const Context& ctx, SourceLocation where) const {
  return detail::spawn(*this, ctx, where);
}

Result<Completed> Command::run(const Context& ctx, SourceLocation where) const {
  // The caller waits at once, so its thread notices the exit (Process::wait
  // blocks on the pidfd); the loop still pumps pipes and runs stops.
  auto p = detail::spawn(*this, ctx, where, detail::ExitWatch::caller);
  if (!p) return std::move(p).error();
  (void)p->wait();
  // Finished: nothing else touches the outcome now, so hand it over whole.
  const auto& state = detail::SpawnAccess::state(*p);
  std::lock_guard lock{state->mu};
  return std::move(state->result);
}

}  // namespace procctx
