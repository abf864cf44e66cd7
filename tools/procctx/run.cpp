// procctx run — one command under full supervision: a deadline, the stop
// sequence, whole-tree kill, a clean environment, identities and limits,
// and a JSON report of what happened.
#include "report.hpp"
#include "subcommands.hpp"
#include "supervise.hpp"

#include <procctx/procctx.hpp>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

namespace procctx::cli {
namespace {

constexpr Flag kFlags[] = {
    {0, "timeout", "DURATION", "stop the command (with the stop sequence) after DURATION: 1.5s, 250ms, 2m, 1h"},
    {0, "stop", "SEQUENCE", "how to stop it: signals, each with the time to wait after it (default TERM,5s,KILL)"},
    {0, "wait-delay", "DURATION",
     "after the command exits, how long to wait for its output pipes to close before naming who holds "
     "them and moving on (default 2s)"},
    {0, "tree", "MODE",
     "what a stop reaches: auto (a cgroup where one can be made, else a process group; the default), "
     "cgroup, group or none"},
    {0, "leftovers", "POLICY",
     "processes the command leaves in its tree when it exits: kill (the default) or leave; both are reported"},
    {0, "env-clear", "", "start from an empty environment"},
    {0, "env", "NAME=VALUE", "set a variable (repeatable)", true},
    {0, "env-keep", "NAME", "start from an empty environment but keep NAME from procctx's (repeatable)", true},
    {0, "cwd", "DIR", "run in DIR"},
    {0, "user", "USER", "run as USER (name or uid)"},
    {0, "group", "GROUP", "run with primary group GROUP (name or gid)"},
    {0, "groups", "G1,G2", "run with exactly these supplementary groups (names or gids; empty for none)"},
    {0, "no-new-privs", "", "set no_new_privs: setuid binaries and file capabilities cannot raise privileges"},
    {0, "rlimit", "NAME=SOFT[:HARD]", "set a resource limit: NOFILE=1024, CORE=0, AS=1G:2G, CPU=unlimited (repeatable)",
     true},
    {0, "umask", "MODE", "the file mode creation mask, in octal (022)"},
    {0, "memory-max", "BYTES", "cgroup memory.max: 512M, 2G (needs a writable cgroup v2)"},
    {0, "pids-max", "N", "cgroup pids.max (needs a writable cgroup v2)"},
    {0, "cpu-max", "CPUS", "cgroup cpu.max as CPUs (0.5) or 'QUOTA PERIOD' in microseconds (needs a writable cgroup v2)"},
    {0, "hardened", "",
     "environment of PATH, LANG, TERM and TZ only, no_new_privs, no inherited fds, umask 077, a new session, "
     "and KILL if procctx dies"},
    {0, "json", "FILE", "write a JSON report of the run to FILE ('-': stdout, after the command's output)"},
    {'v', "verbose", "", "say on stderr each signal the stop sequence sends"},
    {0, "help", "", "show this help and exit"},
    {0, "version", "", "show the version and exit"},
};

constexpr std::string_view kDetails =
    "Runs COMMAND and waits for it. Its output passes through procctx, counted, unless it goes to a\n"
    "terminal. When COMMAND is stopped, by --timeout or because procctx got HUP, INT, QUIT or TERM, the\n"
    "stop sequence reaches its whole tree; a second such signal sends KILL at once. USR1, USR2 and ALRM\n"
    "are passed on to the tree.\n"
    "\n"
    "Exit status:\n"
    "  124      the timeout fired\n"
    "  125      procctx itself failed (bad usage, cannot start the command)\n"
    "  126      the command was found but could not be run\n"
    "  127      the command was not found\n"
    "  128+N    the command was killed by signal N, or procctx stopped it on receiving signal N\n"
    "  otherwise the command's own exit status\n";

const Spec kSpec{"run", "[OPTION]... [--] COMMAND [ARG]...", "Run COMMAND under supervision.", kDetails, kFlags};

// A bad value for a flag: "--timeout 'x': ..." as a usage error.
struct Bad {
  std::string message;
};

std::string flag_value(std::string_view flag, const std::string& value) {
  return "--" + std::string{flag} + " " + quote(value);
}

std::optional<std::uint64_t> parse_uint(std::string_view s) {
  std::uint64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || end != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

// "512M", "2G", "1048576", "64KiB": bytes (binary units).
std::optional<std::uint64_t> parse_size(std::string_view s) {
  std::size_t digits = 0;
  while (digits < s.size() && s[digits] >= '0' && s[digits] <= '9') ++digits;
  auto n = parse_uint(s.substr(0, digits));
  if (!n) return std::nullopt;
  std::string unit{s.substr(digits)};
  for (auto tail : {"iB", "B"}) {
    if (unit.size() > 1 && unit.size() >= std::string_view{tail}.size() &&
        unit.compare(unit.size() - std::string_view{tail}.size(), std::string::npos, tail) == 0) {
      unit.resize(unit.size() - std::string_view{tail}.size());
      break;
    }
  }
  int shift = 0;
  if (unit.empty() || unit == "B") {
    shift = 0;
  } else if (unit == "K" || unit == "k") {
    shift = 10;
  } else if (unit == "M") {
    shift = 20;
  } else if (unit == "G") {
    shift = 30;
  } else if (unit == "T") {
    shift = 40;
  } else {
    return std::nullopt;
  }
  if (*n > (UINT64_MAX >> shift)) return std::nullopt;
  return *n << shift;
}

std::optional<std::uint64_t> parse_limit_value(std::string_view s) {
  if (s == "unlimited" || s == "infinity") return RLIM_INFINITY;
  return parse_size(s);
}

Principal principal(const std::string& s) {
  if (auto id = parse_uint(s); id && *id <= 0xffffffffu) return Principal{static_cast<unsigned int>(*id)};
  return Principal{s};
}

// Applies every flag to `cmd`; a Bad names the first one that is wrong.
std::optional<Bad> configure(const Parsed& p, Command& cmd, Duration& wait_delay) {
  if (auto v = p.value("stop")) {
    auto seq = StopSequence::parse(*v);
    if (!seq) return Bad{flag_value("stop", *v) + ": " + seq.error().message()};
    cmd.stop(*seq);
  }
  if (auto v = p.value("wait-delay")) {
    auto d = parse_duration(*v);
    if (!d) return Bad{flag_value("wait-delay", *v) + ": " + d.error().message()};
    wait_delay = *d;
  }
  cmd.wait_delay(wait_delay);
  std::string tree = p.value("tree").value_or("auto");
  if (tree == "auto" || tree == "cgroup") {
    cmd.tree(Tree::cgroup);
  } else if (tree == "group") {
    cmd.tree(Tree::process_group);
  } else if (tree == "none") {
    cmd.tree(Tree::none);
  } else {
    return Bad{flag_value("tree", tree) + ": expected auto, cgroup, group or none"};
  }
  std::string leftovers = p.value("leftovers").value_or("kill");
  if (leftovers == "kill") {
    cmd.leftovers(Leftovers::kill);
  } else if (leftovers == "leave") {
    cmd.leftovers(Leftovers::leave);
  } else {
    return Bad{flag_value("leftovers", leftovers) + ": expected kill or leave"};
  }
  if (p.has("hardened")) cmd.profile(Profile::hardened());
  auto keep = p.values("env-keep");
  if (p.has("env-clear") || !keep.empty()) cmd.env_clear();
  if (!keep.empty()) cmd.env_keep(keep);
  for (const auto& kv : p.values("env")) {
    auto eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) return Bad{flag_value("env", kv) + ": expected NAME=VALUE"};
    cmd.env(kv.substr(0, eq), kv.substr(eq + 1));
  }
  if (auto v = p.value("cwd")) cmd.cwd(*v);
  if (auto v = p.value("user")) cmd.user(principal(*v));
  if (auto v = p.value("group")) cmd.group(principal(*v));
  if (auto v = p.value("groups")) {
    std::vector<Principal> gs;
    std::string_view rest = *v;
    while (!rest.empty()) {
      auto comma = rest.find(',');
      std::string one{rest.substr(0, comma)};
      if (one.empty()) return Bad{flag_value("groups", *v) + ": an empty group name"};
      gs.push_back(principal(one));
      rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
    }
    cmd.groups(gs);
  }
  if (p.has("no-new-privs")) cmd.no_new_privs();
  for (const auto& spec : p.values("rlimit")) {
    auto eq = spec.find('=');
    if (eq == std::string::npos) return Bad{flag_value("rlimit", spec) + ": expected NAME=SOFT[:HARD]"};
    int resource = rlimit_from_name(spec.substr(0, eq));
    if (resource < 0) return Bad{flag_value("rlimit", spec) + ": unknown resource '" + spec.substr(0, eq) + "'"};
    std::string values = spec.substr(eq + 1);
    auto colon = values.find(':');
    auto soft = parse_limit_value(values.substr(0, colon));
    auto hard = colon == std::string::npos ? soft : parse_limit_value(values.substr(colon + 1));
    if (!soft || !hard) {
      return Bad{flag_value("rlimit", spec) + ": limits are numbers (with K, M, G) or 'unlimited'"};
    }
    cmd.rlimit(resource, *soft, *hard);
  }
  if (auto v = p.value("umask")) {
    unsigned int mode = 0;
    auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), mode, 8);
    if (v->empty() || ec != std::errc{} || end != v->data() + v->size() || mode > 0777) {
      return Bad{flag_value("umask", *v) + ": expected an octal mode from 0 to 777"};
    }
    cmd.umask(mode);
  }
  if (auto v = p.value("memory-max")) {
    auto bytes = parse_size(*v);
    if (!bytes) return Bad{flag_value("memory-max", *v) + ": expected bytes, e.g. 512M or 2G"};
    cmd.memory_max(*bytes);
  }
  if (auto v = p.value("pids-max")) {
    auto n = parse_uint(*v);
    if (!n || *n == 0) return Bad{flag_value("pids-max", *v) + ": expected a positive number"};
    cmd.pids_max(*n);
  }
  if (auto v = p.value("cpu-max")) {
    if (v->find(' ') != std::string::npos) {
      cmd.cpu_max(*v);
    } else {
      char* end = nullptr;
      double cpus = std::strtod(v->c_str(), &end);
      if (v->empty() || *end != '\0' || !(cpus > 0) || cpus > 4096) {
        return Bad{flag_value("cpu-max", *v) + ": expected CPUs (0.5) or 'QUOTA PERIOD'"};
      }
      cmd.cpu_max(std::to_string(static_cast<long>(cpus * 100000)) + " 100000");
    }
  }
  return std::nullopt;
}

