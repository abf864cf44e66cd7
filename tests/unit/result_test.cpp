#include <procctx/result.hpp>

#include <gtest/gtest.h>

namespace {

procctx::Result<int> half(int x) {
  if (x % 2)
    return procctx::Error{make_error_code(procctx::errc::invalid_argument), "odd: " + std::to_string(x)};
  return x / 2;
}

TEST(Result, HoldsAValueOrAnError) {
  auto ok = half(4);
  ASSERT_TRUE(ok);
  EXPECT_EQ(*ok, 2);
  EXPECT_FALSE(ok.error().code());
  auto bad = half(3);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code(), procctx::errc::invalid_argument);
  EXPECT_EQ(bad.error().message(), "odd: 3");
}

TEST(Result, ValueThrowsExceptionCarryingTheError) {
  try {
    (void)half(5).value();
    FAIL() << "no exception";
  } catch (const procctx::Exception& e) {
    EXPECT_EQ(e.code(), procctx::errc::invalid_argument);
    EXPECT_NE(std::string{e.what()}.find("odd: 5"), std::string::npos);
    EXPECT_EQ(e.error().message(), "odd: 5");
  }
  // what() is the sentence itself, the errno's words not repeated after it.
  procctx::Result<int> missing = procctx::Error{std::make_error_code(std::errc::no_such_file_or_directory),
                                                "chdir /x: No such file or directory"};
  try {
    (void)missing.value();
    FAIL() << "no exception";
  } catch (const procctx::Exception& e) {
    EXPECT_STREQ(e.what(), "chdir /x: No such file or directory");
  }
}

TEST(Result, VoidResultAndWrap) {
  procctx::Result<void> fine;
  EXPECT_TRUE(fine);
  EXPECT_NO_THROW(fine.value());
  procctx::Result<void> failed = procctx::Error{std::make_error_code(std::errc::no_such_file_or_directory),
                                                "chdir /x: No such file or directory"};
  EXPECT_FALSE(failed);
  auto wrapped = std::move(failed).error().wrap("spawn 'ls'");
  EXPECT_EQ(wrapped.message(), "spawn 'ls': chdir /x: No such file or directory");
  EXPECT_THROW(procctx::Result<void>{wrapped}.value(), procctx::Exception);
}

TEST(Errc, HasItsOwnCategoryAndMessages) {
  std::error_code c = procctx::errc::canceled;
  EXPECT_STREQ(c.category().name(), "procctx");
  EXPECT_EQ(c.message(), "context canceled");
  EXPECT_EQ(std::error_code{procctx::errc::deadline_exceeded}.message(), "context deadline exceeded");
  EXPECT_NE(c, std::error_code(procctx::errc::deadline_exceeded));
}

}  // namespace
