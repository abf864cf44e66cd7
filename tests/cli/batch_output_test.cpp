// Where procctx batch writes: a reader that goes away, a full disk, outputs
// that cannot be written, closed stdio, few file descriptors, and --results.
#include "cli/batch_fixture.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include <sys/stat.h>

using namespace std::chrono_literals;
using json = nlohmann::json;
namespace fs = std::filesystem;

namespace {

class BatchOutput : public procctx::test::BatchTest {};

TEST_F(BatchOutput, AReaderThatGoesAwayHaltsTheRunAsASignalWould) {
  auto r = bash("$P batch -j1 -q --joblog $D/log.jsonl -- 'seq 20000; sleep 0.2; : {}' ::: $(seq 50) | head -1; "
                "echo \"status ${PIPESTATUS[0]}\"");
  EXPECT_EQ(r.out, "1\nstatus 141\n") << r.err;
  EXPECT_LT(r.wall, 8s) << "the other jobs were not run";
  auto recs = joblog(path("log.jsonl"));
  ASSERT_GE(recs.size(), 1u);
  EXPECT_LE(recs.size(), 3u);
  EXPECT_TRUE(recs.front()["stop"].is_null()) << "the first job ended by itself";
  if (recs.size() > 1) {
    EXPECT_EQ(recs.back()["stop"], "halt") << "a job running then was stopped and logged so";
  }
  EXPECT_NE(r.err.find("stdout"), std::string::npos) << r.err;
}

TEST_F(BatchOutput, WithLineBufferTooAReaderThatGoesAwayOrAFullDiskIsNoSilentSuccess) {
  auto gone = bash("$P batch -j1 -q --line-buffer -- 'seq 20000; sleep 0.2; : {}' ::: $(seq 50) | head -1; "
                   "echo \"status ${PIPESTATUS[0]}\"");
  EXPECT_EQ(gone.out, "1\nstatus 141\n") << gone.err;
  EXPECT_LT(gone.wall, 8s);
  auto full = bash("$P batch -q --line-buffer -- echo ::: a b c >/dev/full");
  EXPECT_EQ(full.status.code(), 255) << full.err;
  EXPECT_NE(full.err.find("stdout: No space left on device: the output of 3 job(s)"), std::string::npos) << full.err;
}

TEST_F(BatchOutput, AFullDiskIsReportedAndTheRunFails) {
  auto r = bash("$P batch -q --summary-json $D/s.json -- echo ::: a b c >/dev/full");
  EXPECT_EQ(r.status.code(), 255) << r.err;
  EXPECT_NE(r.err.find("No space left on device"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("3 job(s)"), std::string::npos) << "how much was lost: " << r.err;
  json s = json::parse(slurp(path("s.json")));
  EXPECT_EQ(s["exit_code"], 255);
  EXPECT_EQ(s["succeeded"], 3) << "the jobs themselves succeeded";
}

TEST_F(BatchOutput, UnwritableOutputsAreFoundBeforeTheFirstJob) {
  std::string marker = path("ran");
  write_file(path("a-file"), "");
  for (std::string flag : {"--joblog", "--summary-json", "--report", "--results"}) {
    // --results makes the directories it needs, but not under a file.
    std::string where = flag == "--results" ? path("a-file/dir") : path("missing/dir/out");
    auto r = batch({"-q", flag, where, "--", "touch", marker, ":::", "x"});
    EXPECT_EQ(r.status.code(), 255) << flag << ": " << r.err;
    EXPECT_NE(r.err.find(flag), std::string::npos) << r.err;
    EXPECT_FALSE(fs::exists(marker)) << flag << ": a job ran";
  }
  for (std::string flag : {"--joblog", "--summary-json", "--report"}) {
    auto r = batch({"-q", flag, "/dev/full", "--", "true", ":::", "x"});
    EXPECT_EQ(r.status.code(), 255) << flag << ": " << r.err;
    EXPECT_NE(r.err.find("No space left on device"), std::string::npos) << flag << ": " << r.err;
  }
}

TEST_F(BatchOutput, KeepOrderWaitsForItsTurnWithoutHoldingFileDescriptors) {
  // 600 jobs finish while the first one still runs; each waits for its turn.
  auto r = bash("ulimit -n 128; $P batch -q -k -j8 -- '[ {} = 1 ] && sleep 1; echo {}; echo e{} >&2' ::: $(seq 600)"
                " 2>$D/err");
  EXPECT_EQ(r.status.code(), 0) << slurp(path("err"));
  std::string expected, expected_err;
  for (int i = 1; i <= 600; ++i) {
    expected += std::to_string(i) + "\n";
    expected_err += "e" + std::to_string(i) + "\n";
  }
  EXPECT_EQ(r.out, expected);
  EXPECT_EQ(slurp(path("err")), expected_err);
}

TEST_F(BatchOutput, KeepOrderPassesBigWaitingOutputsThroughAPipeWhole) {
  // Jobs 2-5 wait in the spool while job 1 runs; their pages go to a pipe
  // (the capture) by sendfile while the spool gives its space back.
  auto r = batch({"-q", "-k", "-j5", "--", "[ {} = 1 ] && sleep 0.5; head -c 700000 /dev/zero | tr '\\0' {}", ":::",
                  "1", "2", "3", "4", "5"});
  EXPECT_EQ(r.status.code(), 0) << r.err;
  std::string expected;
  for (char c : std::string{"12345"}) expected += std::string(700000, c);
  EXPECT_TRUE(r.out == expected) << "output differs (" << r.out.size() << " bytes)";
}

TEST_F(BatchOutput, ALeftoverWriterNeverLandsInAnotherJobsOutput) {
  // Job 1 leaves a process outside its process group that writes later; job 2
  // runs in the same slot meanwhile.
  auto run = batch({"-q", "-j1", "-k", "--jsonl"},
                   R"({"argv": ["sh", "-c", "setsid sh -c 'sleep 0.3; echo LATE' & echo one"]})" "\n"
                   R"({"argv": ["sh", "-c", "sleep 0.8; echo two"]})" "\n");
  EXPECT_EQ(run.out, "one\ntwo\n") << run.err;
}

TEST_F(BatchOutput, LineBufferKeepsResultsToo) {
  auto r = batch({"-q", "--line-buffer", "--results", path("res"), "--", "echo out-{}; echo err-{} >&2", ":::", "a"});
  EXPECT_EQ(r.status.code(), 0) << r.err;
  EXPECT_EQ(r.out, "out-a\n");
  EXPECT_EQ(slurp(path("res/1/stdout")), "out-a\n");
  EXPECT_EQ(slurp(path("res/1/stderr")), "err-a\n");
  EXPECT_EQ(json::parse(slurp(path("res/1/meta.json")))["stdout_bytes"], 6);
}

TEST_F(BatchOutput, AClosedStdinIsNotAnEmptyJobList) {
  auto r = bash("$P batch <&-");
  EXPECT_EQ(r.status.code(), 255);
  EXPECT_NE(r.err.find("cannot read the job list"), std::string::npos) << r.err;
  auto dash = bash("$P batch - <&-");
  EXPECT_EQ(dash.status.code(), 255) << dash.err;
}

TEST_F(BatchOutput, ClosedStdioIsNeverHandedToAJob) {
  // procctx batch's own files must not take fds 0-2 when they are closed.
  auto r = bash("$P batch -q --results $D/res -- 'readlink /proc/self/fd/0 /proc/self/fd/1 /proc/self/fd/2 # {}'"
                " ::: x <&- >&- 2>&-; echo \"status $?\"");
  EXPECT_EQ(r.out, "status 255\n") << "the job's output could not be written anywhere";
  EXPECT_EQ(slurp(path("res/1/stdout")), "/dev/null\n" + path("res/1/stdout") + "\n" + path("res/1/stderr") + "\n");
  // With only stdin closed, jobs read /dev/null and everything else works.
  auto in = bash("$P batch -q -- readlink {} ::: /proc/self/fd/0 <&-");
  EXPECT_EQ(in.out, "/dev/null\n") << in.err;
  EXPECT_EQ(in.status.code(), 0);
}

}  // namespace
