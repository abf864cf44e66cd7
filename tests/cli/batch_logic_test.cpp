// procctx batch's decisions without processes: parsing the input and the
// policies, the scheduler driven by a fake runner, identities and shards,
// and the logs and reports read back.
#include "batch_input.hpp"
#include "batch_log.hpp"
#include "batch_report.hpp"
#include "batch_sched.hpp"
#include "batch_shard.hpp"
#include "batch_text.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <sstream>

using namespace procctx::cli::batch;
using namespace std::chrono_literals;

namespace {

TEST(BatchInput, ShellLinesSkipBlanksAndComments) {
  JobList input = JobList::from_lines("echo a\n\n# a comment\n  echo b  \n", false);
  ASSERT_EQ(input.size(), 2u);
  EXPECT_EQ(input.job(0).argv, (std::vector<std::string>{"/bin/sh", "-c", "echo a"}));
  EXPECT_EQ(input.job(1).command, "echo b");
  EXPECT_EQ(input.job(1).line, 4u);
  EXPECT_EQ(input.job(1).seq, 2u);
  EXPECT_TRUE(input.errors().empty());
}

TEST(BatchInput, JsonLinesWithEveryFieldAndErrorsByLine) {
  std::string in{
      R"({"argv": ["printf", "%s", "x y"], "id": "job-1", "cwd": "/tmp", "env": {"A": "1"}, "timeout": "2s"})"
      "\n{not json\n"
      R"({"argv": []})"
      "\n"
      R"({"argv": ["true"], "colour": "red"})"
      "\n"
      R"({"argv": ["true"], "timeout": "soon"})"
      "\n"
      R"(["true"])"
      "\n"};
  JobList list = JobList::from_lines(in, true);
  ASSERT_EQ(list.size(), 1u);
  const Job j = list.job(0);
  const auto& errors = list.errors();
  EXPECT_EQ(j.id, "job-1");
  EXPECT_EQ(j.argv, (std::vector<std::string>{"printf", "%s", "x y"}));
  EXPECT_EQ(j.cwd, "/tmp");
  EXPECT_EQ(j.env, (std::vector<std::pair<std::string, std::string>>{{"A", "1"}}));
  EXPECT_EQ(j.timeout, std::chrono::duration_cast<procctx::Duration>(2s));
  ASSERT_EQ(errors.size(), 5u);
  EXPECT_EQ(errors[0].line, 2u);
  EXPECT_NE(errors[0].message.find("bad JSON"), std::string::npos);
  EXPECT_EQ(errors[1].line, 3u);
  EXPECT_NE(errors[1].message.find("\"argv\" is missing or empty"), std::string::npos);
  EXPECT_EQ(errors[2].line, 4u);
  EXPECT_NE(errors[2].message.find("unknown field \"colour\""), std::string::npos);
  EXPECT_EQ(errors[3].line, 5u);
  EXPECT_NE(errors[3].message.find("timeout"), std::string::npos);
  EXPECT_EQ(errors[4].line, 6u);
}

TEST(BatchInput, CartesianProductFirstSourceSlowest) {
  JobList input = JobList::from_template({"true", "{1}-{2}"}, {{"a", "b"}, {"1", "2", "3"}});
  std::vector<std::string> got;
  for (std::size_t i = 0; i < input.size(); ++i) got.push_back(input.job(i).argv.back());
  EXPECT_EQ(got, (std::vector<std::string>{"a-1", "a-2", "a-3", "b-1", "b-2", "b-3"}));
  EXPECT_EQ(input.job(4).seq, 5u);
  EXPECT_EQ(input.job(4).args, (std::vector<std::string>{"b", "2"}));
}

TEST(BatchInput, ReplacementStrings) {
  JobList input = JobList::from_template({"cmd", "{}", "{.}", "{/}", "{//}", "{/.}", "{#}", "{%}"}, {{"dir/sub/file.tar.gz"}});
  ASSERT_EQ(input.size(), 1u);
  Job j = input.job(0);
  EXPECT_EQ(j.argv, (std::vector<std::string>{"cmd", "dir/sub/file.tar.gz", "dir/sub/file.tar", "file.tar.gz",
                                              "dir/sub", "file.tar", "1", "{%}"}));
  apply_slot(j, 2);
  EXPECT_EQ(j.argv.back(), "2");
  EXPECT_EQ(j.command, "cmd dir/sub/file.tar.gz dir/sub/file.tar file.tar.gz dir/sub file.tar 1 2");
  // No replacement string: the arguments are appended.
  JobList appended = JobList::from_template({"gzip", "-k"}, {{"x"}});
  EXPECT_EQ(appended.job(0).argv, (std::vector<std::string>{"gzip", "-k", "x"}));
}

TEST(BatchInput, ArgumentsAreQuotedWhenAShellRunsTheJob) {
  // "%s\n" needs a shell (a backslash), so the job runs with sh -c.
  JobList input = JobList::from_template({"printf", "'%s\\n'", "{}"}, {{"it's $HOME `x` ;rm -rf /"}});
  ASSERT_EQ(input.size(), 1u);
  EXPECT_EQ(input.job(0).argv[0], "/bin/sh");
  EXPECT_EQ(input.job(0).argv[2], "printf '%s\\n' 'it'\\''s $HOME `x` ;rm -rf /'");
  // Shell builtins always go through the shell.
  EXPECT_EQ(JobList::from_template({"echo", "{}"}, {{"a"}}).job(0).argv[0], "/bin/sh");
  EXPECT_EQ(JobList::from_template({"true", "{}"}, {{"a"}}).job(0).argv[0], "true");
}

TEST(BatchInput, IdentityIsStableAndShardsPartition) {
  JobList a = JobList::from_template({"true", "{}"}, {{"1", "2", "3", "4", "5", "6", "7", "8", "9", "10"}});
  JobList b = JobList::from_template({"true", "{}"}, {{"10", "9", "8", "7", "6", "5", "4", "3", "2", "1"}});
  std::set<std::string> ids_a, ids_b;
  for (std::size_t i = 0; i < a.size(); ++i) ids_a.insert(a.id(i));
  for (std::size_t i = 0; i < b.size(); ++i) ids_b.insert(b.id(i));
  EXPECT_EQ(ids_a, ids_b) << "reordering the input keeps identities";
  EXPECT_EQ(ids_a.size(), 10u);
  std::size_t in_shards = 0;
  for (std::size_t i = 0; i < 3; ++i) {
    for (const auto& id : ids_a) in_shards += shard_of(id, 3) == i ? 1u : 0u;
  }
  EXPECT_EQ(in_shards, 10u);
  Job with_env = a.job(0);
  with_env.env.emplace_back("A", "1");
  EXPECT_NE(identity_text(identity_hash(with_env), 1), a.id(0));
}

TEST(BatchPolicy, Halt) {
  std::string error;
  auto h = HaltPolicy::parse("now,fail=30%", error);
  ASSERT_TRUE(h) << error;
  EXPECT_EQ(h->when, HaltPolicy::When::now);
  EXPECT_TRUE(h->percent);
  EXPECT_EQ(h->threshold, 30);
  EXPECT_TRUE(HaltPolicy::parse("soon,success=2", error));
  EXPECT_TRUE(HaltPolicy::parse("never", error));
  for (const char* bad : {"sometime", "now", "now,fail", "now,fail=0", "soon,fail=150%", "now,oops=1"}) {
    EXPECT_FALSE(HaltPolicy::parse(bad, error)) << bad;
    EXPECT_FALSE(error.empty());
  }
}

TEST(BatchPolicy, RetryOn) {
  std::string error;
  auto r = RetryPolicy::parse_on("1-3,7,KILL,timeout", error);
  ASSERT_TRUE(r) << error;
  EXPECT_EQ(r->exit_codes, (std::set<int>{1, 2, 3, 7}));
  EXPECT_EQ(r->signals, (std::set<int>{SIGKILL}));
  EXPECT_TRUE(r->timeout);
  EXPECT_FALSE(r->any);
  EXPECT_FALSE(RetryPolicy::parse_on("3-1", error));
  EXPECT_FALSE(RetryPolicy::parse_on("NOTASIGNAL", error));
}

// A fake runner: starts what the scheduler offers and ends attempts as told.
struct Fake {
  explicit Fake(Scheduler::Options o) : s(o) {}
  std::vector<Scheduler::Start> start_all(procctx::TimePoint now) {
    std::vector<Scheduler::Start> started;
    while (auto st = s.next(now)) started.push_back(*st);
    return started;
  }
  Scheduler s;
};

AttemptEnd exit_with(int code) {
  AttemptEnd e;
  e.exit_code = code;
  return e;
}

TEST(BatchScheduler, NeverMoreThanTheLimitAndSlotsAreReused) {
  Fake f{{10, 3, {}, {}, 1}};
  auto now = procctx::Clock::now();
  auto first = f.start_all(now);
  ASSERT_EQ(first.size(), 3u);
  EXPECT_EQ(f.s.running(), 3u);
  std::set<std::size_t> slots;
  for (const auto& st : first) slots.insert(st.slot);
  EXPECT_EQ(slots, (std::set<std::size_t>{1, 2, 3}));
  f.s.finished(first[1].job, first[1].slot, exit_with(0), now);
  auto next = f.start_all(now);
  ASSERT_EQ(next.size(), 1u);
  EXPECT_EQ(next[0].slot, first[1].slot);
  EXPECT_EQ(next[0].job, 3u);
}

TEST(BatchScheduler, HaltSoonStartsNothingNewButLetsRunningFinish) {
  std::string error;
  Fake f{{5, 2, *HaltPolicy::parse("soon,fail=1", error), {}, 1}};
  auto now = procctx::Clock::now();
  auto st = f.start_all(now);
  f.s.finished(st[0].job, st[0].slot, exit_with(1), now);
  EXPECT_TRUE(f.s.halted());
  EXPECT_FALSE(f.s.take_stop_request());
  EXPECT_TRUE(f.start_all(now).empty());
  EXPECT_FALSE(f.s.all_done()) << "one still runs";
  f.s.finished(st[1].job, st[1].slot, exit_with(0), now);
  EXPECT_TRUE(f.s.all_done());
  EXPECT_EQ(f.s.not_started(), 3u);
  EXPECT_EQ(f.s.failed(), 1u);
}

TEST(BatchScheduler, HaltNowAsksToStopRunningJobs) {
  std::string error;
  Fake f{{4, 2, *HaltPolicy::parse("now,fail=50%", error), {}, 1}};
  auto now = procctx::Clock::now();
  auto st = f.start_all(now);
  f.s.finished(st[0].job, st[0].slot, exit_with(2), now);
  EXPECT_FALSE(f.s.halted()) << "1 of 4 is 25%";
  auto more = f.start_all(now);
  f.s.finished(more[0].job, more[0].slot, exit_with(2), now);
  EXPECT_TRUE(f.s.halted());
  EXPECT_TRUE(f.s.take_stop_request());
  EXPECT_FALSE(f.s.take_stop_request()) << "asked once";
}

TEST(BatchScheduler, RetriesWithGrowingBackoffButNever126Or127) {
  RetryPolicy r;
  r.retries = 2;
  r.delay = 100ms;
  Fake f{{2, 2, {}, r, 7}};
  auto now = procctx::Clock::now();
  auto st = f.start_all(now);
  auto again = f.s.finished(st[0].job, st[0].slot, exit_with(1), now);
  ASSERT_TRUE(again);
  EXPECT_GE(*again - now, 50ms);
  EXPECT_LT(*again - now, 100ms);
  EXPECT_FALSE(f.s.finished(st[1].job, st[1].slot, exit_with(127), now)) << "127 is never retried";
  EXPECT_TRUE(f.start_all(now).empty()) << "not yet due";
  auto second = f.start_all(*again);
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[0].attempt, 2);
  auto third_at = f.s.finished(second[0].job, second[0].slot, exit_with(1), *again);
  ASSERT_TRUE(third_at);
  EXPECT_GE(*third_at - *again, 100ms) << "doubled";
  auto third = f.start_all(*third_at);
  ASSERT_EQ(third.size(), 1u);
  EXPECT_FALSE(f.s.finished(third[0].job, third[0].slot, exit_with(1), *third_at)) << "out of retries";
  EXPECT_TRUE(f.s.all_done());
  EXPECT_EQ(f.s.failed(), 2u);
}

