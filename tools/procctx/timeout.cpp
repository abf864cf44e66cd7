// procctx timeout — a drop-in for GNU coreutils timeout(1) as of 9.11, on
// procctx. Installed as `timeout` (a symlink or a copy), it is one.
//
// Same options, duration syntax, signals, messages and exit codes.
// Differences, all deliberate (docs/cli.md lists them): the child gets its
// own process group (and the terminal, when procctx has it) instead of
// procctx moving itself into a new group; with -k, whatever is left of that
// group after the command exits is still killed when the grace runs out;
// after KILL procctx exits 137 rather than killing itself.
#include "durations.hpp"
#include "gnu_signals.hpp"
#include "subcommands.hpp"
#include "supervise.hpp"

#include <procctx/procctx.hpp>

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
    {'s', "signal", "SIGNAL",
     "the signal sent on timeout, by name (TERM, SIGINT, int) or number; default TERM"},
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
    "Every terminating signal that reaches timeout (HUP, INT, TERM, PIPE, USR1, ...) is passed on to\n"
    "COMMAND's process group, except those its parent left ignored. When COMMAND is killed by a\n"
    "signal and no timeout fired, timeout ends by that same signal. If timeout itself is killed,\n"
    "COMMAND gets SIGNAL.\n"
    "\n"
    "Installed under the name timeout (a symlink to procctx, or a copy), procctx is this command.\n"
    "\n"
    "Exit status:\n"
    "  124  COMMAND timed out (and --preserve-status was not given)\n"
    "  125  timeout itself failed (bad usage, cannot start COMMAND)\n"
    "  126  COMMAND was found but could not be run\n"
    "  127  COMMAND was not found\n"
    "  137  COMMAND was killed by KILL (128+9)\n"
    "  otherwise COMMAND's own status\n";

const Spec kSpec{"timeout", "[OPTION]... DURATION COMMAND [ARG]...",
                 "Run COMMAND, and stop it if it still runs after DURATION.", kDetails, kFlags};

struct Options {
  int term_signal = SIGTERM;
  double kill_after = 0;
  double seconds = 0;
  bool foreground = false, preserve = false, verbose = false;
  std::vector<std::string> command;  // COMMAND [ARG]...
};

// The options and operands, or nullopt with `exit_code` set (a usage error,
// or --help/--version done).
std::optional<Options> parse_options(std::span<const std::string> args, int& exit_code) {
  auto parsed = parse_args(kSpec, args, exit_code);
  if (!parsed) return std::nullopt;
  Options o;
  auto fail = [&](const std::string& message) {
    exit_code = usage_error(kSpec, message);
    return std::nullopt;
  };
  if (auto s = parsed->value("signal")) {
    auto sig = parse_signal_operand(*s);
    if (!sig) return fail(quote(*s) + ": invalid signal");
    o.term_signal = *sig;
  }
  if (auto k = parsed->value("kill-after")) {
    auto d = parse_gnu_duration(*k);
    if (!d) return fail("invalid time interval " + quote(*k));
    o.kill_after = *d;
  }
  if (parsed->operands.size() < 2) return fail("");
  auto seconds = parse_gnu_duration(parsed->operands[0]);
  if (!seconds) return fail("invalid time interval " + quote(parsed->operands[0]));
  o.seconds = *seconds;
  o.foreground = parsed->has("foreground");
  o.preserve = parsed->has("preserve-status");
  o.verbose = parsed->has("verbose");
  o.command.assign(parsed->operands.begin() + 1, parsed->operands.end());
  return o;
}

// What procctx takes over while the command runs: every terminating signal
// but those its parent left ignored; ALRM (the timeout itself) and SIGNAL
// always, as GNU timeout.
std::vector<int> handled_signals(int term_signal) {
  std::vector<int> out;
  for (int sig : terminating_signals()) {
    if (sig == SIGALRM || sig == term_signal || !ignored_at_start(sig)) out.push_back(sig);
  }
  if (term_signal > 0) out.push_back(term_signal);
  return out;
}

void say_sending(int sig, const std::string& program) {
  say(program_name(kSpec), "sending signal " + signal_short_name(sig) + " to command " + quote(program));
}

Command make_command(const Options& o) {
  const Duration grace = seconds_to_duration(o.kill_after);
  const bool escalate = o.kill_after > 0 && grace != Duration::max();
  std::vector<StopStep> steps{{o.term_signal, escalate ? grace : Duration::zero()}};
  if (escalate) steps.push_back({SIGKILL, {}});
  Command cmd{o.command[0], {o.command.begin() + 1, o.command.end()}};
  // What procctx's parent left ignored stays ignored for the command, as
  // execve leaves it; what procctx ignores for itself does not (GNU timeout
  // resets TTIN and TTOU too).
  std::vector<int> reset{SIGTTIN, SIGTTOU, SIGCHLD};
  if (!ignored_at_start(SIGPIPE)) reset.push_back(SIGPIPE);
  // As a drop-in: every fd it inherited (a make jobserver, a 3>file), and
  // execvp's rules for finding the command and running a script without #!.
  cmd.keep_ignored_signals(std::move(reset))
      .keep_inherited_fds()
      .shell_fallback()
      .path_lookup(PathLookup::allow_relative)
      .tree(o.foreground ? Tree::none : Tree::process_group)
      .stop(StopSequence{steps})
      .wait_delay(Duration::zero());
  // If procctx dies (even of SIGKILL), the command gets the signal it would
  // have been sent (coreutils 9.10).
  if (o.term_signal > 0) cmd.parent_death_signal(o.term_signal);
  if (o.verbose) {
    cmd.on_stop_signal([program = o.command[0]](const SignalSent& s) { say_sending(s.signal, program); });
  }
  return cmd;
}

