// batch_runner.hpp — runs a JobList as its Config says: starts what the
// Scheduler offers, waits in one place (the Inbox) for jobs to end and for
// signals, and turns each outcome into a job-log record, printed output and
// the next decision. It owns no event loop: procctx's library watches the
// children and says when each has ended (on_exit).
#pragma once

#include "batch_config.hpp"
#include "batch_files.hpp"
#include "batch_input.hpp"
#include "batch_results.hpp"

#include <optional>

namespace procctx::cli::batch {

// What was opened before anything ran, so that an unwritable path failed
// the run at once.
struct RunFiles {
  std::optional<JobLogFile> joblog;
  std::optional<OutputFile> summary, report;
  std::optional<ResultsDir> results;
};

// Runs everything; returns procctx batch's exit code.
int run_jobs(const Config& config, JobList jobs, RunFiles files);

}  // namespace procctx::cli::batch
