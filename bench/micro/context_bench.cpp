// Context cost beside std::stop_source: derive a child from a live parent,
// register a callback, cancel — against stop_source + stop_callback +
// request_stop. Prints the ratio (target <= 1.5).
#include <procctx/context.hpp>

#include <benchmark/benchmark.h>

#include <cstdio>
#include <stop_token>

namespace {

void BM_procctx_derive_register_cancel(benchmark::State& state) {
  auto [parent, cancel_parent] = procctx::with_cancel(procctx::background());
  int hits = 0;
  for (auto _ : state) {
    auto [ctx, cancel] = procctx::with_cancel(parent);
    auto reg = ctx.on_done([&hits] { ++hits; });
    cancel();
  }
  benchmark::DoNotOptimize(hits);
}
BENCHMARK(BM_procctx_derive_register_cancel);

void BM_stop_source_callback_request(benchmark::State& state) {
  int hits = 0;
  for (auto _ : state) {
    std::stop_source src;
    std::stop_callback cb{src.get_token(), [&hits] { ++hits; }};
    src.request_stop();
  }
  benchmark::DoNotOptimize(hits);
}
BENCHMARK(BM_stop_source_callback_request);

// Deriving alone, to show it makes no syscall (compare with the above).
void BM_procctx_derive_only(benchmark::State& state) {
  auto [parent, cancel_parent] = procctx::with_cancel(procctx::background());
  for (auto _ : state) {
    auto wc = procctx::with_cancel(parent);
    benchmark::DoNotOptimize(wc);
  }
}
BENCHMARK(BM_procctx_derive_only);

class RatioReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const auto& r : runs) {
      if (r.run_type != Run::RT_Iteration) continue;
      double ns = r.GetAdjustedRealTime();
      if (r.benchmark_name().find("procctx_derive_register") != std::string::npos) ours_ = ns;
      if (r.benchmark_name().find("stop_source") != std::string::npos) std_ = ns;
    }
  }
  void Finalize() override {
    ConsoleReporter::Finalize();
    if (ours_ > 0 && std_ > 0) {
      std::printf(
          "\ncontext ratio: procctx %.1f ns / std::stop_source %.1f ns = %.2fx (target <= 1.50x) %s\n", ours_,
          std_, ours_ / std_, ours_ / std_ <= 1.5 ? "MET" : "MISSED");
    }
  }

 private:
  double ours_ = 0, std_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  RatioReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  return 0;
}
