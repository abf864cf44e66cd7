// The parts of procctx batch that decide without running anything:
// identities of repeated jobs, replacement strings that never touch a
// value, plain lines, shards from the environment, strict job-log reading,
// held-back starts, and GNU-style quoting.
#include "batch_input.hpp"
#include "batch_log.hpp"
#include "batch_report.hpp"
#include "batch_sched.hpp"
#include "batch_shard.hpp"
#include "batch_text.hpp"

#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <vector>

using namespace procctx::cli::batch;
using namespace std::string_literals;

namespace {

std::vector<std::string> ids_of(const JobList& list) {
  std::vector<std::string> ids;
  for (std::size_t i = 0; i < list.size(); ++i) ids.push_back(list.id(i));
  return ids;
}

TEST(BatchIdentity, RepeatedLinesAreNumberedInTheirOwnOrder) {
  JobList list = JobList::from_lines("echo x\necho y\necho x\necho x\n", false);
  auto ids = ids_of(list);
  ASSERT_EQ(ids.size(), 4u);
  EXPECT_EQ(ids[2], ids[0] + "-2");
  EXPECT_EQ(ids[3], ids[0] + "-3");
  EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), 4u);
  // Other lines moved, added or removed: the repeats keep their identities.
  auto moved = ids_of(JobList::from_lines("echo z\necho x\necho x\necho y\necho x\n", false));
  EXPECT_EQ(std::set<std::string>(moved.begin(), moved.end()),
            (std::set<std::string>{ids[0], ids[1], ids[2], ids[3], moved[0]}));
  // The first of a kind keeps the identity it always had (logs of earlier versions still resume).
  EXPECT_EQ(ids[0], identity_text(identity_hash(list.job(0)), 1));
  EXPECT_EQ(ids[0].size(), 16u);
}

TEST(BatchIdentity, AnExplicitIdUsedTwiceIsAMalformedLine) {
  JobList list = JobList::from_lines(R"({"argv": ["true"], "id": "a"})" "\n" R"({"argv": ["false"], "id": "a"})" "\n", true);
  EXPECT_EQ(list.size(), 1u);
  ASSERT_EQ(list.errors().size(), 1u);
  EXPECT_EQ(list.errors()[0].line, 2u);
  EXPECT_NE(list.errors()[0].message.find("already the id of line 1"), std::string::npos);
  EXPECT_EQ(list.last_seq(), 2u);
}

TEST(BatchTemplate, ValuesAreNeverExpanded) {
  JobList list = JobList::from_template({"cmd", "{1}", "{2}", "{%}"}, {{"{2}{%}{#}"}, {"{}{1}"}});
  Job j = list.job(0);
  EXPECT_EQ(j.argv, (std::vector<std::string>{"cmd", "{2}{%}{#}", "{}{1}", "{%}"}));
  apply_slot(j, 7);
  EXPECT_EQ(j.argv, (std::vector<std::string>{"cmd", "{2}{%}{#}", "{}{1}", "7"}));
  // In a shell line too: the slot goes where the template had {%}, the value stays quoted and whole.
  Job sh = JobList::from_template({"echo {%}; echo {}"}, {{"{%}"}}).job(0);
  EXPECT_EQ(sh.argv[2], "echo {%}; echo '{%}'");
  apply_slot(sh, 3);
  EXPECT_EQ(sh.argv[2], "echo 3; echo '{%}'");
  EXPECT_EQ(sh.command, sh.argv[2]);
}

TEST(BatchTemplate, ShellLinesAndJsonArgvAreNotTemplates) {
  Job line = JobList::from_lines("echo {%} {} {#}\n", false).job(0);
  EXPECT_TRUE(line.slot_marks.empty());
  apply_slot(line, 5);
  EXPECT_EQ(line.argv[2], "echo {%} {} {#}");
  Job json = JobList::from_lines(R"({"argv": ["echo", "{%}"]})" "\n", true).job(0);
  apply_slot(json, 5);
  EXPECT_EQ(json.argv, (std::vector<std::string>{"echo", "{%}"}));
}

