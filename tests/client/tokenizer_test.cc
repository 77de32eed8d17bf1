// Tests of the shell's line tokenizer (client/tokenizer.h).
#include "client/tokenizer.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace kv2pc {
namespace {

using Words = std::vector<std::string>;

Words Tokens(std::string_view line) {
  Result<Words> words = TokenizeLine(line);
  EXPECT_TRUE(words.ok()) << words.status().ToString();
  return words.ok() ? *words : Words{};
}

TEST(TokenizerTest, SplitsOnRunsOfWhitespace) {
  EXPECT_EQ(Tokens("put  key\tvalue \r\n"), (Words{"put", "key", "value"}));
  EXPECT_EQ(Tokens(""), Words{});
  EXPECT_EQ(Tokens("   \t"), Words{});
}

TEST(TokenizerTest, QuotedWordKeepsSpaces) {
  EXPECT_EQ(Tokens(R"(put "my key" "a  b")"), (Words{"put", "my key", "a  b"}));
}

TEST(TokenizerTest, EmptyQuotesAreAnEmptyWord) {
  EXPECT_EQ(Tokens(R"(put k "")"), (Words{"put", "k", ""}));
}

TEST(TokenizerTest, QuotedAndUnquotedPartsJoin) {
  EXPECT_EQ(Tokens(R"(a"b c"d)"), (Words{"ab cd"}));
}

TEST(TokenizerTest, EscapesInsideQuotes) {
  EXPECT_EQ(Tokens(R"("q\"q" "b\\s" "n\n" "t\t")"), (Words{"q\"q", "b\\s", "n\n", "t\t"}));
}

TEST(TokenizerTest, HexEscapeGivesAnyByte) {
  EXPECT_EQ(Tokens(R"("\x00\xff\x41\xAb")"), (Words{std::string("\0\xff\x41\xab", 4)}));
}

TEST(TokenizerTest, BackslashOutsideQuotesIsLiteral) {
  EXPECT_EQ(Tokens(R"(a\nb c\)"), (Words{"a\\nb", "c\\"}));
}

TEST(TokenizerTest, RawBytesPassThrough) {
  EXPECT_EQ(Tokens("get caf\xc3\xa9"), (Words{"get", "caf\xc3\xa9"}));
}

// ---- Errors ----

TEST(TokenizerTest, UnterminatedQuoteIsAnError) {
  Result<Words> words = TokenizeLine(R"(put k "abc)");
  ASSERT_FALSE(words.ok());
  EXPECT_TRUE(words.status().IsInvalidArgument());
  EXPECT_EQ(words.status().message(), "unterminated quote at column 7");
}

TEST(TokenizerTest, BackslashAtEndOfQuoteIsUnterminated) {
  Result<Words> words = TokenizeLine(R"("abc\)");
  ASSERT_FALSE(words.ok());
  EXPECT_NE(words.status().message().find("unterminated quote"), std::string::npos);
}

TEST(TokenizerTest, UnknownEscapeIsAnError) {
  Result<Words> words = TokenizeLine(R"("a\qb")");
  ASSERT_FALSE(words.ok());
  EXPECT_NE(words.status().message().find("unknown escape \\q at column 3"), std::string::npos)
      << words.status().message();
}

TEST(TokenizerTest, ShortOrNonHexEscapeIsAnError) {
  EXPECT_FALSE(TokenizeLine(R"("\x4")").ok());
  EXPECT_FALSE(TokenizeLine(R"("\xg0")").ok());
  EXPECT_FALSE(TokenizeLine(R"("\x)").ok());
}

}  // namespace
}  // namespace kv2pc
