#include "batch_config.hpp"

#include "batch_text.hpp"

#include <unistd.h>

namespace procctx::cli::batch {
namespace {

Error usage(std::string message) { return Error{make_error_code(errc::invalid_argument), std::move(message)}; }

// --jobs, --retries: a whole number in [lo, hi].
Result<std::size_t> number(const Parsed& p, const char* flag, std::uint64_t lo, std::uint64_t hi, const char* why) {
  auto v = p.value(flag);
  auto n = to_u64(*v);
  if (!n || *n < lo || *n > hi) return usage(bad_value(std::string{"--"} + flag, *v, why));
  return static_cast<std::size_t>(*n);
}

// --timeout, --deadline, --retry-delay: procctx's duration syntax.
Result<std::optional<Duration>> duration(const Parsed& p, const char* flag, bool may_be_zero) {
  auto v = p.value(flag);
  if (!v) return std::optional<Duration>{};
  auto d = parse_duration(*v);
  std::string name = std::string{"--"} + flag;
  if (!d) return usage(bad_value(name, *v, "expected a duration such as 500ms, 30s, 5m, 2h or 1d"));
  if (*d < Duration::zero() || (*d == Duration::zero() && !may_be_zero)) {
    return usage(bad_value(name, *v, may_be_zero ? "must not be negative" : "must be positive"));
  }
  return std::optional<Duration>{*d};
}

// A flag whose value is one of a few words.
Result<std::string> one_of(const Parsed& p, const char* flag, std::initializer_list<const char*> words,
                           const char* fallback) {
  std::string v = p.value(flag).value_or(fallback);
  std::string expected;
  for (const char* w : words) {
    if (v == w) return v;
    expected += (expected.empty() ? "" : ", ") + std::string{w};
  }
  return usage(bad_value(std::string{"--"} + flag, v, "expected one of " + expected));
}

Result<void> running_flags(const Parsed& p, Config& c) {
  if (p.has("jobs")) {
    auto n = number(p, "jobs", 1, 1'000'000, "expected a number of jobs from 1 to 1000000");
    if (!n) return n.error();
    c.parallel = *n;
  }
  for (auto [flag, into] : {std::pair{"timeout", &c.timeout}, std::pair{"deadline", &c.deadline}}) {
    auto d = duration(p, flag, false);
    if (!d) return d.error();
    *into = *d;
  }
  if (auto v = p.value("stop")) {
    auto s = StopSequence::parse(*v);
    if (!s) return usage(bad_value("--stop", *v, "expected signals, each followed by the time to wait, such as TERM,5s,KILL"));
    c.stop = *s;
  }
  auto tree = one_of(p, "tree", {"group", "cgroup", "pidns", "none", "auto"}, "group");
  if (!tree) return tree.error();
  // auto: a cgroup where procctx can make one, else a process group (the library falls back).
  c.tree = *tree == "group"   ? Tree::process_group
           : *tree == "none"  ? Tree::none
           : *tree == "pidns" ? Tree::pid_namespace
                              : Tree::cgroup;
  c.tree_fallback_quiet = *tree == "auto";
  return {};
}

Result<void> policy_flags(const Parsed& p, Config& c) {
  std::string error;
  if (auto v = p.value("halt")) {
    auto h = HaltPolicy::parse(*v, error);
    if (!h) return usage(bad_value("--halt", *v, error));
    c.halt = *h;
    c.halt_text = *v;
  }
  if (auto v = p.value("retry-on")) {
    auto r = RetryPolicy::parse_on(*v, error);
    if (!r) return usage(bad_value("--retry-on", *v, error));
    c.retry = *r;
  }
  if (p.has("retries")) {
    auto n = number(p, "retries", 0, 1000, "expected a number from 0 to 1000");
    if (!n) return n.error();
    c.retry.retries = static_cast<int>(*n);
  }
  auto delay = duration(p, "retry-delay", true);
  if (!delay) return delay.error();
  if (*delay) c.retry.delay = **delay;
  auto on_signal = one_of(p, "on-signal", {"soon", "now"}, "soon");
  if (!on_signal) return on_signal.error();
  c.first_signal_now = *on_signal == "now";
  return {};
}

Result<void> output_flags(const Parsed& p, Config& c) {
  c.jsonl = p.has("jsonl");
  c.strict = p.has("strict");
  c.line_buffer = p.has("line-buffer");
  c.keep_order = p.has("keep-order");
  c.quiet = p.has("quiet");
  c.tag = p.has("tag");
  c.tagstring = p.value("tagstring");
  if (c.line_buffer && c.keep_order) return usage("--line-buffer and --keep-order cannot be combined");
  auto format = one_of(p, "joblog-format", {"json", "parallel"}, "json");
  if (!format) return format.error();
  c.parallel_format = *format == "parallel";
  c.joblog = p.value("joblog");
  c.report = p.value("report");
  c.summary_json = p.value("summary-json");
  c.results = p.value("results");
  for (auto* v : {&c.joblog, &c.report, &c.summary_json, &c.results}) {
    if (*v && v->value().empty()) return usage("an output file or directory cannot be an empty name");
  }
  if (p.has("resume-failed")) {
    c.resume = Config::Resume::failed;
  } else if (p.has("resume")) {
    c.resume = Config::Resume::finished;
  }
  if (c.resume != Config::Resume::none && !c.joblog) return usage("--resume needs --joblog FILE");
  if (c.resume != Config::Resume::none && c.parallel_format) {
    return usage("--resume reads procctx's own job log; drop --joblog-format parallel");
  }
  return {};
}

}  // namespace

Result<Config> configure(const Parsed& p, const EnvLookup& env) {
  Config c;
  long cpus = ::sysconf(_SC_NPROCESSORS_ONLN);
  c.parallel = cpus > 0 ? static_cast<std::size_t>(cpus) : 1;
  for (auto step : {running_flags, policy_flags, output_flags}) {
    if (auto ok = step(p, c); !ok) return ok.error();
  }
  auto shard = shard_from(p.value("shard"), p.value("shard-count"), env);
  if (!shard) return shard.error();
  c.shard = *shard;
  if (const char* t = env("TMPDIR"); t && *t) c.tmpdir = t;
  for (const auto& [flag, value] : p.given) c.settings.emplace_back("--" + std::string{flag->long_name}, value);
  return c;
}

}  // namespace procctx::cli::batch