TEST(BatchPlainLines, OnlyWordsTheShellWouldNotTouch) {
  using Words = std::vector<std::string>;
  EXPECT_EQ(plain_words("gzip -9 file.txt"), (Words{"gzip", "-9", "file.txt"}));
  EXPECT_EQ(plain_words("  env\tX=1  true "), (Words{"env", "X=1", "true"}));
  EXPECT_EQ(plain_words("true"), (Words{"true"}));
  for (const char* needs_a_shell : {"echo hi", "cd /tmp", "A=1 env", "ls *.txt", "a | b", "a && b", "printf %s\\n",
                                    "if true", "x $HOME", "ls ~", "exit 3", "test -f x", "kill 1", "time ls",
                                    "cat 'a b'", "caf\xc3\xa9", ""}) {
    EXPECT_TRUE(plain_words(needs_a_shell).empty()) << needs_a_shell;
  }
}

TEST(BatchInputLines, NulBytesAndSeqOfMalformedLines) {
  JobList list = JobList::from_lines("true\nbad\0line\n\n# comment\ntrue 2\n"s, false);
  ASSERT_EQ(list.size(), 2u);
  ASSERT_EQ(list.errors().size(), 1u);
  EXPECT_NE(list.errors()[0].message.find("NUL"), std::string::npos);
  EXPECT_EQ(list.job(1).seq, 3u) << "the malformed line keeps its place";
}

std::map<std::string, std::string> g_env;
const char* fake_env(const char* name) {
  auto it = g_env.find(name);
  return it == g_env.end() ? nullptr : it->second.c_str();
}

TEST(BatchShardFrom, TheEnvironmentOrAClearError) {
  struct Case {
    std::map<std::string, std::string> env;
    std::optional<std::string> count;
    std::optional<std::size_t> index, total;  // nullopt: an error
  };
  std::vector<Case> cases = {
      {{}, {}, 0, 0},
      {{{"SLURM_ARRAY_TASK_ID", "2"}, {"SLURM_ARRAY_TASK_COUNT", "4"}}, {}, 2, 4},
      {{{"SLURM_ARRAY_TASK_ID", "7"}, {"SLURM_ARRAY_TASK_MIN", "5"}, {"SLURM_ARRAY_TASK_MAX", "8"}}, {}, 2, 4},
      {{{"SLURM_ARRAY_TASK_ID", "9"}, {"SLURM_ARRAY_TASK_MIN", "1"}, {"SLURM_ARRAY_TASK_MAX", "9"},
        {"SLURM_ARRAY_TASK_STEP", "4"}, {"SLURM_ARRAY_TASK_COUNT", "3"}}, {}, 2, 3},
      {{{"SLURM_ARRAY_TASK_ID", "3"}, {"SLURM_ARRAY_TASK_COUNT", "2"}}, {}, {}, {}},
      {{{"SLURM_ARRAY_TASK_ID", "3"}}, {}, {}, {}},
      {{{"SLURM_ARRAY_TASK_ID", "7"}, {"SLURM_ARRAY_TASK_MIN", "1"}, {"SLURM_ARRAY_TASK_MAX", "7"},
        {"SLURM_ARRAY_TASK_COUNT", "3"}}, {}, {}, {}},  // --array=1,3,7: not a range
      {{{"JOB_COMPLETION_INDEX", "1"}}, "3", 1, 3},
      {{{"JOB_COMPLETION_INDEX", "3"}}, "3", {}, {}},
      {{{"JOB_COMPLETION_INDEX", "1"}}, {}, {}, {}},
      {{}, "3", {}, {}},
      {{{"CI_NODE_INDEX", "1"}, {"CI_NODE_TOTAL", "2"}}, {}, 0, 2},
      {{{"CI_NODE_INDEX", "0"}, {"CI_NODE_TOTAL", "2"}}, {}, {}, {}},
      {{{"CI_NODE_TOTAL", "2"}}, {}, {}, {}},
      {{{"CIRCLE_NODE_INDEX", "1"}, {"CIRCLE_NODE_TOTAL", "2"}}, {}, 1, 2},
      {{{"CIRCLE_NODE_INDEX", "2"}, {"CIRCLE_NODE_TOTAL", "2"}}, {}, {}, {}},
  };
  for (const auto& c : cases) {
    g_env = c.env;
    auto s = shard_from(std::nullopt, c.count, fake_env);
    std::string what = c.env.empty() ? "no env" : c.env.begin()->first + "=" + c.env.begin()->second;
    if (!c.index) {
      EXPECT_FALSE(s) << what;
      continue;
    }
    ASSERT_TRUE(s) << what << ": " << s.error().message();
    EXPECT_EQ(s->index, *c.index) << what;
    EXPECT_EQ(s->count, *c.total) << what;
  }
  g_env.clear();
  EXPECT_FALSE(shard_from(std::string{"2/2"}, std::nullopt, fake_env));
  EXPECT_EQ(shard_from(std::string{"1/2"}, std::nullopt, fake_env)->index, 1u);
}

