// Groups at scale: many jobs, a big pipeline.
#include "support/process_fixture.hpp"

#include <procctx/group.hpp>

#include <gtest/gtest.h>

#include <fstream>

using procctx::Stdio;

namespace {

class GroupScale : public procctx::test::ProcessTest {};

long vm_hwm_kib() {
  std::ifstream in{"/proc/self/status"};
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

TEST_F(GroupScale, TenThousandShortJobsWithLimit64LeaveNothingBehind) {
  procctx::Group g{procctx::background(), {.limit = 64}};
  for (int i = 0; i < 10'000; ++i) g.spawn(procctx::Command{"/bin/true"});
  std::size_t ok = 0;
  for (const auto& o : g.wait()) ok += o.success();
  EXPECT_EQ(ok, 10'000u);
  EXPECT_EQ(procctx::test::Resources::now().loop_threads, 1);
}

TEST_F(GroupScale, AThreeStagePipelineMovingOneGibKeepsTheParentFlat) {
  long before = vm_hwm_kib();
  auto r = (helper_cmd({"flood-stdout", "1G"}) | helper_cmd({"echo-stdin"}) |
            helper_cmd({"count-stdin"}).out(Stdio::capture()))
               .run();
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->stages[2].out.text(), "1073741824\n");
  EXPECT_LT(vm_hwm_kib() - before, 16 * 1024) << "the data must not pass through the parent";
}

}  // namespace
