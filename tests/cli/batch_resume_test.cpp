// Resume and shards: repeated lines are distinct jobs, a torn job log is
// fenced before it is appended to, a log procctx did not write is refused,
// and a misconfigured shard runs nothing.
#include "cli/batch_fixture.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

using namespace std::chrono_literals;
using json = nlohmann::json;

namespace {

class BatchResume : public procctx::test::BatchTest {};

TEST_F(BatchResume, RepeatedLinesAreDistinctJobs) {
  std::string input = "echo same\necho same\necho same\necho same\necho same\n";
  std::string log = path("log.jsonl");
  // A run cut short after two jobs.
  auto first = batch({"-q", "-j1", "--halt", "soon,done=2", "--joblog", log}, input);
  EXPECT_EQ(first.out, "same\nsame\n") << first.err;
  ASSERT_EQ(joblog(log).size(), 2u);
  auto again = batch({"-q", "-j1", "--joblog", log, "--resume"}, input);
  EXPECT_EQ(again.out, "same\nsame\nsame\n") << "the three missing ones run" << again.err;
  auto recs = joblog(log);
  ASSERT_EQ(recs.size(), 5u);
  std::set<std::string> ids;
  for (const auto& r : recs) ids.insert(r["id"]);
  EXPECT_EQ(ids.size(), 5u);
  EXPECT_EQ(batch({"-q", "--joblog", log, "--resume"}, input).out, "") << "nothing left";
  auto merged = procctx({"batch", "merge", "-o", path("merged"), log});
  EXPECT_NE(merged.err.find("5 job(s): 5 succeeded"), std::string::npos) << merged.err;
}

TEST_F(BatchResume, RepeatedLinesKeepTheirIdentitiesWhenOtherLinesMove) {
  std::string log = path("log.jsonl");
  batch({"-q", "-j1", "--joblog", log}, "echo same\necho a\necho same\necho b\n");
  // Other lines reordered, one more repeat at the end: only that one is new.
  auto again = batch({"-q", "-j1", "--joblog", log, "--resume"}, "echo b\necho same\necho a\necho same\necho same\n");
  EXPECT_EQ(again.out, "same\n") << again.err;
}

TEST_F(BatchResume, ATornLastLineIsFencedBeforeAppending) {
  std::string input = "echo one\necho two\necho three\n";
  std::string log = path("log.jsonl");
  batch({"-q", "-j1", "--joblog", log}, input);
  // A crash (or a full disk) cut the last record in the middle.
  std::string text = slurp(log);
  auto last_start = text.rfind('\n', text.size() - 2) + 1;
  write_file(log, text.substr(0, last_start + (text.size() - last_start) / 2));
  auto again = batch({"-q", "-j1", "--joblog", log, "--resume"}, input);
  EXPECT_EQ(again.out, "three\n") << again.err;
  EXPECT_NE(again.err.find("last line"), std::string::npos) << again.err;
  // Every whole line is still a record, and the next resume has nothing to do.
  std::istringstream lines{slurp(log)};
  int records = 0, torn = 0;
  for (std::string l; std::getline(lines, l);) {
    try {
      EXPECT_TRUE(json::parse(l).is_object());
      ++records;
    } catch (const json::exception&) {
      ++torn;
    }
  }
  EXPECT_EQ(records, 3);
  EXPECT_EQ(torn, 1);
  EXPECT_EQ(batch({"-q", "--joblog", log, "--resume"}, input).out, "") << "no job runs twice";
}

TEST_F(BatchResume, ALogInAnotherFormatIsRefused) {
  std::string input = "echo one\n";
  for (const std::string& content :
       {std::string{"Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand\n"
                    "1\t:\t1700000000.000\t     0.001\t0\t4\t0\t0\techo one\n"},
        std::string{"this is not a job log\n"}}) {
    std::string log = path("foreign.log");
    write_file(log, content);
    auto r = batch({"-q", "--joblog", log, "--resume"}, input);
    EXPECT_EQ(r.status.code(), 255) << r.err;
    EXPECT_EQ(r.out, "") << "nothing ran";
    EXPECT_NE(r.err.find("--resume"), std::string::npos) << r.err;
    EXPECT_EQ(slurp(log), content) << "the log is left as it was";
  }
}

TEST_F(BatchResume, SeqIsThePositionInTheInputCountingMalformedLines) {
  std::string log = path("log.jsonl");
  auto r = batch({"-q", "--jsonl", "--joblog", log}, "{\"argv\": [\"true\"]}\n{bad\n\n{\"argv\": [\"true\", \"x\"]}\n");
  EXPECT_EQ(r.status.code(), 1);
  auto recs = joblog(log);
  ASSERT_EQ(recs.size(), 2u);
  std::set<int> seqs{recs[0]["seq"].get<int>(), recs[1]["seq"].get<int>()};
  EXPECT_EQ(seqs, (std::set<int>{1, 3})) << "the malformed line is job 2; the blank line is no job";
}

class BatchShards : public procctx::test::BatchTest {};

TEST_F(BatchShards, AMisconfiguredShardRunsNothing) {
  struct Case {
    std::vector<std::pair<std::string, std::string>> env;
    std::vector<std::string> args;
    std::vector<std::string> named;  // what the message must name
  };
  std::vector<Case> cases = {
      {{{"SLURM_ARRAY_TASK_ID", "3"}, {"SLURM_ARRAY_TASK_COUNT", "2"}}, {}, {"SLURM_ARRAY_TASK_ID", "SLURM_ARRAY_TASK_COUNT"}},
      {{{"SLURM_ARRAY_TASK_ID", "x"}}, {}, {"SLURM_ARRAY_TASK_ID"}},
      {{{"CI_NODE_INDEX", "0"}, {"CI_NODE_TOTAL", "2"}}, {}, {"CI_NODE_INDEX", "CI_NODE_TOTAL", "1-based"}},
      {{{"CI_NODE_INDEX", "3"}, {"CI_NODE_TOTAL", "2"}}, {}, {"CI_NODE_INDEX", "CI_NODE_TOTAL"}},
      {{{"CI_NODE_INDEX", "1"}}, {}, {"CI_NODE_TOTAL"}},
      {{{"CIRCLE_NODE_INDEX", "2"}, {"CIRCLE_NODE_TOTAL", "2"}}, {}, {"CIRCLE_NODE_INDEX"}},
      {{{"JOB_COMPLETION_INDEX", "x"}}, {"--shard-count", "2"}, {"JOB_COMPLETION_INDEX"}},
      {{{"JOB_COMPLETION_INDEX", "1"}}, {}, {"JOB_COMPLETION_INDEX", "--shard-count"}},
      {{{"JOB_COMPLETION_INDEX", "2"}}, {"--shard-count", "2"}, {"JOB_COMPLETION_INDEX", "--shard-count"}},
      {{}, {"--shard-count", "bogus"}, {"--shard-count", "'bogus'"}},
      {{}, {"--shard", "1/x"}, {"--shard", "'1/x'"}},
  };
  for (const auto& c : cases) {
    std::vector<std::string> args{"-q"};
    args.insert(args.end(), c.args.begin(), c.args.end());
    args.insert(args.end(), {"--", "echo", ":::", "a", "b"});
    auto r = batch(args, "", c.env);
    std::string what = c.env.empty() ? c.args[0] : c.env[0].first + "=" + c.env[0].second;
    EXPECT_EQ(r.status.code(), 255) << what << ": " << r.err;
    EXPECT_EQ(r.out, "") << what;
    for (const auto& name : c.named) EXPECT_NE(r.err.find(name), std::string::npos) << what << ": " << r.err;
  }
}

TEST_F(BatchShards, ASlurmArrayWithAStepGivesEveryJobOneShard) {
  std::string input;
  for (int i = 0; i < 30; ++i) input += "echo " + std::to_string(i) + "\n";
  std::multiset<std::string> seen;
  for (int id : {10, 14, 18}) {  // --array=10-18:4
    auto r = batch({"-q"}, input,
                   {{"SLURM_ARRAY_TASK_ID", std::to_string(id)}, {"SLURM_ARRAY_TASK_COUNT", "3"},
                    {"SLURM_ARRAY_TASK_MIN", "10"}, {"SLURM_ARRAY_TASK_MAX", "18"}, {"SLURM_ARRAY_TASK_STEP", "4"}});
    EXPECT_EQ(r.status.code(), 0) << r.err;
    auto l = lines_of(r.out);
    seen.insert(l.begin(), l.end());
  }
  EXPECT_EQ(seen.size(), 30u);
  EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()).size(), 30u);
}

}  // namespace