TEST(BatchScheduler, RetryOnlyWhatRetryOnNames) {
  std::string error;
  RetryPolicy r = *RetryPolicy::parse_on("4,timeout", error);
  r.retries = 1;
  Fake f{{3, 3, {}, r, 1}};
  auto now = procctx::Clock::now();
  auto st = f.start_all(now);
  EXPECT_FALSE(f.s.finished(st[0].job, st[0].slot, exit_with(3), now));
  EXPECT_TRUE(f.s.finished(st[1].job, st[1].slot, exit_with(4), now));
  AttemptEnd timed_out;
  timed_out.signal = SIGTERM;
  timed_out.timed_out = true;
  EXPECT_TRUE(f.s.finished(st[2].job, st[2].slot, timed_out, now));
}

TEST(BatchScheduler, ExitCodeConvention) {
  EXPECT_EQ(batch_exit_code(0), 0);
  EXPECT_EQ(batch_exit_code(7), 7);
  EXPECT_EQ(batch_exit_code(100), 100);
  EXPECT_EQ(batch_exit_code(101), 101);
  EXPECT_EQ(batch_exit_code(5000), 101);
}

JobRecord record(std::string id, std::size_t seq, int code, double start, bool final = true) {
  JobRecord r;
  r.id = std::move(id);
  r.seq = seq;
  r.command = "cmd <" + std::to_string(seq) + ">";
  r.argv = {"cmd", std::to_string(seq)};
  r.exit_code = code;
  r.start = start;
  r.runtime = 0.5;
  r.final = final;
  r.slot = 1;
  return r;
}