// A signal procctx received, passed on as GNU timeout does: to the command,
// then (unless --foreground) to its process group, each followed by CONT.
void forward(const Options& o, const Process& p, int sig) {
  if (o.verbose) say_sending(sig, o.command[0]);
  (void)p.signal(sig);  // the command itself, in case it left its group
  if (o.foreground) return;
  (void)p.signal_tree(sig);
  if (sig != SIGKILL && sig != SIGCONT) {
    (void)p.signal(SIGCONT);
    (void)p.signal_tree(SIGCONT);
  }
}

// Waits for the command, passing signals on as GNU timeout's cleanup() does;
// returns whether it timed out.
bool supervise(const Options& o, const Process& p, Supervisor& supervisor, TimePoint started) {
  const Duration limit = seconds_to_duration(o.seconds);
  std::optional<TimePoint> deadline;
  if (o.seconds > 0 && limit != Duration::max()) deadline = started + limit;
  const Duration grace = seconds_to_duration(o.kill_after);
  const bool escalate = o.kill_after > 0 && grace != Duration::max();
  bool timed_out = false;
  std::optional<TimePoint> kill_at;  // -k armed by a signal from outside
  for (;;) {
    auto ev = supervisor.next(kill_at ? kill_at : deadline);
    if (ev.kind == Supervisor::Event::exited) return timed_out;
    bool alarm =
        ev.kind == Supervisor::Event::timeout || (ev.kind == Supervisor::Event::signal && ev.sig == SIGALRM);
    if (alarm && kill_at) {  // the -k grace after a forwarded signal ran out
      if (o.verbose) say_sending(SIGKILL, o.command[0]);
      (void)p.kill();
      kill_at.reset();
      timed_out = true;
    } else if (alarm) {  // the timeout: the stop sequence (SIGNAL, -k grace, KILL)
      timed_out = true;
      deadline.reset();
      p.stop();
      if (!o.foreground) supervisor.ignore(o.term_signal);
    } else if (ev.kind == Supervisor::Event::signal) {
      forward(o, p, ev.sig);
      // GNU timeout ignores what it sent its group (it is in that group);
      // a forwarded PIPE that our own -v line to a closed stderr raises
      // again would otherwise be forwarded forever.
      if (!o.foreground || ev.sig == SIGPIPE) supervisor.ignore(ev.sig);
      if (escalate && !timed_out && !kill_at) {
        kill_at = Clock::now() + grace;
        deadline.reset();
      }
    }
  }
}

// GNU timeout's exit status; ends procctx by the command's signal when it
// died of one without a timeout.
int exit_status(const Options& o, const Completed& c, bool timed_out, Terminal& terminal) {
  bool keep_status = o.preserve;
  int status = kExitFailure;
  if (c.status.exited()) {
    status = c.status.code();
  } else if (c.status.signaled()) {
    int sig = c.status.signal();
    if (c.status.core_dumped()) say(program_name(kSpec), "the monitored command dumped core");
    if (!timed_out) {
      terminal.take_back();
      die_of(sig);
    }
    if (sig == SIGKILL) keep_status = true;  // so a forced kill shows as 137
    status = kExitSignalBase + sig;
  }
  return timed_out && !keep_status ? kExitTimedOut : status;
}

}  // namespace

const Spec& timeout_spec() { return kSpec; }

int timeout_main(std::span<const std::string> args) {
  int exit_code = 0;
  auto o = parse_options(args, exit_code);
  if (!o) return exit_code;

  Terminal terminal;
  Command cmd = make_command(*o);  // before taking signals over: it reads which were ignored
  Supervisor supervisor;
  if (auto taken = supervisor.take_over(handled_signals(o->term_signal)); !taken) {
    say(program_name(kSpec), taken.error().message());
    return kExitFailure;
  }
  const bool hand_terminal = !o->foreground && terminal.fd() >= 0;
  if (hand_terminal) cmd.foreground_terminal(terminal.fd());

  // The deadline is timeout's own, not the context's: a duration too short
  // to outlast the spawn still runs the command and times it out (124).
  auto [ctx, cancel] = with_cancel(background());
  const TimePoint started = Clock::now();
  auto p = cmd.spawn(ctx);
  if (!p) {
    auto failure = describe_spawn_failure(p.error(), o->command[0]);
    say(program_name(kSpec), failure.text);
    return failure.exit_code;
  }
  if (auto watched = supervisor.watch(*p, hand_terminal ? &terminal : nullptr); !watched) {
    say(program_name(kSpec), watched.error().message());
    (void)p->kill();
    (void)p->wait();
    return kExitFailure;
  }
  bool timed_out = supervise(*o, *p, supervisor, started);
  const Completed& c = p->wait();
  terminal.take_back();
  return exit_status(*o, c, timed_out, terminal);
}

}  // namespace procctx::cli
