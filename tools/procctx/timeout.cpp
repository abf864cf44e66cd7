// procctx timeout — a drop-in for GNU coreutils timeout(1), on procctx.
//
// Same options, duration syntax, messages and exit codes. Differences, all
// deliberate (docs/cli.md lists them): the child gets its own process group
// (and the terminal, when procctx has it) instead of procctx moving itself
// into a new group; with -k, whatever is left of that group after the
// command exits is still killed when the grace runs out, instead of being
// left running; after KILL procctx exits 137 rather than killing itself.
#include "subcommands.hpp"
#include "supervise.hpp"

#include <procctx/procctx.hpp>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

namespace procctx::cli {
namespace {

constexpr Flag kFlags[] = {
    {'f', "foreground", "",
     "keep COMMAND in procctx's own process group, for use outside a shell prompt: COMMAND may read "
     "the terminal and gets its signals, but its children are not timed out"},
    {'k', "kill-after", "DURATION",
     "if COMMAND (or anything left in its process group) still runs DURATION after the first signal, "
     "send KILL"},
    {'p', "preserve-status", "", "exit with COMMAND's status even when it timed out"},
    {'s', "signal", "SIGNAL", "the signal sent on timeout, by name (TERM, SIGINT, int) or number; default TERM"},
    {'v', "verbose", "", "say on stderr each signal sent on timeout"},
    {0, "help", "", "show this help and exit"},
    {0, "version", "", "show the version and exit"},
};

constexpr std::string_view kDetails =
    "Starts COMMAND and sends it SIGNAL (and SIGCONT) if it still runs after DURATION.\n"
    "\n"
    "DURATION is a non-negative floating-point number with an optional unit: s (seconds, the default),\n"
    "m (minutes), h (hours) or d (days). 0 disables the timeout.\n"
    "\n"
    "Signals that procctx receives (HUP, INT, QUIT, TERM, ALRM, USR1, USR2) are passed on to COMMAND's\n"
    "process group. When COMMAND is killed by a signal and no timeout fired, procctx ends by that same\n"
    "signal.\n"
    "\n"
    "Exit status:\n"
    "  124  COMMAND timed out (and --preserve-status was not given)\n"
    "  125  procctx itself failed (bad usage, cannot start COMMAND)\n"
    "  126  COMMAND was found but could not be run\n"
    "  127  COMMAND was not found\n"
    "  137  COMMAND was killed by KILL (128+9)\n"
    "  otherwise COMMAND's own status\n";

const Spec kSpec{"timeout", "[OPTION]... DURATION COMMAND [ARG]...",
                 "Run COMMAND, and stop it if it still runs after DURATION.", kDetails, kFlags};

// GNU's signal operands: a number 0..SIGRTMAX, or a name with or without
// SIG in any case.
std::optional<int> parse_signal(const std::string& text) {
  if (!text.empty() && std::all_of(text.begin(), text.end(), [](unsigned char c) { return std::isdigit(c); })) {
    if (text.size() > 3) return std::nullopt;
    int n = std::stoi(text);
    if (n > SIGRTMAX) return std::nullopt;
    return n;
  }
  int sig = signal_from_name(text);
  if (sig == 0) return std::nullopt;
  return sig;
}

// "TERM" for SIGTERM, as GNU's sig2str spells it.
std::string short_signal_name(int sig) {
  if (sig == 0) return "0";
  std::string name = signal_name(sig);
  return name.rfind("SIG", 0) == 0 ? name.substr(3) : name;
}

}  // namespace

const Spec& timeout_spec() { return kSpec; }

int timeout_main(std::span<const std::string> args) {
  int exit_code = 0;
  auto parsed = parse_args(kSpec, args, exit_code);
  if (!parsed) return exit_code;

  int term_signal = SIGTERM;
  if (auto s = parsed->value("signal")) {
    auto sig = parse_signal(*s);
    if (!sig) return usage_error(kSpec, quote(*s) + ": invalid signal");
    term_signal = *sig;
  }
  double kill_after = 0;
  if (auto k = parsed->value("kill-after")) {
    auto d = parse_gnu_duration(*k);
    if (!d) return usage_error(kSpec, "invalid time interval " + quote(*k));
    kill_after = *d;
  }
  if (parsed->operands.size() < 2) return usage_error(kSpec, "");
  auto seconds = parse_gnu_duration(parsed->operands[0]);
  if (!seconds) return usage_error(kSpec, "invalid time interval " + quote(parsed->operands[0]));
  const bool foreground = parsed->has("foreground");
  const bool preserve = parsed->has("preserve-status");
  const bool verbose = parsed->has("verbose");
  const std::string& program = parsed->operands[1];

  Supervisor supervisor{term_signal};

  const Duration grace = seconds_to_duration(kill_after);
  const bool escalate = kill_after > 0 && grace != Duration::max();
  std::vector<StopStep> steps{{term_signal, escalate ? grace : Duration::zero()}};
  if (escalate) steps.push_back({SIGKILL, {}});
  Command cmd{program, {parsed->operands.begin() + 2, parsed->operands.end()}};
  cmd.path_lookup(PathLookup::allow_relative)  // execvp's rules, as GNU timeout
      .tree(foreground ? Tree::none : Tree::process_group)
      .stop(StopSequence{steps})
      .wait_delay(Duration::zero());
  if (verbose) {
    cmd.on_stop_signal([program](const SignalSent& s) {
      std::fprintf(stderr, "procctx timeout: sending signal %s to command %s\n",
                   short_signal_name(s.signal).c_str(), quote(program).c_str());
    });
  }
  const bool hand_terminal = !foreground && supervisor.foreground_terminal() >= 0;
  if (hand_terminal) cmd.foreground_terminal(supervisor.foreground_terminal());

  Duration limit = seconds_to_duration(*seconds);
  auto [ctx, cancel] = (*seconds > 0 && limit != Duration::max()) ? with_timeout(background(), limit)
                                                                  : with_cancel(background());
  auto p = cmd.spawn(ctx);
  if (!p) {
    auto failure = describe_spawn_failure(p.error(), program);
    std::fprintf(stderr, "procctx timeout: %s\n", failure.text.c_str());
    return failure.exit_code;
  }
  supervisor.watch(*p, hand_terminal);

  // Signals to procctx go on to the child's group (GNU's cleanup()); the
  // first one also starts the -k grace, as on timeout.
  bool alarm = false;
  std::optional<TimePoint> kill_at;
  for (;;) {
    auto ev = supervisor.next(kill_at);
    if (ev.kind == Supervisor::Event::exited) break;
    if (ev.kind == Supervisor::Event::timeout) {
      if (verbose) {
        std::fprintf(stderr, "procctx timeout: sending signal KILL to command %s\n", quote(program).c_str());
      }
      (void)p->kill();
      kill_at.reset();
      continue;
    }
    if (ev.sig == SIGALRM) {  // GNU treats an outside ALRM as the timeout itself
      alarm = true;
      p->stop();
      continue;
    }
    if (verbose) {
      std::fprintf(stderr, "procctx timeout: sending signal %s to command %s\n",
                   short_signal_name(ev.sig).c_str(), quote(program).c_str());
    }
    (void)p->signal_tree(ev.sig);
    if (ev.sig != SIGKILL && ev.sig != SIGCONT) (void)p->signal_tree(SIGCONT);
    if (escalate && !kill_at) kill_at = Clock::now() + grace;
  }
  const Completed& c = p->wait();
  supervisor.take_terminal_back();

  const bool timed_out = alarm || c.stop_reason == StopReason::deadline;
  int status = 0;
  bool keep_status = preserve;
  if (c.status.exited()) {
    status = c.status.code();
  } else if (c.status.signaled()) {
    int sig = c.status.signal();
    if (c.status.core_dumped()) std::fprintf(stderr, "procctx timeout: the monitored command dumped core\n");
    if (!timed_out) supervisor.die_of(sig);
    if (sig == SIGKILL) keep_status = true;  // so a forced kill shows as 137
    status = kExitSignalBase + sig;
  } else {
    status = kExitFailure;
  }
  if (timed_out && !keep_status) status = kExitTimedOut;
  return status;
}

}  // namespace procctx::cli
