#include "batch_attempt.hpp"

#include "messages.hpp"

#include <algorithm>
#include <csignal>

#include <sys/stat.h>
#include <unistd.h>

namespace procctx::cli::batch {
namespace {

constexpr off_t kTailBytes = 1024;

}  // namespace

Command command_for(const Config& cfg, const Attempt& a, ChildStdio fds) {
  const Job& j = a.spec;
  Command cmd{a.argv[0], {a.argv.begin() + 1, a.argv.end()}};
  if (a.direct) {
    cmd.arg0(j.words[0]);  // argv[0] as the shell would have given it
    cmd.shell_fallback();  // a script without #! runs with /bin/sh, as the shell would run it
  }
  if (cfg.line_buffer && !cfg.results) {
    // Whole lines, straight from procctx's loop to our stdout and stderr;
    // when stdout's reader goes away the job is stopped (the runner then halts).
    cmd.out(Stdio::relay(STDOUT_FILENO, {.whole_lines = true, .line_prefix = a.output.tag}))
        .err(Stdio::relay(STDERR_FILENO,
                          {.whole_lines = true, .line_prefix = a.output.tag, .on_broken_pipe = BrokenPipe::ignore}));
  } else {
    cmd.out(Stdio::fd(fds.out)).err(Stdio::fd(fds.err));
  }
  cmd.path_lookup(PathLookup::allow_relative)
      .in(fds.in >= 0 ? Stdio::fd(fds.in) : Stdio::null())
      .tree(cfg.tree)
      .stop(cfg.stop)
      .leftovers(Leftovers::kill)
      .parent_death_signal(SIGKILL);  // a job never outlives procctx batch, even after kill -9
  if (j.cwd) cmd.cwd(*j.cwd);
  for (const auto& [k, v] : j.env) cmd.env(k, v);
  cmd.env("PARALLEL_SEQ", std::to_string(j.seq)).env("PARALLEL_JOBSLOT", std::to_string(a.slot));
  return cmd;
}

namespace {

JobRecord base_record(const Attempt& a) {
  JobRecord rec;
  rec.id = a.spec.id;
  rec.seq = a.spec.seq;
  rec.command = a.spec.command;
  rec.argv = a.argv;
  if (a.direct) rec.argv[0] = a.spec.words[0];
  rec.start = a.start_unix;
  rec.attempt = a.attempt;
  rec.slot = a.slot;
  return rec;
}

}  // namespace

AttemptEnd attempt_end(const Config& cfg, const Attempt& a, const Completed& c, std::optional<TimePoint> run_deadline) {
  AttemptEnd end;
  if (c.status.exited()) end.exit_code = c.status.code();
  if (c.status.signaled()) end.signal = c.status.signal();
  if (c.stop_reason == StopReason::deadline) {
    // The earlier of the job's own deadline and the run's fired.
    Duration own = a.spec.timeout ? *a.spec.timeout : cfg.timeout.value_or(Duration::max());
    bool own_first = own != Duration::max() && (!run_deadline || a.started + own <= *run_deadline);
    (own_first ? end.timed_out : end.run_deadline) = true;
  } else if (c.stop_reason == StopReason::canceled || c.stop_reason == StopReason::broken_pipe) {
    end.interrupted = true;
  }
  return end;
}

JobRecord record_of(const Config& cfg, const Attempt& a, const Completed& c, std::optional<TimePoint> run_deadline,
                    bool halted, AttemptEnd& end) {
  end = attempt_end(cfg, a, c, run_deadline);
  JobRecord rec = base_record(a);
  rec.runtime = std::chrono::duration<double>(c.wall).count();
  rec.user_cpu = std::chrono::duration<double>(c.rusage.user).count();
  rec.sys_cpu = std::chrono::duration<double>(c.rusage.system).count();
  rec.max_rss_kib = c.rusage.max_rss_kib;
  if (c.status.exited()) rec.exit_code = c.status.code();
  if (c.status.signaled()) rec.signal = c.status.signal();
  if (end.timed_out) rec.stop = "timeout";
  if (end.run_deadline) rec.stop = "deadline";
  if (end.interrupted) rec.stop = halted || c.stop_reason == StopReason::broken_pipe ? "halt" : "interrupted";
  return rec;
}

JobRecord start_failed_record(const Attempt& a, const std::string& message, int exit_code) {
  JobRecord rec = base_record(a);
  rec.exit_code = exit_code;
  rec.stop = "start_failed";
  rec.stderr_tail = message + "\n";
  return rec;
}

std::string note_for(const Attempt& a, const JobRecord& rec, bool retrying) {
  if (rec.stop.empty() && rec.signal == 0) return {};
  std::string status = rec.signal ? "killed by " + signal_name(rec.signal) : "exited " + std::to_string(rec.exit_code);
  // The command as the user wrote it, but never a raw control byte on a terminal.
  std::string note = "procctx batch: #" + std::to_string(a.spec.seq) + " " + printable(a.spec.command) + ": " + status;
  if (!rec.stop.empty()) note += " (" + rec.stop + ")";
  if (retrying) note += "; will try again";
  return note + "\n";
}

std::string tail_of(int fd) {
  struct stat st {};
  if (fd < 0 || ::fstat(fd, &st) != 0 || st.st_size == 0) return {};
  off_t from = std::max<off_t>(0, st.st_size - kTailBytes);
  std::string tail(static_cast<std::size_t>(st.st_size - from), '\0');
  ssize_t n = ::pread(fd, tail.data(), tail.size(), from);
  tail.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
  if (from > 0) {
    auto nl = tail.find('\n');
    if (nl != std::string::npos && nl + 1 < tail.size()) tail.erase(0, nl + 1);
  }
  return tail;
}

off_t file_size(int fd) {
  struct stat st {};
  return fd >= 0 && ::fstat(fd, &st) == 0 ? st.st_size : 0;
}

}  // namespace procctx::cli::batch
