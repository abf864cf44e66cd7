#include "gnu_signals.hpp"

#include <procctx/procctx.hpp>

#include <cerrno>
#include <csignal>
#include <cstdlib>

namespace procctx::cli {
namespace {

constexpr int kLastSignal = 64;

std::string upcase_ascii(std::string_view s) {
  std::string out{s};
  for (char& c : out) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return out;
}

// A name without SIG: the library's table, and the aliases and "EXIT" that
// gnulib's str2sig knows too. -1 when unknown.
int name_to_signal(const std::string& name) {
  if (name == "EXIT") return 0;
  if (name == "IOT") return SIGABRT;
  if (name == "CLD") return SIGCHLD;
  if (name == "POLL") return SIGPOLL;
  if (name.empty()) return -1;
  if (name[0] >= '0' && name[0] <= '9') {
    char* end = nullptr;
    long n = std::strtol(name.c_str(), &end, 10);
    return end != nullptr && *end == '\0' && n <= kLastSignal ? static_cast<int>(n) : -1;
  }
  int sig = signal_from_name(name);
  return sig > 0 ? sig : -1;
}

}  // namespace

std::optional<int> parse_signal_operand(std::string_view text) {
  int sig = -1;
  if (!text.empty() && text[0] >= '0' && text[0] <= '9') {
    std::string s{text};
    char* end = nullptr;
    errno = 0;
    long n = std::strtol(s.c_str(), &end, 10);
    if (*end == '\0' && errno == 0 && n == static_cast<int>(n)) {
      // A shell's $? for a signal: 128+N (ksh: 256+N).
      sig = static_cast<int>(n) & (n >= 0xff ? 0xff : 0x7f);
    }
  } else {
    std::string name = upcase_ascii(text);
    sig = name_to_signal(name);
    if (sig < 0 && name.size() > 3 && name.compare(0, 3, "SIG") == 0) sig = name_to_signal(name.substr(3));
  }
  if (sig < 0 || sig > kLastSignal) return std::nullopt;
  return sig;
}

std::string signal_short_name(int sig) {
  const int rtmin = SIGRTMIN, rtmax = SIGRTMAX;
  if (sig >= rtmin && sig <= rtmax) {
    if (sig == rtmin) return "RTMIN";
    if (sig == rtmax) return "RTMAX";
    if (sig <= rtmin + (rtmax - rtmin) / 2) return "RTMIN+" + std::to_string(sig - rtmin);
    return "RTMAX-" + std::to_string(rtmax - sig);
  }
  std::string name = sig > 0 ? signal_name(sig) : std::string{};
  if (name.rfind("SIG", 0) == 0 && signal_from_name(name) == sig) return name.substr(3);
  return std::to_string(sig);
}

std::vector<int> terminating_signals() {
  std::vector<int> sigs{SIGALRM, SIGINT,    SIGQUIT, SIGHUP,  SIGTERM, SIGPIPE,  SIGUSR1, SIGUSR2,
                        SIGILL,  SIGTRAP,   SIGABRT, SIGBUS,  SIGFPE,  SIGSEGV,  SIGXCPU, SIGXFSZ,
                        SIGSYS,  SIGVTALRM, SIGPROF, SIGPOLL, SIGPWR,  SIGSTKFLT};
  for (int s = SIGRTMIN; s <= SIGRTMAX; ++s) sigs.push_back(s);
  return sigs;
}

}  // namespace procctx::cli
