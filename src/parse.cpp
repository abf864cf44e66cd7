// parse.cpp — the tables behind signal and resource-limit names, and the
// duration and stop-sequence texts.
#include <procctx/command.hpp>
#include <procctx/parse.hpp>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cmath>
#include <csignal>

#include <sys/resource.h>

namespace procctx {
namespace {

struct Name {
  int number;
  const char* name;  // without "SIG" / "RLIMIT_"
};

constexpr std::array<Name, 31> kSignals{{
    {SIGHUP, "HUP"},       {SIGINT, "INT"},   {SIGQUIT, "QUIT"},   {SIGILL, "ILL"},   {SIGTRAP, "TRAP"},
    {SIGABRT, "ABRT"},     {SIGBUS, "BUS"},   {SIGFPE, "FPE"},     {SIGKILL, "KILL"}, {SIGUSR1, "USR1"},
    {SIGSEGV, "SEGV"},     {SIGUSR2, "USR2"}, {SIGPIPE, "PIPE"},   {SIGALRM, "ALRM"}, {SIGTERM, "TERM"},
    {SIGSTKFLT, "STKFLT"}, {SIGCHLD, "CHLD"}, {SIGCONT, "CONT"},   {SIGSTOP, "STOP"}, {SIGTSTP, "TSTP"},
    {SIGTTIN, "TTIN"},     {SIGTTOU, "TTOU"}, {SIGURG, "URG"},     {SIGXCPU, "XCPU"}, {SIGXFSZ, "XFSZ"},
    {SIGVTALRM, "VTALRM"}, {SIGPROF, "PROF"}, {SIGWINCH, "WINCH"}, {SIGIO, "IO"},     {SIGPWR, "PWR"},
    {SIGSYS, "SYS"},
}};

constexpr std::array<Name, 16> kRlimits{{
    {RLIMIT_CPU, "CPU"},         {RLIMIT_FSIZE, "FSIZE"},     {RLIMIT_DATA, "DATA"},
    {RLIMIT_STACK, "STACK"},     {RLIMIT_CORE, "CORE"},       {RLIMIT_RSS, "RSS"},
    {RLIMIT_NPROC, "NPROC"},     {RLIMIT_NOFILE, "NOFILE"},   {RLIMIT_MEMLOCK, "MEMLOCK"},
    {RLIMIT_AS, "AS"},           {RLIMIT_LOCKS, "LOCKS"},     {RLIMIT_SIGPENDING, "SIGPENDING"},
    {RLIMIT_MSGQUEUE, "MSGQUEUE"}, {RLIMIT_NICE, "NICE"},     {RLIMIT_RTPRIO, "RTPRIO"},
    {RLIMIT_RTTIME, "RTTIME"},
}};

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::toupper(static_cast<unsigned char>(a[i])) != std::toupper(static_cast<unsigned char>(b[i])))
      return false;
  }
  return true;
}

bool starts_with_i(std::string_view s, std::string_view prefix) {
  return s.size() > prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

Error invalid(std::string message) { return Error{make_error_code(errc::invalid_argument), std::move(message)}; }

// RTMIN, RTMAX, RTMIN+n, RTMAX-n; 0 when `name` is none of them.
int realtime_signal(std::string_view name) {
  if (iequals(name, "RTMIN")) return SIGRTMIN;
  if (iequals(name, "RTMAX")) return SIGRTMAX;
  bool plus = starts_with_i(name, "RTMIN+"), minus = starts_with_i(name, "RTMAX-");
  if (!plus && !minus) return 0;
  int k = 0;
  auto [end, ec] = std::from_chars(name.data() + 6, name.data() + name.size(), k);
  if (ec != std::errc{} || end != name.data() + name.size()) return 0;
  int sig = plus ? SIGRTMIN + k : SIGRTMAX - k;
  return (sig >= SIGRTMIN && sig <= SIGRTMAX) ? sig : 0;
}

}  // namespace

int signal_from_name(std::string_view name) noexcept {
  if (name.empty()) return 0;
  int n = 0;
  auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), n);
  if (ec == std::errc{} && end == name.data() + name.size()) return (n > 0 && n < 65) ? n : 0;
  if (starts_with_i(name, "SIG")) name.remove_prefix(3);
  for (const auto& s : kSignals) {
    if (iequals(name, s.name)) return s.number;
  }
  return realtime_signal(name);
}

std::string signal_name(int sig) {
  for (const auto& s : kSignals) {
    if (s.number == sig) return std::string{"SIG"} + s.name;
  }
  return "SIG" + std::to_string(sig);
}

bool needs_continue(int sig) noexcept { return sig != SIGKILL && sig != SIGCONT; }

int rlimit_from_name(std::string_view name) noexcept {
  if (starts_with_i(name, "RLIMIT_")) name.remove_prefix(7);
  for (const auto& r : kRlimits) {
    if (iequals(name, r.name)) return r.number;
  }
  return -1;
}

std::string rlimit_name(int resource) {
  for (const auto& r : kRlimits) {
    if (r.number == resource) return std::string{"RLIMIT_"} + r.name;
  }
  return "rlimit " + std::to_string(resource);
}

Result<Duration> parse_duration(std::string_view text) {
  auto bad = [&](const char* why) { return invalid("invalid duration '" + std::string{text} + "': " + why); };
  if (text.empty()) return bad("empty");
  // A decimal number (an exponent allowed: 1e3), then an optional unit.
  if (!std::isdigit(static_cast<unsigned char>(text[0])) && text[0] != '.') return bad("expected a number");
  double value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec == std::errc::result_out_of_range) return bad("too large (at most 1e9 seconds, about 31 years)");
  if (ec != std::errc{}) return bad("expected a number");
  auto i = static_cast<std::size_t>(end - text.data());
  static constexpr std::pair<std::string_view, double> kUnits[] = {
      {"", 1}, {"s", 1}, {"ms", 1e-3}, {"us", 1e-6}, {"ns", 1e-9}, {"m", 60}, {"h", 3600}, {"d", 86400}};
  std::string_view unit = text.substr(i);
  const auto* found = std::find_if(std::begin(kUnits), std::end(kUnits), [&](const auto& u) { return u.first == unit; });
  if (found == std::end(kUnits)) return bad("unknown unit (use ns, us, ms, s, m, h or d)");
  double seconds = value * found->second;
  if (!std::isfinite(seconds) || seconds > 1e9) return bad("too large (at most 1e9 seconds, about 31 years)");
  return std::chrono::duration_cast<Duration>(std::chrono::duration<double>(seconds));
}

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

}  // namespace procctx