TEST(BatchJoblogRead, OnlyWellFormedRecords) {
  nlohmann::json good = {{"schema", "procctx.joblog/1"}, {"id", "a"}, {"seq", 1}, {"command", "x"},
                         {"exit_code", 0}, {"signal", nullptr}, {"stop", nullptr}, {"slot", 1}};
  EXPECT_TRUE(parse_joblog_line(good.dump()).record);
  std::vector<std::pair<std::string, nlohmann::json>> bad = {
      {"stop", "<b>"}, {"stop", 3}, {"signal", "SIGNOPE"}, {"seq", -5}, {"seq", 0}, {"seq", 1.5},
      {"slot", 1e300}, {"exit_code", 300}, {"exit_code", "0"}, {"id", ""}, {"start", -1}, {"argv", {1, 2}},
      {"schema", "procctx.joblog/2"}, {"attempt", 0}, {"final", "yes"}};
  for (const auto& [key, value] : bad) {
    nlohmann::json j = good;
    j[key] = value;
    auto parsed = parse_joblog_line(j.dump());
    EXPECT_FALSE(parsed.record) << key << "=" << value.dump();
    EXPECT_FALSE(parsed.why.empty());
  }
  EXPECT_FALSE(parse_joblog_line("{\"torn").record);
}

TEST(BatchScheduler, AStartHeldBackIsTheNextToStart) {
  Scheduler s{{3, 2, {}, {}, 1}};
  auto now = procctx::Clock::now();
  auto a = s.next(now), b = s.next(now);
  ASSERT_TRUE(a && b);
  s.hold_back(*b);
  EXPECT_EQ(s.running(), 1u);
  EXPECT_TRUE(s.holding_back());
  auto again = s.next(now);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->job, b->job);
  EXPECT_EQ(again->attempt, 1) << "the same attempt, not a new one";
  EXPECT_FALSE(s.all_done());
}

TEST(BatchText, BadValuesAreQuotedAsGnuQuoteDoes) {
  // procctx's quote(): ASCII quotes in the C locale, ‘’ in a UTF-8 one; the escapes either way.
  std::string v = bad_value("--jobs", "a\n\x1b[31m\xff", "expected a number");
  EXPECT_EQ(v.rfind("--jobs ", 0), 0u) << v;
  EXPECT_NE(v.find("a\\n\\033[31m\\377"), std::string::npos) << v;
  EXPECT_EQ(v.find('\x1b'), std::string::npos) << v;
  EXPECT_NE(v.find(": expected a number"), std::string::npos) << v;
}

TEST(BatchSummary, SaysWhatOutputWasLost) {
  Summary s;
  s.losses.push_back({"stdout", "No space left on device", 3, 42});
  s.self_cpu = 0.5;
  auto j = nlohmann::json::parse(summary_json(s));
  EXPECT_EQ(j["output_lost"][0]["stream"], "stdout");
  EXPECT_EQ(j["output_lost"][0]["jobs"], 3);
  EXPECT_EQ(j["self_cpu_seconds"], 0.5);
}

