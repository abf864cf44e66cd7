#include "batch_shard.hpp"

#include "batch_text.hpp"

#include <procctx/command.hpp>

#include <cstdint>

namespace procctx::cli::batch {
namespace {

Error shard_error(std::string message) {
  return Error{make_error_code(errc::invalid_argument), std::move(message)};
}

// A variable as it is: NAME='value', quoted (the value is the environment's, not ours).
struct Var {
  const char* name;
  const char* value;  // nullptr: unset
  std::optional<std::uint64_t> number() const { return value ? to_u64(value) : std::nullopt; }
  std::string shown() const {
    std::string s = name;
    s += '=';
    s += value ? quote(value) : std::string{"(unset)"};
    return s;
  }
};

constexpr std::string_view kChoose = "; give --shard I/N to choose the shard";

Result<Shard> from_slurm(const EnvLookup& env) {
  Var id{"SLURM_ARRAY_TASK_ID", env("SLURM_ARRAY_TASK_ID")};
  Var count{"SLURM_ARRAY_TASK_COUNT", env("SLURM_ARRAY_TASK_COUNT")};
  Var min{"SLURM_ARRAY_TASK_MIN", env("SLURM_ARRAY_TASK_MIN")};
  Var max{"SLURM_ARRAY_TASK_MAX", env("SLURM_ARRAY_TASK_MAX")};
  Var step{"SLURM_ARRAY_TASK_STEP", env("SLURM_ARRAY_TASK_STEP")};
  std::string all = id.shown();
  for (const Var* v : {&count, &min, &max, &step}) {
    if (v != &step || step.value) {
      all += ' ';
      all += v->shown();
    }
  }
  for (const Var* v : {&id, &count, &min, &max, &step}) {
    if (v->value && !v->number()) return shard_error(v->shown() + " is not a number" + std::string{kChoose});
  }
  std::uint64_t lo = min.number().value_or(0), by = step.number().value_or(1);
  if (by == 0) return shard_error(step.shown() + " is not a step" + std::string{kChoose});
  std::optional<std::uint64_t> n = count.number();
  if (max.value) {
    if (*max.number() < lo) return shard_error(all + ": the array is empty" + std::string{kChoose});
    std::uint64_t span = (*max.number() - lo) / by + 1;
    if (n && *n != span) {
      return shard_error(all + ": the array is not a range of task ids, so a task's shard is unknown" +
                         std::string{kChoose});
    }
    n = span;
  }
  if (!n) {
    return shard_error(id.shown() + " without SLURM_ARRAY_TASK_COUNT (or SLURM_ARRAY_TASK_MIN and _MAX): the "
                       "number of shards is unknown" + std::string{kChoose});
  }
  std::uint64_t i = *id.number();
  if (*n == 0 || i < lo || (i - lo) % by != 0 || (i - lo) / by >= *n) {
    return shard_error(all + ": not a task of the array" + std::string{kChoose});
  }
  return Shard{static_cast<std::size_t>((i - lo) / by), static_cast<std::size_t>(*n), id.name};
}

Result<Shard> from_kubernetes(const EnvLookup& env, const std::optional<std::string>& shard_count) {
  Var index{"JOB_COMPLETION_INDEX", env("JOB_COMPLETION_INDEX")};
  if (!index.number()) return shard_error(index.shown() + " is not a number" + std::string{kChoose});
  if (!shard_count) {
    return shard_error(index.shown() + " needs --shard-count N, the number of completions of the Indexed Job" +
                       std::string{kChoose});
  }
  auto n = to_u64(*shard_count);
  if (*index.number() >= *n) {
    return shard_error(index.shown() + " with --shard-count " + *shard_count +
                       ": the index must be below the count" + std::string{kChoose});
  }
  return Shard{static_cast<std::size_t>(*index.number()), static_cast<std::size_t>(*n), index.name};
}

// GitLab's CI_NODE_INDEX is 1-based, CircleCI's CIRCLE_NODE_INDEX 0-based.
Result<Shard> from_ci(const EnvLookup& env, const char* index_name, const char* total_name, std::uint64_t base) {
  Var index{index_name, env(index_name)};
  Var total{total_name, env(total_name)};
  std::string both = index.shown() + " with " + total.shown();
  if (!index.number() || !total.number() || *total.number() == 0) {
    return shard_error(both + ": expected two numbers" + std::string{kChoose});
  }
  std::uint64_t i = *index.number(), n = *total.number();
  if (i < base || i - base >= n) {
    std::string range = base == 1 ? "1-based: 1 to " + std::to_string(n) : "0 to " + std::to_string(n - 1);
    return shard_error(both + ": the index must be " + range + std::string{kChoose});
  }
  return Shard{static_cast<std::size_t>(i - base), static_cast<std::size_t>(n), index_name};
}

Result<Shard> from_flag(const std::string& v) {
  auto slash = v.find('/');
  auto i = to_u64(std::string_view{v}.substr(0, slash));
  auto n = to_u64(slash == std::string::npos ? std::string_view{} : std::string_view{v}.substr(slash + 1));
  std::uint64_t index = i.value_or(0), count = n.value_or(0);
  if (!i || count == 0 || index >= count) return shard_error(bad_value("--shard", v, "expected I/N with 0 <= I < N"));
  return Shard{static_cast<std::size_t>(index), static_cast<std::size_t>(count), "--shard"};
}

}  // namespace

std::string Shard::text() const { return sharded() ? std::to_string(index) + "/" + std::to_string(count) : ""; }

Result<Shard> shard_from(const std::optional<std::string>& shard_flag,
                         const std::optional<std::string>& shard_count_flag, const EnvLookup& env) {
  if (shard_count_flag) {
    auto n = to_u64(*shard_count_flag);
    if (!n || *n == 0) return shard_error(bad_value("--shard-count", *shard_count_flag, "expected a positive number"));
    if (shard_flag) return shard_error("--shard-count is for JOB_COMPLETION_INDEX; with --shard I/N it has no use");
    if (!env("JOB_COMPLETION_INDEX")) {
      return shard_error("--shard-count " + quote(*shard_count_flag) +
                         " needs JOB_COMPLETION_INDEX (a Kubernetes Indexed Job); elsewhere give --shard I/N");
    }
  }
  if (shard_flag) return from_flag(*shard_flag);
  if (env("SLURM_ARRAY_TASK_ID")) return from_slurm(env);
  if (env("JOB_COMPLETION_INDEX")) return from_kubernetes(env, shard_count_flag);
  if (env("CI_NODE_INDEX") || env("CI_NODE_TOTAL")) return from_ci(env, "CI_NODE_INDEX", "CI_NODE_TOTAL", 1);
  if (env("CIRCLE_NODE_INDEX") || env("CIRCLE_NODE_TOTAL")) {
    return from_ci(env, "CIRCLE_NODE_INDEX", "CIRCLE_NODE_TOTAL", 0);
  }
  return Shard{};
}

std::size_t shard_of(std::string_view id, std::size_t n) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (char ch : id) {
    h ^= static_cast<unsigned char>(ch);
    h *= 0x100000001b3ULL;
  }
  return n == 0 ? 0 : static_cast<std::size_t>(h % n);
}

}  // namespace procctx::cli::batch
