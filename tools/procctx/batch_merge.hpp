// batch_merge.hpp — `procctx batch merge`: the job logs of the shards of one
// run put together into one log, one summary and one report, with the exit
// status the whole run would have had.
#pragma once

#include <span>
#include <string>

namespace procctx::cli::batch {

int merge_main(std::span<const std::string> args);

}  // namespace procctx::cli::batch