bool write_report(const std::string& path, const std::string& text) {
  if (path == "-") {
    std::cout << text << std::flush;
    return static_cast<bool>(std::cout);
  }
  std::ofstream f{path, std::ios::trunc};
  f << text;
  f.close();
  return static_cast<bool>(f);
}

// Makes a pipe whose write end the child gets as `fd`, relayed to procctx's
// own `fd` — unless that is a terminal, which the child then writes to itself.
bool relay_stream(int fd, Command& cmd, Supervisor& sup, StreamReport& report, std::vector<int>& child_ends) {
  if (::isatty(fd)) {
    report.not_relayed_why = "terminal";
    return true;
  }
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return false;
  (fd == STDOUT_FILENO ? cmd.out(Stdio::fd(p[1])) : cmd.err(Stdio::fd(p[1])));
  child_ends.push_back(p[1]);
  sup.relay(p[0], fd);
  report.relayed = true;
  return true;
}

}  // namespace

const Spec& run_spec() { return kSpec; }

int run_main(std::span<const std::string> args) {
  int exit_code = 0;
  auto parsed = parse_args(kSpec, args, exit_code);
  if (!parsed) return exit_code;
  if (parsed->operands.empty()) return usage_error(kSpec, "missing COMMAND");

  RunReport report;
  report.argv = parsed->operands;
  report.tree_requested = parsed->value("tree").value_or("auto");
  report.leftover_policy = parsed->value("leftovers").value_or("kill");
  const bool verbose = parsed->has("verbose");
  const auto json_path = parsed->value("json");

  Command cmd{parsed->operands[0], {parsed->operands.begin() + 1, parsed->operands.end()}};
  Duration wait_delay = std::chrono::seconds(2);
  if (auto bad = configure(*parsed, cmd, wait_delay)) return usage_error(kSpec, bad->message);
  Duration timeout = Duration::zero();
  if (auto v = parsed->value("timeout")) {
    auto d = parse_duration(*v);
    if (!d || *d < Duration::zero()) {
      return usage_error(kSpec, flag_value("timeout", *v) + ": " +
                                    (d ? std::string{"must not be negative"} : d.error().message()));
    }
    timeout = *d;
  }
  report.stop_sequence = cmd.options().stop.to_string();
  const std::string program = parsed->operands[0];
  if (verbose) {
    cmd.on_stop_signal([program](const SignalSent& s) {
      std::fprintf(stderr, "procctx run: sending %s to %s\n", signal_name(s.signal).c_str(), quote(program).c_str());
    });
  }
  if (json_path && *json_path != "-") {
    // Fail before running anything when the report cannot be written.
    std::ofstream probe{*json_path, std::ios::app};
    if (!probe) return usage_error(kSpec, flag_value("json", *json_path) + ": cannot write: " + std::strerror(errno));
  }

  Supervisor supervisor;
  std::vector<int> child_ends;
  if (!relay_stream(STDOUT_FILENO, cmd, supervisor, report.out, child_ends) ||
      !relay_stream(STDERR_FILENO, cmd, supervisor, report.err, child_ends)) {
    std::fprintf(stderr, "procctx run: cannot make an output pipe: %s\n", std::strerror(errno));
    return kExitFailure;
  }
  const bool hand_terminal =
      supervisor.foreground_terminal() >= 0 && cmd.options().tree != Tree::none && !cmd.options().new_session;
  if (hand_terminal) cmd.foreground_terminal(supervisor.foreground_terminal());

  auto [ctx, cancel] = timeout > Duration::zero() ? with_timeout(background(), timeout) : with_cancel(background());
  report.start = std::chrono::system_clock::now();
  auto p = cmd.spawn(ctx);
  for (int fd : child_ends) ::close(fd);
  if (!p) {
    auto failure = describe_spawn_failure(p.error(), program);
    std::fprintf(stderr, "procctx run: %s\n", failure.text.c_str());
    report.exit_code = failure.exit_code;
    report.error = p.error().message();
    report.end = std::chrono::system_clock::now();
    if (json_path) (void)write_report(*json_path, to_json(report));
    return failure.exit_code;
  }
  supervisor.watch(*p, hand_terminal);

  int broken_pipe_fd = -1;  // procctx's fd whose reader went away first
  for (;;) {
    auto ev = supervisor.next(std::nullopt);
    if (ev.kind == Supervisor::Event::exited) break;
    if (ev.kind == Supervisor::Event::broken_pipe) {
      // As a shell pipeline would: the writer stops when its reader is gone.
      if (broken_pipe_fd < 0) broken_pipe_fd = ev.fd;
      cancel(std::string{"the reader of procctx's "} + (ev.fd == STDOUT_FILENO ? "stdout" : "stderr") +
             " went away");
      continue;
    }
    if (ev.kind != Supervisor::Event::signal) continue;
    if (ev.sig == SIGUSR1 || ev.sig == SIGUSR2 || ev.sig == SIGALRM) {
      (void)p->signal_tree(ev.sig);
    } else if (report.received_signal == 0) {
      report.received_signal = ev.sig;
      cancel("procctx run received " + signal_name(ev.sig));
    } else {
      (void)p->kill();  // a second one: no more grace
    }
  }
  const Completed& c = p->wait();
  report.pipe_holders = supervisor.drain(Clock::now() + wait_delay);
  supervisor.take_terminal_back();
  report.end = std::chrono::system_clock::now();
  bool write_failed = false;
  for (auto [fd, stream] : {std::pair{STDOUT_FILENO, &report.out}, std::pair{STDERR_FILENO, &report.err}}) {
    if (!stream->relayed) continue;
    auto totals = supervisor.relayed_to(fd);
    stream->bytes = totals.read;
    stream->written = totals.written;
    if (totals.error != 0) stream->error = std::strerror(totals.error);
    // A reader that went away is what the stop is for; any other write
    // error (a full disk, a closed fd) loses output, and that is a failure.
    if (totals.error != 0 && totals.error != EPIPE) {
      write_failed = true;
      std::fprintf(stderr, "procctx run: error writing the command's %s: %s (%llu of %llu bytes lost)\n",
                   fd == STDOUT_FILENO ? "stdout" : "stderr", stream->error.c_str(),
                   static_cast<unsigned long long>(totals.read - totals.written),
                   static_cast<unsigned long long>(totals.read));
    }
  }
  report.outcome = &c;

  if (report.tree_requested == "cgroup" && c.tree != Tree::cgroup) {
    std::fprintf(stderr, "procctx run: warning: --tree cgroup not available, used a process group: %s\n",
                 c.tree_note.c_str());
  }
  if (!report.pipe_holders.empty()) {
    std::string who;
    for (const auto& h : report.pipe_holders) who += " " + std::to_string(h.pid) + " (" + h.name + ")";
    std::fprintf(stderr, "procctx run: output pipes still held after --wait-delay by:%s\n", who.c_str());
  }

  int code = 0;
  if (report.received_signal != 0) {
    code = kExitSignalBase + report.received_signal;
  } else if (broken_pipe_fd >= 0 && c.stop_reason != StopReason::none && c.status.signaled()) {
    // procctx stopped it because its reader went away: the status of a
    // writer in a shell pipeline whose reader is gone.
    code = kExitSignalBase + SIGPIPE;
  } else if (c.stop_reason == StopReason::deadline) {
    code = kExitTimedOut;
  } else if (c.status.exited()) {
    code = c.status.code();
  } else if (c.status.signaled()) {
    code = kExitSignalBase + c.status.signal();
  } else {
    code = kExitFailure;
  }
  if (write_failed && code == 0) code = kExitFailure;
  report.exit_code = code;
  if (json_path && !write_report(*json_path, to_json(report))) {
    std::fprintf(stderr, "procctx run: cannot write the report to %s\n", json_path->c_str());
    if (code == 0) code = kExitFailure;
  }
  return code;
}

}  // namespace procctx::cli
