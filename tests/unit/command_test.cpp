#include <procctx/command.hpp>

#include <gtest/gtest.h>

using namespace std::chrono_literals;

namespace {

TEST(Command, ArgvStartsWithTheProgramAsGiven) {
  procctx::Command cmd{"grep", {"-r", "TODO"}};
  cmd.arg("src");
  EXPECT_EQ(cmd.argv(), (std::vector<std::string>{"grep", "-r", "TODO", "src"}));
  cmd.arg0("my-grep");
  EXPECT_EQ(cmd.argv().front(), "my-grep");
  auto built = procctx::Command{"ls"}.arg("-l").cwd("/").tree(procctx::Tree::none);
  EXPECT_EQ(built.argv(), (std::vector<std::string>{"ls", "-l"}));
  EXPECT_EQ(built.options().tree, procctx::Tree::none);
}

TEST(Command, EnvEditsKeepTheirOrder) {
  procctx::Command cmd{"env"};
  cmd.env("A", "1").env_remove("B").env("A", "2");
  ASSERT_EQ(cmd.options().env.edits.size(), 3u);
  EXPECT_EQ(cmd.options().env.edits[2].second, "2");
  EXPECT_FALSE(cmd.options().env.edits[1].second.has_value());
  cmd.env_clear();
  EXPECT_TRUE(cmd.options().env.clear);
  EXPECT_TRUE(cmd.options().env.edits.empty());
}

TEST(Command, DefaultsAreTheSafeOnes) {
  procctx::Command cmd{"x"};
  EXPECT_EQ(cmd.options().tree, procctx::Tree::process_group);
  EXPECT_EQ(cmd.options().wait_delay, 2s);
  EXPECT_EQ(cmd.options().path_lookup, procctx::PathLookup::absolute_only);
  EXPECT_EQ(cmd.options().stop.to_string(), "TERM,5s,KILL");
  for (int fd = 0; fd < 3; ++fd) EXPECT_EQ(cmd.options().stdio[static_cast<std::size_t>(fd)].kind(), procctx::Stdio::Kind::inherit);
  EXPECT_EQ(procctx::Stdio::capture().limit(), std::size_t{64} << 20);
}

TEST(StopSequence, ParsesSignalsAndWaits) {
  auto s = procctx::StopSequence::parse("TERM,5s,KILL");
  ASSERT_TRUE(s) << s.error().message();
  ASSERT_EQ(s->steps().size(), 2u);
  EXPECT_EQ(s->steps()[0].signal, SIGTERM);
  EXPECT_EQ(s->steps()[0].wait, 5s);
  EXPECT_EQ(s->steps()[1].signal, SIGKILL);
  EXPECT_EQ(s->steps()[1].wait, 0s);

  auto t = procctx::StopSequence::parse("SIGINT,250ms,sigterm,1.5s,9");
  ASSERT_TRUE(t) << t.error().message();
  EXPECT_EQ(t->to_string(), "INT,250ms,TERM,1500ms,KILL");
}

TEST(StopSequence, BadInputNamesTheItem) {
  for (const char* text : {"", "TERM,,KILL", "TERM,5x", "NOPE", "5s,KILL", "TERM,1s,2s"}) {
    auto s = procctx::StopSequence::parse(text);
    ASSERT_FALSE(s) << text;
    EXPECT_EQ(s.error().code(), procctx::errc::invalid_argument);
    EXPECT_NE(s.error().message().find("stop sequence"), std::string::npos) << s.error().message();
  }
  EXPECT_NE(procctx::StopSequence::parse("TERM,NOPE").error().message().find("'NOPE'"), std::string::npos);
}

TEST(Signals, NamesAndNumbers) {
  EXPECT_EQ(procctx::signal_from_name("TERM"), SIGTERM);
  EXPECT_EQ(procctx::signal_from_name("SIGKILL"), SIGKILL);
  EXPECT_EQ(procctx::signal_from_name("hup"), SIGHUP);
  EXPECT_EQ(procctx::signal_from_name("15"), 15);
  EXPECT_EQ(procctx::signal_from_name("RTMIN+1"), SIGRTMIN + 1);
  EXPECT_EQ(procctx::signal_from_name("0"), 0);
  EXPECT_EQ(procctx::signal_from_name("99"), 0);
  EXPECT_EQ(procctx::signal_from_name("BOGUS"), 0);
  EXPECT_EQ(procctx::signal_name(SIGSEGV), "SIGSEGV");
  EXPECT_EQ(procctx::signal_name(40), "SIG40");
}

TEST(Durations, GoLikeUnits) {
  EXPECT_EQ(*procctx::parse_duration("1.5s"), 1500ms);
  EXPECT_EQ(*procctx::parse_duration("250ms"), 250ms);
  EXPECT_EQ(*procctx::parse_duration("2m"), 120s);
  EXPECT_EQ(*procctx::parse_duration("1h"), 3600s);
  EXPECT_EQ(*procctx::parse_duration("3d"), 3 * 86400s);
  EXPECT_EQ(*procctx::parse_duration("10"), 10s);
  EXPECT_EQ(*procctx::parse_duration("0"), 0s);
  for (const char* bad : {"", "s", "-1s", "1x", "1.2.3s", "1e400"}) {
    auto d = procctx::parse_duration(bad);
    ASSERT_FALSE(d) << bad;
    EXPECT_NE(d.error().message().find("invalid duration"), std::string::npos);
  }
}

}  // namespace