TEST(BatchReportHtml, FailuresFirstWithTheirStderrAndTotals) {
  Summary s;
  s.total = 2;
  s.failed = 1;
  s.settings = {{"--jobs", "2"}};
  JobRecord ok, bad;
  ok.id = "a"; ok.seq = 2; ok.command = "true"; ok.exit_code = 0; ok.start = 10; ok.runtime = 1; ok.slot = 1;
  ok.user_cpu = 0.25; ok.max_rss_kib = 2048;
  bad.id = "b"; bad.seq = 1; bad.command = "false"; bad.exit_code = 1; bad.start = 10.5; bad.runtime = 2; bad.slot = 2;
  bad.sys_cpu = 0.5; bad.stderr_tail = "oops <b>\n"; bad.max_rss_kib = 1024;
  std::string html = html_report(s, {ok, bad});
  auto failures = html.find("Failed and stopped jobs (1)"), timeline = html.find("<svg"), table = html.find("id=\"jobs\"");
  ASSERT_NE(failures, std::string::npos);
  EXPECT_LT(failures, timeline);
  EXPECT_LT(timeline, table);
  EXPECT_NE(html.find("oops &lt;b&gt;"), std::string::npos);
  EXPECT_NE(html.find("class=\"legend\""), std::string::npos);
  EXPECT_NE(html.find("<code>--jobs</code>"), std::string::npos) << "the settings";
  EXPECT_NE(html.find("0.750"), std::string::npos) << "the CPU total";
  EXPECT_NE(html.find("2.0 MiB"), std::string::npos) << "the largest peak memory";
  EXPECT_LT(html.find("<td>false<td>", table), html.find("<td>true<td>", table)) << "input order";
  std::size_t ticks = 0;
  for (auto pos = html.find("<line"); pos != std::string::npos; pos = html.find("<line", pos + 1)) ++ticks;
  EXPECT_GE(ticks, 4u) << "a time axis with ticks";
}

}  // namespace

// The fuzz target's checks, on inputs chosen to break a writer that forgot
// to escape something (the fuzz target itself runs with `make fuzz`).
#include "batch_writers_check.hpp"
#include "run_report_check.hpp"

namespace {

TEST(BatchWriters, HostileBytesStayDataInEveryWriter) {
  std::vector<std::string> inputs = {
      "", "plain\x1f" "echo hi", "<script>alert(1)</script>\x1f\"'&<>\x1f</pre></td>\x1f&amp;\x1f<!--",
      "\xff\xfe\xc3(\x1f\xed\xa0\x80\x1f\xf4\x90\x80\x80\x1f\xe2\x82", "\x1b[31m\n\r\t\x1f\x7f\x01",
      "nul\0inside\x1f\0\x1f\0"s, "]]>\x1f</script><script>x()\x1f</style>"};
  std::vector<std::string> data;
  for (const auto& in : inputs) {
    for (char last : {'\0', '\x03', '\x05', '\x7f', '\xfe'}) data.push_back(in + std::string(1, last));
  }
  for (int b = 0; b < 256; ++b) data.push_back(std::string(3, static_cast<char>(b)) + "\x1f" + std::string(2, static_cast<char>(b)));
  for (const auto& d : data) EXPECT_EQ(check::check_writers(d), "") << nlohmann::json(procctx::cli::valid_utf8(d)).dump();
  // procctx run's report takes the same bytes.
  for (const auto& d : data) {
    EXPECT_EQ(procctx::cli::check::check_run_report(d), "") << nlohmann::json(procctx::cli::valid_utf8(d)).dump();
  }
}

}  // namespace

namespace {

TEST(BatchInputLines, ANumberTooLargeForJsonIsAMalformedLineNotACrash) {
  JobList list = JobList::from_lines("{\"argv\": [\"true\"], \"timeout\": 4e4444444444}\n{\"argv\": [\"true\"]}\n", true);
  EXPECT_EQ(list.size(), 1u);
  ASSERT_EQ(list.errors().size(), 1u);
  EXPECT_NE(list.errors()[0].message.find("bad JSON"), std::string::npos) << list.errors()[0].message;
}

}  // namespace