TEST(BatchLog, RoundTripAndLastOutcomes) {
  std::string text = joblog_line(record("a", 1, 1, 10, false)) + joblog_line(record("a", 1, 0, 11)) +
                     joblog_line(record("b", 2, 3, 12)) + "{\"truncated\n";
  std::istringstream in{text};
  std::size_t skipped = 0;
  auto recs = read_joblog(in, skipped);
  ASSERT_EQ(recs.size(), 3u);
  EXPECT_EQ(skipped, 1u);
  EXPECT_EQ(recs[2].command, "cmd <2>");
  EXPECT_EQ(recs[2].exit_code, 3);
  auto last = last_outcomes(recs);
  ASSERT_EQ(last.size(), 2u);
  EXPECT_TRUE(last["a"].success());
  EXPECT_FALSE(last["b"].success());
}

TEST(BatchLog, ParallelFormatHasNineColumns) {
  EXPECT_EQ(parallel_joblog_header(), "Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand\n");
  JobRecord r = record("a", 3, 2, 1700000000.25);
  r.out_bytes = 42;
  EXPECT_EQ(parallel_joblog_line(r), "3\t:\t1700000000.250\t     0.500\t0\t42\t2\t0\tcmd <3>\n");
}

TEST(BatchLog, HtmlReportNamesEveryJobEscaped) {
  Summary s;
  s.total = 2;
  std::vector<JobRecord> recs{record("a", 1, 0, 10), record("b", 2, 1, 10.2)};
  std::string html = html_report(s, recs);
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_NE(html.find("cmd &lt;1&gt;"), std::string::npos);
  EXPECT_NE(html.find("cmd &lt;2&gt;"), std::string::npos);
  EXPECT_EQ(html.find("cmd <1>"), std::string::npos);
  std::size_t rects = 0;
  for (auto pos = html.find("<rect"); pos != std::string::npos; pos = html.find("<rect", pos + 1)) ++rects;
  EXPECT_EQ(rects, 2u);
  EXPECT_NE(html.find("</svg>"), std::string::npos);
  EXPECT_NE(html.find("</html>"), std::string::npos);
  EXPECT_EQ(html.find("http://"), html.find("http://www.w3.org/2000/svg")) << "no network access needed";
}

}  // namespace
