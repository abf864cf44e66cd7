// batch_shard.hpp — which shard of the job list this `procctx batch` runs:
// from --shard I/N, or from the variables a scheduler sets (Slurm arrays,
// Kubernetes Indexed Jobs with --shard-count, GitLab and CircleCI
// parallelism). A variable that is set but does not make sense is an error:
// a misconfigured node must not run the whole list.
#pragma once

#include <procctx/result.hpp>

#include <cstddef>
#include <functional>
#include <optional>
#include <string>

namespace procctx::cli::batch {

struct Shard {
  std::size_t index = 0, count = 0;  // count 0: not sharded
  std::string from;                  // "--shard", "SLURM_ARRAY_TASK_ID", ...
  bool sharded() const { return count > 0; }
  std::string text() const;          // "I/N", or "" when not sharded
};

// Looks a variable up (nullptr when unset): getenv, or a map in tests.
using EnvLookup = std::function<const char*(const char*)>;

// The shard to run, from the flags' values and the environment. Errors name
// the flag or the variables and their values.
Result<Shard> shard_from(const std::optional<std::string>& shard_flag,
                         const std::optional<std::string>& shard_count_flag, const EnvLookup& env);

// Which shard (0 ≤ i < n) a job identity belongs to: stable under any
// reordering of the input.
std::size_t shard_of(std::string_view id, std::size_t n);

}  // namespace procctx::cli::batch
