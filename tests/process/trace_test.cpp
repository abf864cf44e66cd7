// Tracing: the Chrome trace-event file that trace::start()/stop() and
// PROCCTX_TRACE write, read back with a strict JSON parser.
#include "support/process_fixture.hpp"
#include "support/trace_file.hpp"

#include <procctx/diagnostics.hpp>
#include <procctx/group.hpp>

#include <gtest/gtest.h>

#include <csignal>
#include <cstdio>
#include <sstream>
#include <string>

#include <unistd.h>

using namespace std::chrono_literals;
using procctx::Stdio;
using procctx::test::TraceFile;
using procctx::test::ts;

namespace {

class Trace : public procctx::test::ProcessTest {
 protected:
  void TearDown() override {
    (void)procctx::trace::stop();  // a failed assertion may have left it running
    std::remove(path_.c_str());
    ProcessTest::TearDown();
  }
  const std::string path_ = procctx::test::trace_path("trace_test");
};

TEST_F(Trace, ACancelledChildShowsSpawnContextSignalsExitAndEndInOrder) {
  ASSERT_TRUE(procctx::trace::start(path_));
  EXPECT_TRUE(procctx::trace::enabled());
  auto [ctx, cancel] = procctx::with_cancel(procctx::background());
  std::uint_least32_t line = __LINE__ + 2;
  auto p =
      helper_cmd({"ignore-term", "30"}).out(Stdio::pipe()).stop({{SIGTERM, 100ms}, {SIGKILL}}).spawn(ctx);
  ASSERT_TRUE(p);
  ASSERT_EQ(procctx::test::read_line(p->out()), "ready");  // SIGTERM is ignored from here on
  cancel("the test cancels");
  const auto& c = p->wait();
  ASSERT_EQ(c.status.signal(), SIGKILL);
  ASSERT_TRUE(procctx::trace::stop());
  EXPECT_FALSE(procctx::trace::enabled());

  TraceFile t{path_};
  ASSERT_TRUE(t.ok()) << t.error();
  EXPECT_EQ(t.doc["displayTimeUnit"], "ms");
  EXPECT_EQ(t.doc["otherData"]["dropped_events"], 0);
  auto begin = t.find(c.pid, "B"), ctx_done = t.find(c.pid, "i", "context done"),
       stop = t.find(c.pid, "i", "stop"), term = t.find(c.pid, "i", "signal SIGTERM"),
       kill = t.find(c.pid, "i", "signal SIGKILL"), exit = t.find(c.pid, "i", "exit"),
       end = t.find(c.pid, "E");
  for (const auto* e : {begin, ctx_done, stop, term, kill, exit, end}) ASSERT_NE(e, nullptr) << t.lane(c.pid);

  EXPECT_EQ((*begin)["name"], procctx::test::helper());
  EXPECT_EQ((*begin)["pid"], ::getpid());
  EXPECT_EQ((*begin)["args"]["pid"], c.pid);
  EXPECT_EQ((*begin)["args"]["argv"], (nlohmann::json{procctx::test::helper(), "ignore-term", "30"}));
  EXPECT_EQ((*begin)["args"]["spawned_at"].get<std::string>().find("trace_test.cpp:" +
                                                                   std::to_string(line)) != std::string::npos,
            true)
      << (*begin)["args"]["spawned_at"];
  EXPECT_EQ((*ctx_done)["args"]["cause"], "canceled");
  EXPECT_EQ((*ctx_done)["args"]["message"], "the test cancels");
  EXPECT_EQ((*stop)["args"]["reason"], "canceled");
  EXPECT_EQ((*term)["args"]["stage"], 0);
  EXPECT_EQ((*kill)["args"]["stage"], 1);
  EXPECT_EQ((*exit)["args"]["signal"], "SIGKILL");
  EXPECT_EQ((*end)["args"]["status"], "killed by SIGKILL");
  EXPECT_EQ((*end)["args"]["stop_reason"], "canceled");
  EXPECT_EQ((*end)["args"]["stop_stage"], 1);

  // Time order: spawn < context done <= stop <= SIGTERM < SIGKILL (100 ms
  // later) <= exit <= end.
  EXPECT_LT(ts(*begin), ts(*ctx_done));
  EXPECT_LE(ts(*ctx_done), ts(*stop));
  EXPECT_LE(ts(*stop), ts(*term));
  EXPECT_GE(ts(*kill) - ts(*term), 100'000.0) << "the grace between the stages, in microseconds";
  EXPECT_LE(ts(*kill), ts(*exit));
  EXPECT_LE(ts(*exit), ts(*end));
  // The lane is named after the child.
  auto name = t.find(c.pid, "M", "thread_name");
  ASSERT_NE(name, nullptr);
  EXPECT_NE((*name)["args"]["name"].get<std::string>().find("pid " + std::to_string(c.pid)),
            std::string::npos);
}

TEST_F(Trace, ADeadlineIsTheContextsCause) {
  ASSERT_TRUE(procctx::trace::start(path_));
  auto [ctx, cancel] = procctx::with_timeout(procctx::background(), 50ms);
  auto c = helper_cmd({"sleep", "30"}).run(ctx);
  ASSERT_TRUE(c);
  ASSERT_TRUE(procctx::trace::stop());
  TraceFile t{path_};
  ASSERT_TRUE(t.ok()) << t.error();
  auto done = t.find(c->pid, "i", "context done");
  ASSERT_NE(done, nullptr) << t.lane(c->pid);
  EXPECT_EQ((*done)["args"]["cause"], "deadline_exceeded");
  auto end = t.find(c->pid, "E");
  ASSERT_NE(end, nullptr);
  EXPECT_EQ((*end)["args"]["stop_reason"], "deadline");
  EXPECT_EQ((*end)["args"]["status"], "killed by SIGTERM");
}

TEST_F(Trace, AGroupSpanContainsItsMembersSpans) {
  ASSERT_TRUE(procctx::trace::start(path_));
  std::vector<pid_t> pids;
  {
    procctx::Group g{procctx::background(), {.limit = 2}};
    for (const char* code : {"0", "1", "0"}) g.spawn(helper_cmd({"exit", code}));
    for (const auto& o : g.wait()) pids.push_back(o.completed->pid);
  }
  ASSERT_TRUE(procctx::trace::stop());
  TraceFile t{path_};
  ASSERT_TRUE(t.ok()) << t.error();
  const nlohmann::json* group = t.find_prefix("B", "group #");
  ASSERT_NE(group, nullptr);
  EXPECT_EQ((*group)["args"]["limit"], 2);
  long long lane = (*group)["tid"];
  auto group_end = t.find(lane, "E");
  ASSERT_NE(group_end, nullptr);
  EXPECT_EQ((*group_end)["args"]["commands"], 3);
  EXPECT_EQ((*group_end)["args"]["failed"], 1);
  ASSERT_EQ(pids.size(), 3u);
  for (pid_t pid : pids) {
    auto b = t.find(pid, "B"), e = t.find(pid, "E");
    ASSERT_NE(b, nullptr) << t.lane(pid);
    ASSERT_NE(e, nullptr) << t.lane(pid);
    EXPECT_EQ((*b)["args"]["group_lane"], lane);
    EXPECT_LE(ts(*group), ts(*b));
    EXPECT_LE(ts(*e), ts(*group_end));
  }
}

TEST_F(Trace, APipelineSpanContainsItsStages) {
  ASSERT_TRUE(procctx::trace::start(path_));
  auto r = (helper_cmd({"print", "hello"}) | helper_cmd({"echo-stdin"}).out(Stdio::capture())).run();
  ASSERT_TRUE(r);
  ASSERT_TRUE(procctx::trace::stop());
  TraceFile t{path_};
  ASSERT_TRUE(t.ok()) << t.error();
  const nlohmann::json* pipeline = t.find_prefix("B", "pipeline #");
  ASSERT_NE(pipeline, nullptr);
  long long lane = (*pipeline)["tid"];
  auto end = t.find(lane, "E");
  ASSERT_NE(end, nullptr);
  EXPECT_EQ((*end)["args"]["outcome"], "exited 0");
  for (const auto& stage : r->stages) {
    auto b = t.find(stage.pid, "B");
    ASSERT_NE(b, nullptr);
    EXPECT_EQ((*b)["args"]["group_lane"], lane);
    EXPECT_LE(ts(*pipeline), ts(*b));
    EXPECT_LE(ts(*t.find(stage.pid, "E")), ts(*end));
  }
  // The last stage's captured stdout ended.
  auto eof = t.find(r->stages[1].pid, "i", "eof stdout");
  ASSERT_NE(eof, nullptr) << t.lane(r->stages[1].pid);
  EXPECT_EQ((*eof)["args"]["bytes"], 5);  // "hello"
}

TEST_F(Trace, PipeHoldersAreNamedWithTheirArgvInTheTraceAndInDump) {
  ASSERT_TRUE(procctx::trace::start(path_));
  auto p = helper_cmd({"grandchild-holds-stdout", "30"}).out(Stdio::capture()).wait_delay(100ms).spawn();
  ASSERT_TRUE(p);
  const auto& c = p->wait();
  ASSERT_EQ(c.pipe_holders.size(), 1u);
  pid_t holder = c.pipe_holders[0].pid;
  std::ostringstream dump;
  procctx::dump(dump);
  EXPECT_NE(
      dump.str().find("pipes held past wait_delay by pid " + std::to_string(holder) + " (procctx_helper)"),
      std::string::npos)
      << dump.str();
  ASSERT_TRUE(procctx::trace::stop());
  ::kill(holder, SIGKILL);  // left running (Leftovers::kill is opt-in)

  TraceFile t{path_};
  ASSERT_TRUE(t.ok()) << t.error();
  auto expired = t.find(c.pid, "i", "wait_delay expired"), held = t.find(c.pid, "i", "pipe holders"),
       exit = t.find(c.pid, "i", "exit"), end = t.find(c.pid, "E");
  for (const auto* e : {expired, held, exit, end}) ASSERT_NE(e, nullptr) << t.lane(c.pid);
  EXPECT_EQ((*expired)["args"]["open"], "stdout");
  EXPECT_EQ((*held)["args"]["stream"], "stdout");
  ASSERT_EQ((*held)["args"]["holders"].size(), 1u);
  EXPECT_EQ((*held)["args"]["holders"][0]["pid"], holder);
  // The grandchild is a fork of the helper: the same argv.
  EXPECT_EQ((*held)["args"]["holders"][0]["argv"],
            (nlohmann::json{procctx::test::helper(), "grandchild-holds-stdout", "30"}));
  EXPECT_EQ((*end)["args"]["pipe_holders"][0]["pid"], holder);
  EXPECT_LE(ts(*exit), ts(*expired));
  EXPECT_GE(ts(*expired) - ts(*exit), 100'000.0 * 0.9) << "wait_delay, in microseconds";
  EXPECT_LE(ts(*held), ts(*end));
}

TEST_F(Trace, ArgvIsEscapedAndInvalidUtf8Replaced) {
  ASSERT_TRUE(procctx::trace::start(path_));
  std::string weird = "q\"b\\s\nl\tt\x01 \xff caf\xc3\xa9 \xe2\x82";
  auto c = helper_cmd({"print", weird}).out(Stdio::null()).run();
  ASSERT_TRUE(c);
  ASSERT_TRUE(procctx::trace::stop());
  TraceFile t{path_};
  ASSERT_TRUE(t.ok()) << t.error();
  auto b = t.find(c->pid, "B");
  ASSERT_NE(b, nullptr);
  EXPECT_EQ((*b)["args"]["argv"][2], "q\"b\\s\nl\tt\x01 \xef\xbf\xbd caf\xc3\xa9 \xef\xbf\xbd\xef\xbf\xbd");
}

TEST_F(Trace, StartNamesAPathItCannotOpenAndRefusesASecondTrace) {
  auto bad = procctx::trace::start("/nonexistent-procctx-dir/t.json");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message(), "trace: open /nonexistent-procctx-dir/t.json: No such file or directory");
  EXPECT_FALSE(procctx::trace::enabled());
  auto dir = procctx::trace::start("/");
  ASSERT_FALSE(dir);
  EXPECT_NE(dir.error().message().find("trace: open /: "), std::string::npos) << dir.error().message();

  ASSERT_TRUE(procctx::trace::start(path_));
  auto again = procctx::trace::start(path_ + ".2");
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code(), procctx::errc::invalid_argument);
  EXPECT_EQ(again.error().message(), "trace: already writing to " + path_);
  ASSERT_TRUE(procctx::trace::stop());
  EXPECT_TRUE(procctx::trace::stop()) << "stopping twice is harmless";
  TraceFile t{path_};
  ASSERT_TRUE(t.ok()) << t.error();
  EXPECT_EQ(t.doc["otherData"]["events"], 0);
}

TEST_F(Trace, AChildSpawnedBeforeStartHasNoDanglingEnd) {
  auto p = helper_cmd({"sleep", "30"}).spawn();
  ASSERT_TRUE(p);
  ASSERT_TRUE(procctx::trace::start(path_));
  ASSERT_TRUE(p->kill());
  const auto& c = p->wait();
  ASSERT_TRUE(procctx::trace::stop());
  TraceFile t{path_};
  ASSERT_TRUE(t.ok()) << t.error();
  EXPECT_EQ(t.find(c.pid, "B"), nullptr);
  EXPECT_EQ(t.find(c.pid, "E"), nullptr) << "an end without its begin would confuse the viewer";
  EXPECT_NE(t.find(c.pid, "i", "signal SIGKILL"), nullptr) << t.lane(c.pid);
  EXPECT_NE(t.find(c.pid, "i", "exit"), nullptr) << t.lane(c.pid);
}

TEST_F(Trace, PROCCTX_TRACEWritesTheFileAtExit) {
  auto r = procctx::Command{PROCCTX_TRACED, {procctx::test::helper()}}
               .env("PROCCTX_TRACE", path_)
               .out(Stdio::capture())
               .err(Stdio::capture())
               .run();
  ASSERT_TRUE(r) << r.error().message();
  ASSERT_TRUE(r->status.success()) << r->err.text();
  int stopped = 0, exited = 0, enabled = 0;
  ASSERT_EQ(std::sscanf(r->out.str().c_str(), "stopped=%d exited=%d enabled=%d", &stopped, &exited, &enabled),
            3)
      << r->out.text();
  EXPECT_EQ(enabled, 1);
  TraceFile t{path_};
  ASSERT_TRUE(t.ok()) << t.error();
  EXPECT_EQ(t.events.at(0)["name"], "process_name");
  EXPECT_EQ(t.events.at(0)["pid"], r->pid);
  auto done = t.find(stopped, "i", "context done");
  ASSERT_NE(done, nullptr) << t.lane(stopped);
  EXPECT_EQ((*done)["args"]["cause"], "deadline_exceeded");
  EXPECT_NE(t.find(stopped, "i", "signal SIGTERM"), nullptr) << t.lane(stopped);
  EXPECT_NE(t.find(stopped, "E"), nullptr);
  ASSERT_NE(t.find(exited, "E"), nullptr) << t.lane(exited);
  EXPECT_EQ((*t.find(exited, "E"))["args"]["status"], "exited 0");
  int groups = 0;
  EXPECT_NE(t.find_prefix("E", "group #", &groups), nullptr);
  EXPECT_EQ(groups, 1);
}

TEST_F(Trace, PROCCTX_TRACEWithAnUnwritablePathSaysSoOnceAndRunsOn) {
  auto r = procctx::Command{PROCCTX_TRACED, {procctx::test::helper()}}
               .env("PROCCTX_TRACE", "/nonexistent-procctx-dir/t.json")
               .out(Stdio::capture())
               .err(Stdio::capture())
               .run();
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_TRUE(r->status.success()) << r->err.text();
  EXPECT_EQ(r->err.text(),
            "procctx: trace: open /nonexistent-procctx-dir/t.json: No such file or directory\n");
  EXPECT_NE(r->out.text().find("enabled=0"), std::string::npos) << r->out.text();
}

}  // namespace
