// procctx batch — many jobs, bounded parallelism, output never interleaved
// and never lost, a job log, resume, halt policies, retries, reports, and
// shards of one job list across machines.
#include "batch_input.hpp"
#include "batch_log.hpp"
#include "batch_sched.hpp"
#include "json_text.hpp"
#include "subcommands.hpp"
#include "supervise.hpp"

#include <procctx/procctx.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <tuple>
#include <string>
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/sendfile.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

namespace procctx::cli {
namespace {

using namespace batch;

constexpr Flag kFlags[] = {
    {'j', "jobs", "N", "run at most N jobs at once (default: the number of CPUs)"},
    {0, "jsonl", "", "the input is JSON lines: {\"argv\": [...], \"id\", \"cwd\", \"env\": {...}, \"timeout\": \"5s\"}"},
    {0, "strict", "", "refuse to run anything when an input line is malformed"},
    {0, "timeout", "DURATION", "stop each job (with the stop sequence) after DURATION"},
    {0, "deadline", "DURATION", "stop the whole run after DURATION: running jobs are stopped, no new one starts"},
    {0, "stop", "SEQUENCE", "how to stop a job: signals, each with the time to wait after it (default TERM,5s,KILL)"},
    {0, "tree", "MODE", "what a stop reaches: group (the default), cgroup, or none"},
    {0, "halt", "POLICY",
     "never (the default), or soon|now,fail=N|success=N|done=N, N a count or a percentage of all jobs: soon "
     "starts no new job, now also stops the running ones"},
    {0, "retries", "N", "try a failed job up to N more times"},
    {0, "retry-on", "LIST",
     "which failures are retried: exit codes (3, 1-5), signal names (KILL), timeout, or any (the default); "
     "126 and 127 never are"},
    {0, "retry-delay", "DURATION", "the first wait before a retry, doubled each time, with jitter (default 100ms)"},
    {0, "line-buffer", "", "print output as whole lines as they come (jobs interleave by line) instead of per job"},
    {0, "tag", "", "prefix each output line with the job's arguments and a tab"},
    {0, "tagstring", "STRING", "prefix each output line with STRING (replacement strings allowed) and a tab"},
    {'k', "keep-order", "", "print jobs' output in input order"},
    {0, "results", "DIR", "also keep each job's stdout, stderr and meta.json in DIR/SEQ/"},
    {0, "joblog", "FILE", "append a line per attempt to FILE (truncated first unless resuming)"},
    {0, "joblog-format", "FORMAT", "json (the default: JSON lines, procctx.joblog/1) or parallel (GNU parallel's 9 columns)"},
    {0, "resume", "", "skip jobs the job log shows finished (jobs stopped by a halt or the deadline run again)"},
    {0, "resume-failed", "", "like --resume, but also run again the jobs that failed"},
    {0, "report", "FILE", "write a self-contained HTML report with a timeline to FILE"},
    {0, "summary-json", "FILE", "write a JSON summary of the run to FILE"},
    {0, "shard", "I/N", "run only the jobs whose identity falls in shard I of N (0 <= I < N)"},
    {0, "shard-count", "N", "the number of shards when the index comes from JOB_COMPLETION_INDEX (Kubernetes)"},
    {0, "on-signal", "WHEN",
     "what the first SIGINT, SIGTERM or SIGHUP does: soon (the default: start no new job) or now (also stop the "
     "running ones, as under a scheduler's time limit)"},
    {'q', "quiet", "", "no progress line"},
    {0, "help", "", "show this help and exit"},
    {0, "version", "", "show the version and exit"},
};

constexpr std::string_view kDetails =
    "Input: FILE (or stdin) with one shell command per line, run with /bin/sh -c; with --jsonl, one JSON\n"
    "object per line, run without a shell. Or a command template followed by ::: ARG... (several ::: give\n"
    "their cartesian product; :::: FILE reads arguments from a file) with the replacement strings {} {.}\n"
    "{/} {//} {/.} {#} {%} {1} {2}...; arguments are quoted for the shell when one is needed.\n"
    "\n"
    "Each job's stdout then stderr is printed whole when it ends, never mixed with another's; output is\n"
    "kept in unlinked temporary files (in $TMPDIR), not in memory. Output of killed and timed-out jobs is\n"
    "printed too, followed by a line saying so on stderr.\n"
    "\n"
    "Shards: without --shard, SLURM_ARRAY_TASK_ID/SLURM_ARRAY_TASK_COUNT (or _MIN/_MAX),\n"
    "JOB_COMPLETION_INDEX with --shard-count, CI_NODE_INDEX/CI_NODE_TOTAL and\n"
    "CIRCLE_NODE_INDEX/CIRCLE_NODE_TOTAL pick it. 'procctx batch merge LOG...' merges shard job logs.\n"
    "\n"
    "The first SIGINT or SIGTERM starts no new job and lists the running ones; a second one stops them.\n"
    "\n"
    "Exit status: 0 when every job succeeded; else the number of failed jobs (malformed input lines\n"
    "count), up to 100; 101 for more; 255 when procctx batch itself failed (bad usage, unreadable input).\n";

const Spec kSpec{"batch", "[OPTION]... [FILE | -- COMMAND [ARG]... ::: ARG...]",
                 "Run many jobs, a bounded number at a time.", kDetails, kFlags};

constexpr Flag kMergeFlags[] = {
    {'o', "output", "FILE", "write the merged job log to FILE (default: stdout)"},
    {0, "report", "FILE", "write an HTML report of all the logs to FILE"},
    {0, "summary-json", "FILE", "write a JSON summary to FILE"},
    {0, "help", "", "show this help and exit"},
};
const Spec kMergeSpec{"batch merge", "[OPTION]... LOG...",
                      "Merge the job logs of the shards of one run; exit as the whole run would have.",
                      "The exit status counts the jobs whose last final attempt failed (up to 100; 101 above).\n",
                      kMergeFlags};

constexpr int kExitOwnFailure = 255;

int fail(const std::string& message) {
  std::fprintf(stderr, "procctx batch: %s\n", message.c_str());
  return kExitOwnFailure;
}

double unix_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::optional<std::size_t> to_size(std::string_view s) {
  std::size_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || end != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

struct Shard {
  std::size_t index = 0, count = 0;  // count 0: not sharded
  std::string from;                  // where it came from, for messages
  std::string text() const { return count ? std::to_string(index) + "/" + std::to_string(count) : ""; }
};

std::optional<Shard> shard_from(const Parsed& p, std::string& error) {
  auto env = [](const char* name) -> std::optional<std::size_t> {
    const char* v = std::getenv(name);
    return v ? to_size(v) : std::nullopt;
  };
  Shard s;
  if (auto v = p.value("shard")) {
    auto slash = v->find('/');
    auto i = to_size(std::string_view{*v}.substr(0, slash));
    auto n = slash == std::string::npos ? std::nullopt : to_size(std::string_view{*v}.substr(slash + 1));
    if (!i || !n || *n == 0 || *i >= *n) {
      error = "--shard '" + *v + "': expected I/N with 0 <= I < N";
      return std::nullopt;
    }
    return Shard{*i, *n, "--shard"};
  }
  if (auto id = env("SLURM_ARRAY_TASK_ID")) {
    if (auto n = env("SLURM_ARRAY_TASK_COUNT"); n && *n > 0) {
      auto min = env("SLURM_ARRAY_TASK_MIN").value_or(0);
      if (*id >= min && *id - min < *n) return Shard{*id - min, *n, "SLURM_ARRAY_TASK_ID"};
    }
    if (auto min = env("SLURM_ARRAY_TASK_MIN"), max = env("SLURM_ARRAY_TASK_MAX"); min && max && *max >= *min) {
      if (*id >= *min && *id <= *max) return Shard{*id - *min, *max - *min + 1, "SLURM_ARRAY_TASK_ID"};
    }
  }
  if (auto i = env("JOB_COMPLETION_INDEX")) {
    auto n = p.value("shard-count") ? to_size(*p.value("shard-count")) : std::nullopt;
    if (n && *n > 0 && *i < *n) return Shard{*i, *n, "JOB_COMPLETION_INDEX"};
    if (p.has("shard-count")) {
      error = "--shard-count: expected a number of shards above JOB_COMPLETION_INDEX";
      return std::nullopt;
    }
  }
  if (auto i = env("CI_NODE_INDEX"), n = env("CI_NODE_TOTAL"); i && n && *i >= 1 && *i <= *n) {
    return Shard{*i - 1, *n, "CI_NODE_INDEX"};
  }
  if (auto i = env("CIRCLE_NODE_INDEX"), n = env("CIRCLE_NODE_TOTAL"); i && n && *i < *n) {
    return Shard{*i, *n, "CIRCLE_NODE_INDEX"};
  }
  return s;
}

// An unlinked file for one stream of one job: nothing is left behind
// whatever happens to procctx.
int unlinked_file(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd >= 0) return fd;
  std::string path = dir + "/procctx-batch-XXXXXX";
  fd = ::mkostemp(path.data(), O_CLOEXEC);
  if (fd >= 0) ::unlink(path.c_str());
  return fd;
}

void write_all(int fd, std::string_view s) {
  while (!s.empty()) {
    ssize_t n = ::write(fd, s.data(), s.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // our reader went away: nothing to do about it
    s.remove_prefix(static_cast<std::size_t>(n));
  }
}

// Copies a whole file to `out`, each line prefixed with `tag` if not empty.
void copy_out(int file, int out, const std::string& tag) {
  off_t size = ::lseek(file, 0, SEEK_END);
  if (size <= 0) return;
  if (tag.empty()) {
    off_t offset = 0;
    while (offset < size) {
      ssize_t n = ::sendfile(out, file, &offset, static_cast<std::size_t>(size - offset));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
    }
    if (offset >= size) return;
    // sendfile refused (e.g. out is a terminal in append mode): fall back.
    ::lseek(file, offset, SEEK_SET);
  } else {
    ::lseek(file, 0, SEEK_SET);
  }
  char buf[65536];
  bool at_line_start = true;
  for (;;) {
    ssize_t n = ::read(file, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    if (tag.empty()) {
      write_all(out, {buf, static_cast<std::size_t>(n)});
      continue;
    }
    std::string chunk;
    for (ssize_t i = 0; i < n; ++i) {
      if (at_line_start) chunk += tag;
      chunk += buf[i];
      at_line_start = buf[i] == '\n';
    }
    write_all(out, chunk);
  }
  if (!tag.empty() && !at_line_start) write_all(out, "\n");
}

std::string fmt_seconds(double s) {
  char buf[32];
  if (s < 120) {
    std::snprintf(buf, sizeof buf, "%.0fs", s);
  } else if (s < 7200) {
    std::snprintf(buf, sizeof buf, "%.0fm%02.0fs", std::floor(s / 60), std::fmod(s, 60));
  } else {
    std::snprintf(buf, sizeof buf, "%.0fh%02.0fm", std::floor(s / 3600), std::floor(std::fmod(s, 3600) / 60));
  }
  return buf;
}

class Runner {
 public:
  Runner(const Parsed& p, std::vector<Job> jobs, std::size_t bad_lines, Shard shard)
      : p_(p), jobs_(std::move(jobs)), bad_lines_(bad_lines), shard_(std::move(shard)) {}
  int run();

 private:
  struct Running {
    std::optional<Process> process;
    std::size_t job = 0, slot = 0;
    int attempt = 1;
    Canceler cancel;
    Context ctx;
    int out = -1, err = -1;                // files (group) or pipe read ends (line-buffer)
    std::string out_partial, err_partial;  // line-buffer: an unfinished line
    std::uint64_t out_bytes = 0, err_bytes = 0;  // line-buffer: bytes read so far
    TimePoint started{};
    double start_unix = 0;
    std::string tag;
    bool finished = false;
  };
  struct Printable {  // a finished job waiting for its turn (--keep-order)
    int out = -1, err = -1;
    std::string tag, note;
  };

  std::optional<std::string> configure();
  void start(const Scheduler::Start& s);
  void finish(std::size_t token);
  void print_job(Printable pr);
  void flush_in_order();
  void pump_lines(Running& r, bool at_eof);
  void progress(bool force);
  std::string tag_for(const Job& j) const;
  void write_log(const JobRecord& rec);
  Result<void> make_results_dir(const Job& j, Running& r);

  const Parsed& p_;
  std::vector<Job> jobs_;
  std::size_t bad_lines_;
  Shard shard_;

  std::size_t parallel_ = 1;
  std::optional<Duration> timeout_, deadline_;
  StopSequence stop_;
  Tree tree_ = Tree::process_group;
  HaltPolicy halt_;
  RetryPolicy retry_;
  bool line_buffer_ = false, keep_order_ = false, quiet_ = false, tty_ = false, first_signal_now_ = false;
  std::string tmpdir_ = "/tmp";
  std::optional<std::string> results_;
  std::unique_ptr<std::ofstream> joblog_;
  bool parallel_format_ = false;

  std::unique_ptr<Scheduler> sched_;
  WithCancel run_ctx_{background(), Canceler{}};
  std::optional<TimePoint> run_deadline_;
  std::map<std::size_t, Running> running_;  // by token
  std::size_t next_token_ = 1;
  int done_pipe_[2] = {-1, -1};
  std::map<std::size_t, Printable> waiting_;  // --keep-order, by seq
  std::size_t next_print_ = 1;
  std::vector<bool> printed_;
  std::vector<JobRecord> records_;
  std::size_t retried_ = 0;
  std::string halted_why_;
  TimePoint began_{};
  TimePoint last_progress_{};
  std::string host_;
};

std::string Runner::tag_for(const Job& j) const {
  if (auto t = p_.value("tagstring")) {
    std::string s = *t;
    auto replace = [&s](const std::string& token, const std::string& value) {
      for (auto pos = s.find(token); pos != std::string::npos; pos = s.find(token, pos + value.size())) {
        s.replace(pos, token.size(), value);
      }
    };
    std::string all;
    for (std::size_t i = 0; i < j.args.size(); ++i) all += (i ? " " : "") + j.args[i];
    replace("{#}", std::to_string(j.seq));
    replace("{}", j.args.empty() ? j.command : all);
    return s + "\t";
  }
  if (p_.has("tag")) {
    std::string all;
    for (std::size_t i = 0; i < j.args.size(); ++i) all += (i ? " " : "") + j.args[i];
    return (j.args.empty() ? j.command : all) + "\t";
  }
  return {};
}

std::optional<std::string> Runner::configure() {
  long cpus = ::sysconf(_SC_NPROCESSORS_ONLN);
  parallel_ = cpus > 0 ? static_cast<std::size_t>(cpus) : 1;
  if (auto v = p_.value("jobs")) {
    auto n = to_size(*v);
    if (!n || *n == 0) return "--jobs '" + *v + "': expected a positive number";
    parallel_ = *n;
  }
  auto duration = [&](const char* flag, std::optional<Duration>& into) -> std::optional<std::string> {
    if (auto v = p_.value(flag)) {
      auto d = parse_duration(*v);
      if (!d || *d <= Duration::zero()) {
        return "--" + std::string{flag} + " '" + *v + "': " + (d ? "must be positive" : d.error().message());
      }
      into = *d;
    }
    return std::nullopt;
  };
  if (auto e = duration("timeout", timeout_)) return e;
  if (auto e = duration("deadline", deadline_)) return e;
  if (auto v = p_.value("stop")) {
    auto s = StopSequence::parse(*v);
    if (!s) return "--stop '" + *v + "': " + s.error().message();
    stop_ = *s;
  }
  std::string tree = p_.value("tree").value_or("group");
  if (tree == "group") {
    tree_ = Tree::process_group;
  } else if (tree == "cgroup" || tree == "auto") {
    tree_ = Tree::cgroup;
  } else if (tree == "none") {
    tree_ = Tree::none;
  } else {
    return "--tree '" + tree + "': expected group, cgroup or none";
  }
  std::string error;
  if (auto v = p_.value("halt")) {
    auto h = HaltPolicy::parse(*v, error);
    if (!h) return "--halt '" + *v + "': " + error;
    halt_ = *h;
  }
  if (auto v = p_.value("retry-on")) {
    auto r = RetryPolicy::parse_on(*v, error);
    if (!r) return "--retry-on '" + *v + "': " + error;
    retry_ = *r;
  }
  if (auto v = p_.value("retries")) {
    auto n = to_size(*v);
    if (!n || *n > 1000) return "--retries '" + *v + "': expected a number from 0 to 1000";
    retry_.retries = static_cast<int>(*n);
  }
  if (auto v = p_.value("retry-delay")) {
    auto d = parse_duration(*v);
    if (!d || *d < Duration::zero()) return "--retry-delay '" + *v + "': " + (d ? "must not be negative" : d.error().message());
    retry_.delay = *d;
  }
  std::string format = p_.value("joblog-format").value_or("json");
  if (format != "json" && format != "parallel") return "--joblog-format '" + format + "': expected json or parallel";
  parallel_format_ = format == "parallel";
  line_buffer_ = p_.has("line-buffer");
  keep_order_ = p_.has("keep-order");
  if (line_buffer_ && keep_order_) return "--line-buffer and --keep-order cannot be combined";
  quiet_ = p_.has("quiet");
  std::string on_signal = p_.value("on-signal").value_or("soon");
  if (on_signal != "soon" && on_signal != "now") return "--on-signal '" + on_signal + "': expected soon or now";
  first_signal_now_ = on_signal == "now";
  tty_ = ::isatty(STDERR_FILENO) != 0;
  if (const char* t = std::getenv("TMPDIR"); t && *t) tmpdir_ = t;
  results_ = p_.value("results");
  if (results_) {
    std::error_code ec;
    std::filesystem::create_directories(*results_, ec);
    if (ec) return "--results '" + *results_ + "': " + ec.message();
  }
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  host_ = host;
  return std::nullopt;
}

void Runner::write_log(const JobRecord& rec) {
  if (p_.has("report")) records_.push_back(rec);  // only the HTML report needs them all
  if (!joblog_) return;
  *joblog_ << (parallel_format_ ? parallel_joblog_line(rec) : joblog_line(rec));
  joblog_->flush();  // a line per attempt survives a crash of procctx
}

Result<void> Runner::make_results_dir(const Job& j, Running& r) {
  std::filesystem::path dir = std::filesystem::path{*results_} / std::to_string(j.seq);
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Error{ec, "--results: " + dir.string() + ": " + ec.message()};
  r.out = ::open((dir / "stdout").c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  r.err = ::open((dir / "stderr").c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (r.out < 0 || r.err < 0) return Error{std::error_code{errno, std::system_category()}, "--results: " + dir.string()};
  return {};
}

void Runner::start(const Scheduler::Start& s) {
  const Job& j = jobs_[s.job];
  std::size_t token = next_token_++;
  Running& r = running_[token];
  r.job = s.job;
  r.slot = s.slot;
  r.attempt = s.attempt;
  r.tag = tag_for(j);
  auto argv = with_slot(j.argv, s.slot);
  Command cmd{argv[0], {argv.begin() + 1, argv.end()}};
  cmd.path_lookup(PathLookup::allow_relative).in(Stdio::null()).tree(tree_).stop(stop_).leftovers(Leftovers::kill);
  if (j.cwd) cmd.cwd(*j.cwd);
  for (const auto& [k, v] : j.env) cmd.env(k, v);
  cmd.env("PARALLEL_SEQ", std::to_string(j.seq)).env("PARALLEL_JOBSLOT", std::to_string(s.slot));

  std::optional<std::string> setup_error;
  int child_out = -1, child_err = -1;
  if (line_buffer_) {
    int po[2], pe[2];
    if (::pipe2(po, O_CLOEXEC) == 0 && ::pipe2(pe, O_CLOEXEC) == 0) {
      r.out = po[0];
      r.err = pe[0];
      child_out = po[1];
      child_err = pe[1];
      ::fcntl(r.out, F_SETFL, O_NONBLOCK);
      ::fcntl(r.err, F_SETFL, O_NONBLOCK);
    } else {
      setup_error = std::string{"pipe: "} + std::strerror(errno);
    }
  } else if (results_) {
    if (auto ok = make_results_dir(j, r); !ok) setup_error = ok.error().message();
  } else {
    r.out = unlinked_file(tmpdir_);
    r.err = unlinked_file(tmpdir_);
    if (r.out < 0 || r.err < 0) setup_error = "temporary file in " + tmpdir_ + ": " + std::strerror(errno);
  }
  if (!setup_error) {
    cmd.out(Stdio::fd(child_out >= 0 ? child_out : r.out)).err(Stdio::fd(child_err >= 0 ? child_err : r.err));
  }

  Duration limit = timeout_.value_or(Duration::zero());
  if (j.timeout) limit = *j.timeout;
  auto wc = limit > Duration::zero() ? with_timeout(run_ctx_.ctx, limit) : with_cancel(run_ctx_.ctx);
  r.ctx = wc.ctx;
  r.cancel = std::move(wc.cancel);
  r.started = Clock::now();
  r.start_unix = unix_now();
  Result<Process> p = setup_error ? Result<Process>{Error{make_error_code(errc::invalid_argument), *setup_error}}
                                  : cmd.spawn(r.ctx);
  if (child_out >= 0) ::close(child_out);
  if (child_err >= 0) ::close(child_err);
  if (!p) {
    auto failure = describe_spawn_failure(p.error(), argv[0]);
    std::string note = "procctx batch: #" + std::to_string(j.seq) + " " + failure.text + "\n";
    // Reported like an exit with 125/126/127 (never retried).
    r.finished = true;
    AttemptEnd end;
    end.exit_code = failure.exit_code;
    end.start_failed = true;
    sched_->finished(r.job, r.slot, end, Clock::now());
    JobRecord rec;
    rec.id = j.id;
    rec.seq = j.seq;
    rec.command = j.command;
    rec.argv = argv;
    rec.start = r.start_unix;
    rec.exit_code = failure.exit_code;
    rec.stop = "start_failed";
    rec.attempt = r.attempt;
    rec.slot = r.slot;
    rec.shard = shard_.text();
    rec.host = host_;
    write_log(rec);
    Printable pr{r.out, r.err, r.tag, note};
    if (keep_order_) {
      waiting_[j.seq] = pr;
      flush_in_order();
    } else {
      print_job(pr);
    }
    running_.erase(token);
    return;
  }
  r.process.emplace(std::move(*p));
  int fd = done_pipe_[1];
  auto t = static_cast<std::uint64_t>(token);
  r.process->on_exit([fd, t](const Completed&) { (void)!::write(fd, &t, sizeof t); });
}

void Runner::pump_lines(Running& r, bool at_eof) {
  using Stream = std::tuple<int*, std::string*, int, std::uint64_t*>;
  for (auto [fd, partial, out, bytes] : {Stream{&r.out, &r.out_partial, STDOUT_FILENO, &r.out_bytes},
                                         Stream{&r.err, &r.err_partial, STDERR_FILENO, &r.err_bytes}}) {
    if (*fd < 0) continue;
    char buf[65536];
    for (;;) {
      ssize_t n = ::read(*fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n > 0) {
        *bytes += static_cast<std::uint64_t>(n);
        partial->append(buf, static_cast<std::size_t>(n));
        auto last = partial->rfind('\n');
        if (last != std::string::npos) {
          std::string lines;
          std::size_t begin = 0;
          while (begin <= last) {
            auto nl = partial->find('\n', begin);
            lines += r.tag + partial->substr(begin, nl - begin + 1);
            begin = nl + 1;
          }
          write_all(out, lines);
          partial->erase(0, last + 1);
        }
        continue;
      }
      if (n == 0 || (n < 0 && errno != EAGAIN) || at_eof) {
        if (n == 0 || (n < 0 && errno != EAGAIN)) {
          if (!partial->empty()) write_all(out, r.tag + *partial + "\n");
          partial->clear();
          ::close(*fd);
          *fd = -1;
        }
      }
      break;
    }
  }
}

void Runner::print_job(Printable pr) {
  if (!line_buffer_) {
    if (pr.out >= 0) copy_out(pr.out, STDOUT_FILENO, pr.tag);
    if (pr.err >= 0) copy_out(pr.err, STDERR_FILENO, pr.tag);
  }
  if (!pr.note.empty()) write_all(STDERR_FILENO, pr.note);
  if (pr.out >= 0) ::close(pr.out);
  if (pr.err >= 0) ::close(pr.err);
}

void Runner::flush_in_order() {
  while (true) {
    while (next_print_ <= printed_.size() && printed_[next_print_ - 1]) ++next_print_;
    auto it = waiting_.find(next_print_);
    if (it == waiting_.end()) return;
    print_job(std::move(it->second));
    waiting_.erase(it);
    printed_[next_print_ - 1] = true;
  }
}

void Runner::finish(std::size_t token) {
  auto it = running_.find(token);
  if (it == running_.end()) return;
  Running& r = it->second;
  const Job& j = jobs_[r.job];
  const Completed& c = r.process->wait();
  TimePoint now = Clock::now();

  AttemptEnd end;
  JobRecord rec;
  rec.id = j.id;
  rec.seq = j.seq;
  rec.command = j.command;
  rec.argv = c.argv;
  rec.start = r.start_unix;
  rec.runtime = std::chrono::duration<double>(c.wall).count();
  rec.attempt = r.attempt;
  rec.slot = r.slot;
  rec.shard = shard_.text();
  rec.host = host_;
  rec.user_cpu = std::chrono::duration<double>(c.rusage.user).count();
  rec.sys_cpu = std::chrono::duration<double>(c.rusage.system).count();
  rec.max_rss_kib = c.rusage.max_rss_kib;
  if (c.status.exited()) rec.exit_code = end.exit_code = c.status.code();
  if (c.status.signaled()) rec.signal = end.signal = c.status.signal();
  if (c.stop_reason == StopReason::deadline) {
    // The earlier of the job's own deadline and the run's fired.
    Duration own = j.timeout ? *j.timeout : timeout_.value_or(Duration::max());
    bool own_first = own != Duration::max() && (!run_deadline_ || r.started + own <= *run_deadline_);
    if (own_first) {
      end.timed_out = true;
      rec.stop = "timeout";
    } else {
      end.run_deadline = true;
      rec.stop = "deadline";
    }
  } else if (c.stop_reason == StopReason::canceled) {
    end.interrupted = true;
    rec.stop = halted_why_.empty() ? "interrupted" : "halt";
  }

  // Output: sizes, then printing (now, or in input order).
  if (line_buffer_) {
    // Whatever the pipes still hold; a leftover holding them was stopped
    // with the tree (Leftovers::kill), so EOF comes at once.
    auto until = now + std::chrono::seconds(2);
    while ((r.out >= 0 || r.err >= 0) && Clock::now() < until) {
      pollfd fds[2] = {{r.out, POLLIN, 0}, {r.err, POLLIN, 0}};
      ::poll(fds, 2, 50);
      pump_lines(r, false);
    }
    pump_lines(r, true);
    if (r.out >= 0) ::close(std::exchange(r.out, -1));
    if (r.err >= 0) ::close(std::exchange(r.err, -1));
    rec.out_bytes = r.out_bytes;
    rec.err_bytes = r.err_bytes;
  } else {
    struct stat st {};
    if (r.out >= 0 && ::fstat(r.out, &st) == 0) rec.out_bytes = static_cast<std::uint64_t>(st.st_size);
    if (r.err >= 0 && ::fstat(r.err, &st) == 0) rec.err_bytes = static_cast<std::uint64_t>(st.st_size);
  }
  auto retry_at = sched_->finished(r.job, r.slot, end, now);
  if (sched_->halted() && halted_why_.empty()) halted_why_ = "--halt " + p_.value("halt").value_or("");
  rec.final = !retry_at;
  if (retry_at && r.attempt == 1) ++retried_;  // jobs that needed another attempt
  write_log(rec);

  std::string note;
  if (!rec.stop.empty() || rec.signal != 0) {
    note = "procctx batch: #" + std::to_string(j.seq) + " " + j.command + ": " + c.status.to_string();
    if (!rec.stop.empty()) note += " (" + rec.stop + ")";
    if (retry_at) note += "; will try again";
    note += "\n";
  }
  if (results_) {
    nlohmann::json meta = nlohmann::json::parse(joblog_line(rec));
    std::ofstream{std::filesystem::path{*results_} / std::to_string(j.seq) / "meta.json"} << json_text(meta, 2) << "\n";
  }
  Printable pr{r.out, r.err, r.tag, note};
  if (keep_order_ && !retry_at) {
    waiting_[j.seq] = pr;
    flush_in_order();
  } else {
    print_job(pr);
  }
  running_.erase(it);
  progress(false);
}

void Runner::progress(bool force) {
  if (quiet_) return;
  TimePoint now = Clock::now();
  auto interval = tty_ ? std::chrono::milliseconds(100) : std::chrono::milliseconds(10000);
  if (!force && now - last_progress_ < interval) return;
  last_progress_ = now;
  double elapsed = std::chrono::duration<double>(now - began_).count();
  std::size_t done = sched_->completed(), total = sched_->total();
  double rate = elapsed > 0 ? static_cast<double>(done) / elapsed : 0;
  char line[256];
  std::snprintf(line, sizeof line, "procctx batch: %zu/%zu done, %zu running, %zu failed, %.1f jobs/s%s%s", done,
                total, sched_->running(), sched_->failed(), rate, done > 0 && done < total ? ", ETA " : "",
                done > 0 && done < total ? fmt_seconds(static_cast<double>(total - done) / std::max(rate, 1e-9)).c_str()
                                         : "");
  write_all(STDERR_FILENO, tty_ ? "\r\x1b[K" + std::string{line} : std::string{line} + "\n");
}

int Runner::run() {
  // Jobs keep output fds open until printed; make room for many.
  rlimit nofile{};
  if (::getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max) {
    nofile.rlim_cur = nofile.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &nofile);
  }
  if (auto e = configure()) return usage_error(kSpec, *e);
  // A running job holds three fds here (its pidfd and two output files or
  // pipes): never start more than the fd limit allows.
  if (nofile.rlim_cur != RLIM_INFINITY) {
    auto fit = static_cast<std::size_t>(std::max<rlim_t>((nofile.rlim_cur - 64) / 3, 1));
    if (parallel_ > fit) {
      std::fprintf(stderr, "procctx batch: -j %zu lowered to %zu: RLIMIT_NOFILE %llu allows 3 fds per running job\n",
                   parallel_, fit, static_cast<unsigned long long>(nofile.rlim_cur));
      parallel_ = fit;
    }
  }
  sigset_t handled;
  sigemptyset(&handled);
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&handled, sig);
  int sigfd = block_into_signalfd(handled);
  ::signal(SIGPIPE, SIG_IGN);
  if (::pipe2(done_pipe_, O_CLOEXEC) != 0 || sigfd < 0) return fail(std::string{"setup: "} + std::strerror(errno));

  // Resume: what the job log already says.
  auto joblog_path = p_.value("joblog");
  const bool resume = p_.has("resume") || p_.has("resume-failed");
  if (resume && !joblog_path) return usage_error(kSpec, "--resume needs --joblog FILE");
  std::size_t skipped = 0;
  if (resume && !parallel_format_) {
    std::ifstream old{*joblog_path};
    std::size_t unreadable = 0;
    auto last = last_outcomes(read_joblog(old, unreadable));
    std::vector<Job> keep;
    for (auto& j : jobs_) {
      auto it = last.find(j.id);
      bool finished = it != last.end() && it->second.stop != "halt" && it->second.stop != "interrupted" &&
                      it->second.stop != "deadline";
      bool skip = finished && (p_.has("resume-failed") ? it->second.success() : true);
      if (skip) {
        ++skipped;
      } else {
        keep.push_back(std::move(j));
      }
    }
    jobs_ = std::move(keep);
  } else if (resume) {
    return usage_error(kSpec, "--resume reads JSON job logs; use --joblog-format json");
  }
  if (joblog_path) {
    joblog_ = std::make_unique<std::ofstream>(*joblog_path, resume ? std::ios::app : std::ios::trunc);
    if (!*joblog_) return fail("--joblog '" + *joblog_path + "': cannot write: " + std::strerror(errno));
    if (parallel_format_) *joblog_ << parallel_joblog_header() << std::flush;
  }
  for (std::size_t i = 0; i < jobs_.size(); ++i) jobs_[i].seq = jobs_[i].seq ? jobs_[i].seq : i + 1;
  printed_.assign(jobs_.empty() ? 0 : std::max_element(jobs_.begin(), jobs_.end(), [](const Job& a, const Job& b) {
                                        return a.seq < b.seq;
                                      })->seq,
                  true);
  for (const auto& j : jobs_) printed_[j.seq - 1] = false;

  began_ = Clock::now();
  last_progress_ = tty_ ? TimePoint{} : began_;  // off a terminal: the first line after 10 s
  double began_unix = unix_now();
  if (deadline_) {
    run_ctx_ = with_timeout(background(), *deadline_);
    run_deadline_ = began_ + *deadline_;
  } else {
    run_ctx_ = with_cancel(background());
  }
  sched_ = std::make_unique<Scheduler>(
      Scheduler::Options{jobs_.size(), parallel_, halt_, retry_, static_cast<std::uint64_t>(::getpid())});
  if (skipped > 0 && !quiet_) {
    std::fprintf(stderr, "procctx batch: resuming: %zu job(s) already done per %s\n", skipped, joblog_path->c_str());
  }

  int signals = 0, first_signal = 0;
  while (!sched_->all_done()) {
    TimePoint now = Clock::now();
    if (run_ctx_.ctx.done() && !sched_->halted()) {
      halted_why_ = "the --deadline passed";
      sched_->halt(HaltPolicy::When::soon);
    }
    while (auto s = sched_->next(now)) start(*s);
    if (sched_->take_stop_request()) {
      if (halted_why_.empty()) halted_why_ = "--halt " + p_.value("halt").value_or("");
      for (auto& [token, r] : running_) r.cancel("procctx batch halted");
    } else if (sched_->halted() && halted_why_.empty()) {
      halted_why_ = "--halt " + p_.value("halt").value_or("");
    }
    if (sched_->all_done()) break;

    std::vector<pollfd> fds{{sigfd, POLLIN, 0}, {done_pipe_[0], POLLIN, 0}};
    std::vector<std::size_t> owners;
    if (line_buffer_) {
      for (auto& [token, r] : running_) {
        for (int fd : {r.out, r.err}) {
          if (fd >= 0) {
            fds.push_back({fd, POLLIN, 0});
            owners.push_back(token);
          }
        }
      }
    }
    int wait_ms = quiet_ ? 1000 : (tty_ ? 100 : 1000);
    if (auto wake = sched_->next_wakeup()) {
      auto left = std::chrono::ceil<std::chrono::milliseconds>(*wake - Clock::now()).count();
      wait_ms = static_cast<int>(std::clamp<long long>(left, 0, wait_ms));
    }
    int n = ::poll(fds.data(), fds.size(), wait_ms);
    if (n < 0 && errno != EINTR) return fail(std::string{"poll: "} + std::strerror(errno));
    if (n > 0) {
      for (std::size_t i = 2; i < fds.size(); ++i) {
        if (fds[i].revents == 0) continue;
        auto it = running_.find(owners[i - 2]);
        if (it != running_.end()) pump_lines(it->second, false);
      }
      if (fds[0].revents & POLLIN) {
        signalfd_siginfo si{};
        while (::read(sigfd, &si, sizeof si) == static_cast<ssize_t>(sizeof si)) {
          if (++signals == 1) first_signal = static_cast<int>(si.ssi_signo);
          std::string name = signal_name(static_cast<int>(si.ssi_signo));
          if (signals == 1 && first_signal_now_) {
            halted_why_ = "procctx batch received " + name;
            sched_->halt(HaltPolicy::When::now);
          } else if (signals == 1) {
            halted_why_ = "procctx batch received " + name;
            sched_->halt(HaltPolicy::When::soon);
            std::string list = "\nprocctx batch: " + name + ": starting no new job; still running:\n";
            for (const auto& [token, r] : running_) {
              list += "  #" + std::to_string(jobs_[r.job].seq) + " " + jobs_[r.job].command + "\n";
            }
            list += "procctx batch: send it again to stop them\n";
            write_all(STDERR_FILENO, list);
          } else {
            halted_why_ = "procctx batch received " + name + " twice";
            sched_->halt(HaltPolicy::When::now);
          }
        }
      }
      if (fds[1].revents & POLLIN) {
        std::uint64_t token = 0;
        while (::read(done_pipe_[0], &token, sizeof token) == static_cast<ssize_t>(sizeof token)) {
          finish(static_cast<std::size_t>(token));
          // Keep the non-blocking drain bounded to what is there.
          pollfd more{done_pipe_[0], POLLIN, 0};
          if (::poll(&more, 1, 0) <= 0) break;
        }
      }
    }
    progress(false);
  }
  // --keep-order: jobs that never ran leave gaps; print what is left.
  for (auto& [seq, pr] : waiting_) print_job(std::move(pr));
  waiting_.clear();
  if (!quiet_) {
    progress(true);
    if (tty_) write_all(STDERR_FILENO, "\n");
  }

  Summary s;
  s.total = jobs_.size() + bad_lines_;
  s.succeeded = sched_->succeeded();
  s.failed = sched_->failed() + bad_lines_;
  s.not_started = sched_->not_started();
  s.retried = retried_;
  s.started_at = began_unix;
  s.wall = std::chrono::duration<double>(Clock::now() - began_).count();
  s.parallel = parallel_;
  s.halted = halted_why_;
  s.shard = shard_.text();
  s.exit_code = signals > 0 ? 128 + first_signal : batch_exit_code(s.failed);
  if (auto path = p_.value("summary-json")) {
    std::ofstream f{*path};
    f << summary_json(s);
    if (!f) return fail("--summary-json '" + *path + "': cannot write");
  }
  if (auto path = p_.value("report")) {
    std::ofstream f{*path};
    f << html_report(s, records_);
    if (!f) return fail("--report '" + *path + "': cannot write");
  }
  ::close(sigfd);
  ::close(done_pipe_[0]);
  ::close(done_pipe_[1]);
  return s.exit_code;
}

int merge_main(std::span<const std::string> args) {
  int exit_code = 0;
  auto parsed = parse_args(kMergeSpec, args, exit_code);
  if (!parsed) return exit_code == 0 ? 0 : kExitOwnFailure;
  if (parsed->operands.empty()) {
    usage_error(kMergeSpec, "no job log given");
    return kExitOwnFailure;
  }
  std::vector<JobRecord> all;
  for (const auto& path : parsed->operands) {
    std::ifstream in{path};
    if (!in) return fail("merge: cannot read '" + path + "': " + std::strerror(errno));
    std::size_t skipped = 0;
    auto recs = read_joblog(in, skipped);
    if (skipped > 0) std::fprintf(stderr, "procctx batch merge: %s: %zu line(s) not understood, skipped\n", path.c_str(), skipped);
    all.insert(all.end(), recs.begin(), recs.end());
  }
  std::stable_sort(all.begin(), all.end(), [](const JobRecord& a, const JobRecord& b) { return a.start < b.start; });
  auto last = last_outcomes(all);
  Summary s;
  s.total = last.size();
  std::map<std::string, int> attempts;
  for (const auto& r : all) ++attempts[r.id];
  for (const auto& [id, r] : last) (r.success() ? s.succeeded : s.failed)++;
  for (const auto& [id, n] : attempts) s.retried += n > 1 ? 1 : 0;
  if (!all.empty()) {
    s.started_at = all.front().start;
    double end = 0;
    for (const auto& r : all) end = std::max(end, r.start + r.runtime);
    s.wall = end - s.started_at;
  }
  std::set<std::string> shards;
  for (const auto& r : all) {
    if (!r.shard.empty()) shards.insert(r.shard);
  }
  s.shard = std::to_string(shards.size()) + " shard(s)";
  s.exit_code = batch_exit_code(s.failed);
  std::string merged;
  for (const auto& r : all) merged += joblog_line(r);
  if (auto out = parsed->value("output")) {
    std::ofstream f{*out};
    f << merged;
    if (!f) return fail("merge: --output '" + *out + "': cannot write");
  } else {
    std::cout << merged;
  }
  if (auto path = parsed->value("report")) {
    std::ofstream f{*path};
    f << html_report(s, all);
  }
  if (auto path = parsed->value("summary-json")) {
    std::ofstream f{*path};
    f << summary_json(s);
  }
  std::fprintf(stderr, "procctx batch merge: %zu job(s): %zu succeeded, %zu failed\n", s.total, s.succeeded, s.failed);
  return s.exit_code;
}

}  // namespace

const Spec& batch_spec() { return kSpec; }

int batch_main(std::span<const std::string> args) {
  if (!args.empty() && args[0] == "merge") return merge_main(args.subspan(1));
  int exit_code = 0;
  auto parsed = parse_args(kSpec, args, exit_code);
  if (!parsed) return exit_code == 0 ? 0 : kExitOwnFailure;
  std::string error;
  const auto& ops = parsed->operands;
  auto first_sep = std::find_if(ops.begin(), ops.end(), [](const std::string& s) { return s == ":::" || s == "::::"; });
  Input input;
  if (first_sep != ops.end()) {
    std::vector<std::string> tmpl{ops.begin(), first_sep};
    std::vector<std::vector<std::string>> sources;
    for (auto it = first_sep; it != ops.end();) {
      bool from_file = *it == "::::";
      ++it;
      std::vector<std::string> values;
      for (; it != ops.end() && *it != ":::" && *it != "::::"; ++it) {
        if (!from_file) {
          values.push_back(*it);
          continue;
        }
        std::ifstream f;
        std::istream* in = &std::cin;  // ":::: -" reads standard input
        if (*it != "-") {
          f.open(*it);
          if (!f) return fail(":::: '" + *it + "': cannot read: " + std::strerror(errno));
          in = &f;
        }
        for (std::string line; std::getline(*in, line);) values.push_back(line);
      }
      sources.push_back(std::move(values));
    }
    input = expand_template(tmpl, sources);
  } else {
    if (ops.size() > 1) {
      usage_error(kSpec, "one input FILE at most (a command template needs ::: ARG...)");
      return kExitOwnFailure;
    }
    if (parsed->has("jsonl") || ops.empty() || ops[0] == "-" || std::filesystem::is_regular_file(ops[0]) ||
        std::filesystem::is_fifo(ops[0])) {
      std::ifstream file;
      std::istream* in = &std::cin;
      if (!ops.empty() && ops[0] != "-") {
        file.open(ops[0]);
        if (!file) return fail("'" + ops[0] + "': cannot read: " + std::strerror(errno));
        in = &file;
      }
      input = read_jobs(*in, parsed->has("jsonl"));
    } else {
      return fail("'" + ops[0] + "': no such input file (a command to run needs ::: ARG...)");
    }
  }
  for (const auto& e : input.errors) {
    if (e.line) {
      std::fprintf(stderr, "procctx batch: line %zu: %s\n", e.line, e.message.c_str());
    } else {
      std::fprintf(stderr, "procctx batch: %s\n", e.message.c_str());
    }
  }
  if (!input.errors.empty() && parsed->has("strict")) {
    return fail(std::to_string(input.errors.size()) + " malformed input line(s); nothing was run (--strict)");
  }
  auto shard = shard_from(*parsed, error);
  if (!shard) {
    usage_error(kSpec, error);
    return kExitOwnFailure;
  }
  if (shard->count > 0) {
    std::vector<Job> mine;
    for (auto& j : input.jobs) {
      if (shard_of(j.id, shard->count) == shard->index) mine.push_back(std::move(j));
    }
    input.jobs = std::move(mine);
  }
  Runner runner{*parsed, std::move(input.jobs), input.errors.size(), *shard};
  int code = runner.run();
  return code == kExitFailure ? kExitOwnFailure : code;
}

}  // namespace procctx::cli
