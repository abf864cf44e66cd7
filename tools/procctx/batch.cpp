// procctx batch — many jobs, bounded parallelism, output never interleaved
// and never lost, a job log, resume, halt policies, retries, reports, and
// shards of one job list across machines.
//
// This file is the entry point: the flags, then the steps of a run in
// order — the configuration (batch_config), the outputs opened before
// anything runs (batch_files, batch_results), the job list
// (batch_sources, batch_input), the shard and what an earlier run already
// did (batch_shard, batch_files), and the run itself (batch_runner).
#include "batch_config.hpp"
#include "batch_files.hpp"
#include "batch_merge.hpp"
#include "batch_runner.hpp"
#include "batch_sources.hpp"
#include "batch_text.hpp"
#include "messages.hpp"
#include "subcommands.hpp"

#include <procctx/procctx.hpp>

#include <cerrno>
#include <cstdio>
#include <cstdlib>

#include <fcntl.h>
#include <sys/resource.h>
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
    {0, "tree", "MODE",
     "what a stop reaches: group (the default: a process group per job), cgroup, pidns (a PID namespace per job: "
     "nothing of a job survives it or procctx), or none"},
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
    {0, "tagstring", "STRING", "prefix each output line with STRING ({} and {#} replaced) and a tab"},
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
    "Input: FILE (or stdin) with one shell command per line, run with /bin/sh -c unless it is plain words\n"
    "(then without a shell); with --jsonl, one JSON object per line, run without a shell. Or a command\n"
    "template followed by ::: ARG... (several ::: give their cartesian product; :::: FILE reads arguments\n"
    "from a file) with the replacement strings {} {.} {/} {//} {/.} {#} {%} {1} {2}..., which apply to the\n"
    "template only, never to an argument; arguments are quoted for the shell when one is needed.\n"
    "\n"
    "Each job's stdout then stderr is printed whole when it ends, never mixed with another's; output is\n"
    "kept in unlinked temporary files (in $TMPDIR), not in memory. Output of killed and timed-out jobs is\n"
    "printed too, followed by a line saying so on stderr.\n"
    "\n"
    "Shards: without --shard, SLURM_ARRAY_TASK_ID/SLURM_ARRAY_TASK_COUNT (or _MIN/_MAX/_STEP),\n"
    "JOB_COMPLETION_INDEX with --shard-count, CI_NODE_INDEX/CI_NODE_TOTAL and\n"
    "CIRCLE_NODE_INDEX/CIRCLE_NODE_TOTAL pick it; a variable that does not make sense is an error.\n"
    "'procctx batch merge LOG...' merges shard job logs.\n"
    "\n"
    "The first SIGINT or SIGTERM starts no new job and lists the running ones; a second one stops them.\n"
    "When the reader of stdout goes away, the running jobs are stopped too.\n"
    "\n"
    "Exit status: 0 when every job succeeded; else the number of failed jobs (malformed input lines\n"
    "count), up to 100; 101 for more; 128+N after signal N (141: stdout's reader went away); 255 when\n"
    "procctx batch itself failed (bad usage, unreadable input, an output it could not write).\n";

const Spec kSpec{"batch", "[OPTION]... [FILE | -- COMMAND [ARG]... ::: ARG...]",
                 "Run many jobs, a bounded number at a time.", kDetails, kFlags};

constexpr int kExitOwnFailure = 255;

int fail(const std::string& message) {
  say("procctx batch", message);
  return kExitOwnFailure;
}

// Jobs keep output fds open while they run; make room for many, and never
// start more than the limit allows (a running job holds about three).
void fit_fd_limit(Config& c) {
  rlimit nofile{};
  if (::getrlimit(RLIMIT_NOFILE, &nofile) != 0) return;
  if (nofile.rlim_cur < nofile.rlim_max) {
    nofile.rlim_cur = nofile.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &nofile);
  }
  if (nofile.rlim_cur == RLIM_INFINITY) return;
  auto fit = static_cast<std::size_t>(std::max<rlim_t>((nofile.rlim_cur - 64) / 3, 1));
  if (c.parallel > fit) {
    say("procctx batch", "-j " + std::to_string(c.parallel) + " lowered to " + std::to_string(fit) + ": RLIMIT_NOFILE " +
                             std::to_string(nofile.rlim_cur) + " allows 3 fds per running job");
    c.parallel = fit;
  }
}

