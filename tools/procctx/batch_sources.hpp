// batch_sources.hpp — where `procctx batch`'s job list comes from: a FILE
// or standard input, or a command template followed by ::: ARG... and
// :::: FILE groups. Reading is checked: a closed stdin, a directory or a
// read error is "cannot read the job list", never an empty success.
#pragma once

#include "batch_input.hpp"

#include <procctx/result.hpp>

#include <string>
#include <vector>

namespace procctx::cli::batch {

// The operands after the flags.
Result<JobList> job_list_from(const std::vector<std::string>& operands, bool jsonl);

}  // namespace procctx::cli::batch
