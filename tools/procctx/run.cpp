// procctx run — one command under full supervision: a deadline, the stop
// sequence, whole-tree kill, a clean environment, identities and limits,
// and a JSON report of what happened.
#include "messages.hpp"
#include "report.hpp"
#include "run_flags.hpp"
#include "subcommands.hpp"
#include "supervise.hpp"

#include <procctx/procctx.hpp>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace procctx::cli {
namespace {

const std::string kProgram = "procctx run";

// The signals procctx run takes over: HUP, INT, QUIT and TERM stop the
// tree, USR1, USR2 and ALRM are passed on; those procctx's parent left
// ignored stay ignored.
std::vector<int> handled_signals() {
  std::vector<int> out;
  for (int sig : {SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2, SIGALRM}) {
    if (!ignored_at_start(sig)) out.push_back(sig);
  }
  return out;
}

// A program looked up on PATH that would be found only through a relative
// entry ("." or ""): procctx run refuses it (the library would too), and
// says what the user can do instead.
std::optional<std::string> relative_path_match(const std::string& program) {
  if (program.find('/') != std::string::npos) return std::nullopt;
  const char* env_path = std::getenv("PATH");
  std::string_view path = env_path ? env_path : "/usr/local/bin:/usr/bin:/bin";
  for (;;) {
    auto colon = path.find(':');
    std::string dir{path.substr(0, colon)};
    std::string candidate = (dir.empty() ? std::string{"."} : dir) + "/" + program;
    struct stat st {};
    if (::stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
        ::access(candidate.c_str(), X_OK) == 0) {
      if (!dir.empty() && dir.front() == '/') return std::nullopt;
      return "refusing to run " + quote(program) + ": found as " + candidate +
             " only through the relative PATH "
             "entry " +
             quote(dir) + "; name it with a path (" + candidate + ") or use absolute PATH entries";
    }
    if (colon == std::string_view::npos) return std::nullopt;
    path.remove_prefix(colon + 1);
  }
}

// Fails before running anything when the report cannot be written.
std::optional<std::string> probe_report(const std::optional<std::string>& path) {
  if (!path || *path == "-") return std::nullopt;
  std::ofstream probe{*path, std::ios::app};
  if (!probe) return flag_value("json", *path) + ": cannot write: " + std::strerror(errno);
  return std::nullopt;
}

bool write_report(const std::string& path, const std::string& text) {
  if (path == "-") return write_all(STDOUT_FILENO, text) == 0;
  std::ofstream f{path, std::ios::trunc};
  f << text;
  f.close();
  return static_cast<bool>(f);
}

// The command's `fd` (stdout or stderr) relayed by the library to procctx's
// own, counted — unless that is a terminal, which the child then writes to
// itself (so programs that check isatty behave as usual).
void relay_stream(int fd, Command& cmd, StreamReport& report) {
  if (::isatty(fd)) {
    report.not_relayed_why = "terminal";
    return;
  }
  (fd == STDOUT_FILENO ? cmd.out(Stdio::relay(fd)) : cmd.err(Stdio::relay(fd)));
  report.relayed = true;
}

// Waits for the command: HUP, INT, QUIT and TERM stop the tree (a second
// one kills it), USR1, USR2 and ALRM are passed on.
void supervise(const Process& p, Supervisor& supervisor, Canceler& cancel, RunReport& report) {
  for (;;) {
    auto ev = supervisor.next(std::nullopt);
    if (ev.kind == Supervisor::Event::exited) return;
    if (ev.kind != Supervisor::Event::signal) continue;
    if (ev.sig == SIGUSR1 || ev.sig == SIGUSR2 || ev.sig == SIGALRM) {
      (void)p.signal_tree(ev.sig);
    } else if (report.received_signal == 0) {
      report.received_signal = ev.sig;
      cancel("procctx run received " + signal_name(ev.sig));
    } else {
      (void)p.kill();  // a second one: no more grace
    }
  }
}

// Fills the report's output totals; says on stderr what was lost. True when
// a write error other than a reader going away lost output.
bool account_output(const Completed& c, RunReport& report) {
  bool lost = false;
  for (auto [name, stream, output] :
       {std::tuple{"stdout", &report.out, &c.out}, std::tuple{"stderr", &report.err, &c.err}}) {
    if (!stream->relayed) continue;
    stream->bytes = output->total();
    stream->written = output->delivered();
    const std::error_code& e = output->error();
    if (e) stream->error = e.message();
    // A reader that went away is what the stop is for; any other write
    // error (a full disk, a closed fd) loses output, and that is a failure.
    if (e && e != std::errc::broken_pipe) {
      lost = true;
      say(kProgram, std::string{"error writing the command's "} + name + ": " + stream->error + " (" +
                        std::to_string(output->dropped()) + " of " + std::to_string(output->total()) +
                        " bytes lost)");
    }
  }
  return lost;
}

int exit_code(const Completed& c, const RunReport& report) {
  if (report.received_signal != 0) return kExitSignalBase + report.received_signal;
  // Stopped because its reader went away: the status of a writer in a shell
  // pipeline whose reader is gone.
  if (c.stop_reason == StopReason::broken_pipe && c.status.signaled()) return kExitSignalBase + SIGPIPE;
  if (c.stop_reason == StopReason::deadline) return kExitTimedOut;
  if (c.status.exited()) return c.status.code();
  if (c.status.signaled()) return kExitSignalBase + c.status.signal();
  return kExitFailure;
}

void say_notes(const Completed& c, const RunReport& report) {
  if ((report.tree_requested == "cgroup" || report.tree_requested == "pidns") && !c.tree_note.empty()) {
    say(kProgram, concat("warning: --tree ", report.tree_requested, " not available, used a process group: ", c.tree_note));
  }
  if (!report.pipe_holders.empty()) {
    std::string who;
    for (const auto& h : report.pipe_holders) who += concat(" ", std::to_string(h.pid), " (", h.name, ")");
    say(kProgram, concat("output pipes still held after --wait-delay by:", who));
  }
}

// The end of a run that never started: said, reported, and its exit code.
int not_started(RunReport& report, const RunPlan& plan, int code, const std::string& message,
                bool timed_out) {
  if (!timed_out) say(kProgram, message);
  report.exit_code = code;
  report.error = timed_out ? std::string{} : message;
  report.timed_out_before_start = timed_out;
  report.end = std::chrono::system_clock::now();
  if (plan.json_path) (void)write_report(*plan.json_path, to_json(report));
  return code;
}

// Configures what the flags leave to the run itself: inherited fds, the
// terminal, --verbose.
std::optional<std::string> prepare(const Parsed& parsed, RunPlan& plan, const Terminal& terminal) {
  Command& cmd = plan.cmd;
  if (parsed.has("keep-fds")) {
    if (parsed.has("hardened")) return std::string{"--keep-fds: --hardened passes no inherited fd"};
    cmd.keep_inherited_fds();
  }
  plan.hand_terminal = terminal.fd() >= 0 && plan.tree != Tree::none && !plan.new_session;
  if (plan.hand_terminal) cmd.foreground_terminal(terminal.fd());
  if (plan.verbose) {
    cmd.on_stop_signal([program = plan.program](const SignalSent& s) {
      say(kProgram, "sending " + signal_name(s.signal) + " to " + quote(program));
    });
  }
  return probe_report(plan.json_path);
}

int run_plan(RunPlan& plan, RunReport& report, Supervisor& supervisor, Terminal& terminal) {
  relay_stream(STDOUT_FILENO, plan.cmd, report.out);
  relay_stream(STDERR_FILENO, plan.cmd, report.err);
  const std::string& program = plan.program;
  if (auto refused = relative_path_match(program))
    return not_started(report, plan, kExitFailure, *refused, false);
  auto [ctx, cancel] = plan.timeout > Duration::zero() && plan.timeout != Duration::max()
                           ? with_timeout(background(), plan.timeout)
                           : with_cancel(background());
  report.start = std::chrono::system_clock::now();
  auto p = plan.cmd.spawn(ctx);
  if (!p) {
    // A timeout shorter than the spawn: it timed out before it could start.
    if (p.error().code() == errc::deadline_exceeded)
      return not_started(report, plan, kExitTimedOut, "", true);
    auto failure = describe_spawn_failure(p.error(), program);
    return not_started(report, plan, failure.exit_code, failure.text, false);
  }
  if (auto watched = supervisor.watch(*p, plan.hand_terminal ? &terminal : nullptr); !watched) {
    cancel("procctx run cannot wait: " + watched.error().message());
  }
  supervise(*p, supervisor, cancel, report);
  const Completed& c = p->wait();
  terminal.take_back();
  report.end = std::chrono::system_clock::now();
  report.pipe_holders = c.pipe_holders;
  bool lost = account_output(c, report);
  report.outcome = &c;
  say_notes(c, report);
  int code = exit_code(c, report);
  if (lost && code == 0) code = kExitFailure;
  report.exit_code = code;
  if (plan.json_path && !write_report(*plan.json_path, to_json(report))) {
    say(kProgram, "cannot write the report to " + *plan.json_path);
    if (code == 0) code = kExitFailure;
  }
  return code;
}

}  // namespace

int run_main(std::span<const std::string> args) {
  int exit_code = 0;
  auto parsed = parse_args(run_spec(), args, exit_code);
  if (!parsed) return exit_code;
  if (parsed->operands.empty()) return usage_error(run_spec(), "missing COMMAND");

  RunPlan plan;
  if (auto bad = make_run_plan(*parsed, plan)) return usage_error(run_spec(), *bad);
  RunReport report;
  report.argv = parsed->operands;
  report.tree_requested = plan.tree_requested;
  report.leftover_policy = plan.leftover_policy;
  report.stop_sequence = plan.stop_text;

  Terminal terminal;
  if (auto bad = prepare(*parsed, plan, terminal)) return usage_error(run_spec(), *bad);
  Supervisor supervisor;
  if (auto taken = supervisor.take_over(handled_signals()); !taken) {
    say(kProgram, taken.error().message());
    return kExitFailure;
  }
  return run_plan(plan, report, supervisor, terminal);
}

}  // namespace procctx::cli