Result<RunFiles> open_outputs(const Config& c) {
  RunFiles f;
  for (auto [path, flag, into] : {std::tuple{&c.summary_json, "--summary-json", &f.summary},
                                  std::tuple{&c.report, "--report", &f.report}}) {
    if (!*path) continue;
    auto file = OutputFile::open(flag, **path);
    if (!file) return file.error();
    into->emplace(std::move(*file));
  }
  if (c.results) {
    auto dir = ResultsDir::open(*c.results);
    if (!dir) return dir.error();
    f.results.emplace(std::move(*dir));
  }
  return f;
}

// Drops the jobs an earlier run finished (--resume, --resume-failed).
Result<void> skip_what_finished(const Config& c, JobList& jobs) {
  auto past = read_past_runs(*c.joblog);
  if (!past) return past.error();
  if (past->torn_tail) {
    say("procctx batch", "--joblog " + quote(*c.joblog) +
                             ": its last line was cut off (a crash or a full disk); that job runs again, and the "
                             "line is fenced off");
  }
  if (std::size_t other = past->unreadable - (past->torn_tail ? 1 : 0); other > 0) {
    say("procctx batch", "--joblog " + quote(*c.joblog) + ": " + std::to_string(other) +
                             " line(s) are not job records and were skipped");
  }
  std::size_t before = jobs.size();
  jobs.keep_if([&](const std::string& id) {
    auto it = past->last.find(id);
    if (it == past->last.end() || !it->second.finished) return true;
    return c.resume == Config::Resume::failed && !it->second.success;
  });
  if (before > jobs.size() && !c.quiet) {
    say("procctx batch",
        "resuming: " + std::to_string(before - jobs.size()) + " job(s) already done per " + quote(*c.joblog));
  }
  return {};
}

Result<JobList> jobs_to_run(const Config& c, const Parsed& p) {
  auto jobs = job_list_from(p.operands, c.jsonl);
  if (!jobs) return jobs.error();
  for (const auto& e : jobs->errors()) {
    say("procctx batch", (e.line ? "line " + std::to_string(e.line) + ": " : std::string{}) + e.message);
  }
  if (!jobs->errors().empty() && c.strict) {
    return Error{make_error_code(errc::invalid_argument),
                 std::to_string(jobs->errors().size()) + " malformed input line(s); nothing was run (--strict)"};
  }
  if (c.shard.sharded()) {
    jobs->keep_if([&](const std::string& id) { return shard_of(id, c.shard.count) == c.shard.index; });
  }
  if (c.resume != Config::Resume::none) {
    if (auto ok = skip_what_finished(c, *jobs); !ok) return ok.error();
  }
  return jobs;
}

}  // namespace

const Spec& batch_spec() { return kSpec; }

int batch_main(std::span<const std::string> args) {
  // main() has put /dev/null on any of fds 0-2 the caller closed (caller_fds.hpp):
  // reading a closed stdin fails, so the job list is never silently empty.
  if (!args.empty() && args[0] == "merge") return merge_main(args.subspan(1));
  int exit_code = 0;
  auto parsed = parse_args(kSpec, args, exit_code);
  if (!parsed) return exit_code == 0 ? 0 : kExitOwnFailure;
  auto config = configure(*parsed, [](const char* name) { return static_cast<const char*>(std::getenv(name)); });
  if (!config) {
    usage_error(kSpec, config.error().message());
    return kExitOwnFailure;
  }
  fit_fd_limit(*config);
  auto files = open_outputs(*config);
  if (!files) return fail(files.error().message());
  auto jobs = jobs_to_run(*config, *parsed);
  if (!jobs) return fail(jobs.error().message());
  if (config->joblog) {
    auto log = JobLogFile::open(*config->joblog, config->resume != Config::Resume::none, config->parallel_format);
    if (!log) return fail(log.error().message());
    files->joblog.emplace(std::move(*log));
  }
  return run_jobs(*config, std::move(*jobs), std::move(*files));
}

}  // namespace procctx::cli
