// procctx batch against hostile input: bytes that are not UTF-8, NUL,
// control characters in flag values, forged job logs, planted symlinks, and
// values that make no sense.
#include "cli/batch_fixture.hpp"

#include "json_text.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include <sys/stat.h>

using namespace std::chrono_literals;
using json = nlohmann::json;
namespace fs = std::filesystem;

namespace {

const std::string kReplacement = "\xef\xbf\xbd";  // U+FFFD

class BatchHostile : public procctx::test::BatchTest {
 protected:
  static bool valid_utf8(const std::string& s) { return procctx::cli::valid_utf8(s) == s; }
};

TEST_F(BatchHostile, EveryReportStaysValidWhateverTheBytes) {
  std::string jobs = path("jobs");
  write_file(jobs, "echo 'a\xff'; printf 'tail\\377\\n' >&2; exit 3\necho '\xc3('\n");
  auto r = batch({"-q", "-j1", "--joblog", path("log.jsonl"), "--summary-json", path("s.json"), "--report",
                  path("r.html"), "--results", path("res"), jobs});
  EXPECT_EQ(r.status.code(), 1) << r.err;
  EXPECT_EQ(r.out, "a\xff\n\xc3(\n") << "the jobs' own bytes pass through untouched";
  auto recs = joblog(path("log.jsonl"));
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_EQ(json::parse(slurp(path("s.json")))["failed"], 1);
  for (const char* seq : {"1", "2"}) {
    json meta = json::parse(slurp(path(std::string{"res/"} + seq + "/meta.json")));
    EXPECT_TRUE(meta["command"].get<std::string>().find(kReplacement) != std::string::npos) << meta;
  }
  std::string html = slurp(path("r.html"));
  EXPECT_TRUE(valid_utf8(html));
  EXPECT_NE(html.find("tail" + kReplacement), std::string::npos) << "the failed job's stderr tail";
}

TEST_F(BatchHostile, BadValuesAreQuotedAsGnuToolsDo) {
  for (std::string flag : {"--tree", "--halt", "--jobs", "--retry-on", "--stop", "--timeout", "--deadline",
                                  "--joblog-format", "--on-signal", "--shard", "--retries", "--retry-delay"}) {
    auto r = batch({"-q", flag + "=a\n\x1b[31m", "--", "true", ":::", "x"});
    EXPECT_EQ(r.status.code(), 255) << flag;
    EXPECT_NE(r.err.find(flag + " '"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("'a\\n\\033[31m'"), std::string::npos) << flag << ": " << r.err;
    EXPECT_EQ(r.err.find('\x1b'), std::string::npos) << flag << ": a raw escape reached the terminal";
  }
}

TEST_F(BatchHostile, MessagesNameFlagsNotTheLibrary) {
  for (std::vector<std::string> args : std::vector<std::vector<std::string>>{
           {"--stop", "TERM,x"}, {"--timeout", "5 parsecs"}, {"--retry-delay", "-1"}, {"--deadline", "0"}}) {
    args.insert(args.begin(), "-q");
    args.insert(args.end(), {"--", "true", ":::", "x"});
    auto r = batch(args);
    EXPECT_EQ(r.status.code(), 255) << args[1];
    EXPECT_NE(r.err.find(args[1] + " '"), std::string::npos) << r.err;
    for (const char* api : {"::", "StopSequence", "parse_duration", "Duration"}) {
      EXPECT_EQ(r.err.find(api), std::string::npos) << r.err;
    }
  }
}

TEST_F(BatchHostile, ANulInsideAJsonLineRefusesTheLine) {
  std::string marker = path("ran");
  auto r = batch({"-q", "--jsonl", "--joblog", path("log.jsonl")},
                 R"({"argv": ["touch", ")" + marker + R"(\u0000x"]})" "\n"
                 R"({"argv": ["touch", ")" + marker + R"("], "env": {"A": "1\u00002"}})" "\n"
                 R"({"argv": ["touch", ")" + marker + R"("], "env": {"A\u0000B": "1"}})" "\n"
                 R"({"argv": ["touch", ")" + marker + R"("], "cwd": "/tmp\u0000/x"})" "\n");
  EXPECT_EQ(r.status.code(), 4) << r.err;
  EXPECT_FALSE(fs::exists(marker)) << "no line ran";
  for (const char* line : {"line 1: ", "line 2: ", "line 3: ", "line 4: "}) {
    auto at = r.err.find(line);
    ASSERT_NE(at, std::string::npos) << r.err;
    EXPECT_NE(r.err.substr(at, r.err.find('\n', at) - at).find("NUL"), std::string::npos) << r.err;
  }
  // A shell line or a :::: argument with a NUL is refused too.
  auto shell = batch({"-q"}, std::string{"touch "} + marker + std::string{"\0x\n", 3});
  EXPECT_EQ(shell.status.code(), 1) << shell.err;
  EXPECT_NE(shell.err.find("NUL"), std::string::npos) << shell.err;
  write_file(path("args"), std::string{"a\0b\n", 4});
  auto arg = batch({"-q", "--", "touch", "::::", path("args")});
  EXPECT_NE(arg.status.code(), 0);
  EXPECT_FALSE(fs::exists(marker));
}

TEST_F(BatchHostile, MergeEscapesEveryFieldAndRefusesUnknownEnumerations) {
  auto record = [](json overrides) {
    json r = {{"schema", "procctx.joblog/1"}, {"id", "a"}, {"seq", 1}, {"command", "true"}, {"argv", {"true"}},
              {"start", 1700000000.0}, {"runtime", 0.5}, {"exit_code", 0}, {"signal", nullptr}, {"stop", nullptr},
              {"attempt", 1}, {"final", true}, {"user_cpu", 0.0}, {"sys_cpu", 0.0}, {"max_rss_kib", 100},
              {"stdout_bytes", 0}, {"stderr_bytes", 0}, {"slot", 1}, {"shard", nullptr}, {"host", "h"}};
    for (auto& [k, v] : overrides.items()) r[k] = v;
    return r.dump() + "\n";
  };
  std::string evil = "<script>alert(1)</script>\"'&";
  write_file(path("log"),
             record({{"id", "evil-text"}, {"command", evil}, {"host", evil}, {"shard", evil}, {"argv", {evil}}}) +
                 record({{"id", "evil-stop"}, {"seq", 2}, {"stop", evil}}) +
                 record({{"id", "evil-signal"}, {"seq", 3}, {"signal", evil}, {"exit_code", nullptr}}) +
                 record({{"id", "negative"}, {"seq", -5}}) +
                 record({{"id", "huge-slot"}, {"seq", 4}, {"slot", 1e300}}) +
                 record({{"id", evil}, {"seq", 5}, {"exit_code", 3}}));
  auto m = procctx({"batch", "merge", "-o", path("merged"), "--report", path("r.html"), "--summary-json",
                    path("s.json"), path("log")});
  EXPECT_EQ(m.status.code(), 1) << m.err;
  EXPECT_NE(m.err.find("4 line(s) not understood"), std::string::npos) << m.err;
  std::string html = slurp(path("r.html"));
  EXPECT_EQ(html.find("<script>alert"), std::string::npos);
  EXPECT_EQ(html.find(evil), std::string::npos);
  EXPECT_NE(html.find("&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;&amp;"), std::string::npos);
  auto merged = joblog(path("merged"));
  ASSERT_EQ(merged.size(), 2u);
  for (const auto& r : merged) EXPECT_GE(r["seq"].get<long>(), 1);
  EXPECT_EQ(json::parse(slurp(path("s.json")))["total"], 2);
}

TEST_F(BatchHostile, ResultsNeverFollowAPlantedSymlink) {
  std::string res = path("res"), elsewhere = path("elsewhere"), victim = path("victim");
  fs::create_directories(res + "/1");
  fs::create_directories(elsewhere);
  write_file(victim, "precious\n");
  fs::create_symlink(victim, res + "/1/stdout");
  fs::create_symlink(elsewhere, res + "/2");
  auto r = batch({"-q", "-j1", "--results", res, "--", "echo", "overwritten", ":::", "a", "b", "c"});
  EXPECT_EQ(slurp(victim), "precious\n");
  EXPECT_TRUE(fs::is_empty(elsewhere));
  EXPECT_NE(r.status.code(), 0);
  EXPECT_NE(r.err.find("symbolic link"), std::string::npos) << r.err;
  EXPECT_EQ(slurp(res + "/3/stdout"), "overwritten c\n") << "the jobs with nothing in the way run";
  // A file left by an earlier run, hard-linked elsewhere, is replaced, not written through.
  fs::create_directories(path("res2/1"));
  fs::create_hard_link(victim, path("res2/1/stderr"));
  auto again = batch({"-q", "--results", path("res2"), "--", "echo new >&2; : {}", ":::", "a"});
  EXPECT_EQ(again.status.code(), 0) << again.err;
  EXPECT_EQ(slurp(victim), "precious\n");
  EXPECT_EQ(slurp(path("res2/1/stderr")), "new\n");
}

TEST_F(BatchHostile, NonsenseGetsAClearErrorNamingTheFlagAndValue) {
  struct Case {
    std::vector<std::string> args;
    std::vector<std::string> named;
  };
  fs::create_directories(path("adir"));
  std::vector<Case> cases = {
      {{"--halt=0", "--", "true", ":::", "x"}, {"--halt", "'0'"}},
      {{"--halt=2", "--", "true", ":::", "x"}, {"--halt", "'2'", "now,fail=1"}},
      {{"--jobs=-1", "--", "true", ":::", "x"}, {"--jobs", "'-1'"}},
      {{"--retries=x", "--", "true", ":::", "x"}, {"--retries", "'x'"}},
      {{"--", "true", "::::", path("adir")}, {"::::", path("adir")}},
      {{"--", "true", "::::"}, {"::::"}},
      {{"--", "true", ":::", "a", "::::"}, {"::::"}},
      {{path("adir")}, {path("adir")}},
  };
  for (const auto& c : cases) {
    std::vector<std::string> args{"-q"};
    args.insert(args.end(), c.args.begin(), c.args.end());
    auto r = batch(args);
    EXPECT_EQ(r.status.code(), 255) << c.args[0] << ": " << r.err;
    for (const auto& n : c.named) EXPECT_NE(r.err.find(n), std::string::npos) << c.args[0] << ": " << r.err;
  }
  auto merge_dir = procctx({"batch", "merge", path("adir")});
  EXPECT_EQ(merge_dir.status.code(), 255) << merge_dir.err;
  EXPECT_NE(merge_dir.err.find("is a directory"), std::string::npos) << merge_dir.err;
  auto merge_missing = procctx({"batch", "merge", path("nope")});
  EXPECT_EQ(merge_missing.status.code(), 255) << merge_missing.err;
}

}  // namespace
