// Tests of the kv2pc shell (client/shell.h) against a fake coordinator (TinyStore).
#include "client/shell.h"

#include <gtest/gtest.h>

#include <memory>
#include <sstream>
#include <string>

#include "client/cli_options.h"
#include "tests/client/fake_coordinator.h"

namespace kv2pc {

namespace {

class ShellTest : public ::testing::Test {
 protected:
  ShellTest() : fake_(TinyStore()) {
    Result<std::unique_ptr<Client>> client = Client::Connect({fake_.endpoint(), 10000});
    EXPECT_TRUE(client.ok()) << client.status().ToString();
    if (client.ok()) client_ = std::move(*client);
    shell_ = std::make_unique<Shell>(client_.get(), out_, err_);
  }

  // Runs `script` as piped (non-interactive) input; returns the exit status.
  int RunScript(const std::string& script, bool interactive = false) {
    std::istringstream in(script);
    return shell_->Run(in, interactive);
  }

  FakeCoordinator fake_;
  std::unique_ptr<Client> client_;
  std::ostringstream out_;
  std::ostringstream err_;
  std::unique_ptr<Shell> shell_;
};

TEST_F(ShellTest, TransactionRoundTrip) {
  int status = RunScript(
      "begin\n"
      "put a 1\n"
      "get a\n"
      "commit\n"
      "get a\n");
  EXPECT_EQ(status, kExitOk) << err_.str();
  EXPECT_EQ(out_.str(), "BEGIN T0.1.1\nOK\n1\nCOMMITTED\n1\n");
  EXPECT_EQ(err_.str(), "");
}

TEST_F(ShellTest, GetxReadsForUpdateInsideATransactionOnly) {
  int status = RunScript(
      "getx a\n"
      "begin\n"
      "put a 1\n"
      "getx a\n"
      "commit\n");
  EXPECT_EQ(status, kExitError);  // the first getx is refused
  EXPECT_EQ(out_.str(), "BEGIN T0.1.1\nOK\n1\nCOMMITTED\n");
  EXPECT_NE(err_.str().find("getx works inside a transaction"), std::string::npos) << err_.str();
  int for_update = 0;
  for (const Message& m : fake_.requests()) {
    if (const auto* g = std::get_if<GetRequest>(&m.body)) for_update += g->for_update;
  }
  EXPECT_EQ(for_update, 1);
}

TEST_F(ShellTest, OneShotOperationsOutsideATransaction) {
  EXPECT_EQ(RunScript("put k v\nget k\ndel k\nget k\n"), kExitOk);
  EXPECT_EQ(out_.str(), "OK\nv\nOK\n(not found)\n");
  for (const Message& m : fake_.requests()) EXPECT_NE(m.type(), MsgType::kBegin);
}

TEST_F(ShellTest, QuotedKeysAndValuesAndSafePrinting) {
  EXPECT_EQ(RunScript(R"(put "my key" "two\nlines\x00\\")"
                      "\n"
                      R"(get "my key")"
                      "\n"),
            kExitOk);
  EXPECT_EQ(out_.str(), "OK\ntwo\\x0alines\\x00\\\\\n");
}

TEST_F(ShellTest, CommentsAndBlankLinesAreIgnored) {
  EXPECT_EQ(RunScript("# a comment \"unbalanced\n\n   \n  # indented\nput a 1\n"), kExitOk);
  EXPECT_EQ(out_.str(), "OK\n");
  EXPECT_EQ(fake_.requests().size(), 1u);
}

TEST_F(ShellTest, AbortEndsTheTransaction) {
  EXPECT_EQ(RunScript("begin\nabort\nget a\n"), kExitOk);
  EXPECT_EQ(out_.str(), "BEGIN T0.1.1\nABORTED\n(not found)\n");
  EXPECT_FALSE(shell_->txn().has_value());
}

TEST_F(ShellTest, PromptsOnlyWhenInteractive) {
  EXPECT_EQ(RunScript("begin\ncommit\n", /*interactive=*/true), kExitOk);
  EXPECT_NE(out_.str().find("kv2pc> BEGIN T0.1.1\nkv2pc(T0.1.1)> COMMITTED\nkv2pc> "),
            std::string::npos)
      << out_.str();
}

TEST_F(ShellTest, QuitAbortsAnOpenTransaction) {
  EXPECT_EQ(RunScript("begin\nput a 1\nquit\nput never 1\n"), kExitOk);
  EXPECT_EQ(out_.str(), "BEGIN T0.1.1\nOK\nABORTED\n");
  EXPECT_EQ(err_.str(), "aborting open transaction T0.1.1\n");
  EXPECT_EQ(fake_.requests().back().type(), MsgType::kAbort);
}

TEST_F(ShellTest, HelpPrintsTheCommands) {
  EXPECT_EQ(RunScript("help\n"), kExitOk);
  EXPECT_NE(out_.str().find("put KEY VALUE"), std::string::npos);
}

// ---- Errors ----

TEST_F(ShellTest, AbortedOperationLeavesTransactionMode) {
  int status = RunScript(
      "begin\n"
      "put locked 1\n"
      "put a 1\n");
  EXPECT_EQ(status, kExitError);
  EXPECT_EQ(out_.str(), "BEGIN T0.1.1\nOK\n");  // the second put ran one-shot
  EXPECT_EQ(err_.str(),
            "error: ABORTED (LOCK_TIMEOUT): lock wait on key 'locked' timed out\n"
            "transaction T0.1.1 was aborted; you are no longer in a transaction\n");
  std::vector<Message> requests = fake_.requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_FALSE(std::get<PutRequest>(requests[2].body).txn.has_value());
}

TEST_F(ShellTest, ErrorsDoNotStopTheScriptButSetTheExitStatus) {
  int status = RunScript(
      "frobnicate\n"
      "put onlykey\n"
      "put \"open\n"
      "commit\n"
      "begin\n"
      "begin\n"
      "commit\n"
      "get a\n");
  EXPECT_EQ(status, kExitError);
  EXPECT_EQ(out_.str(), "BEGIN T0.1.1\nCOMMITTED\n(not found)\n");
  EXPECT_EQ(err_.str(),
            "error: unknown command 'frobnicate' (type help for commands)\n"
            "error: usage: put KEY VALUE (quote a key or value that has spaces)\n"
            "error: unterminated quote at column 5\n"
            "error: no transaction is open (begin one first)\n"
            "error: already in transaction T0.1.1; commit or abort it first\n");
}

TEST_F(ShellTest, ErrorThatKeepsTheTransactionOpen) {
  EXPECT_EQ(RunScript("begin\nput " + std::string(300, 'k') + " v\ncommit\n"), kExitError);
  EXPECT_EQ(out_.str(), "BEGIN T0.1.1\nCOMMITTED\n");
  EXPECT_EQ(err_.str(), "error: KEY_TOO_LARGE: key is 300 bytes; the limit is 256\n");
}

TEST_F(ShellTest, EndOfInputInsideATransactionAbortsAndFails) {
  EXPECT_EQ(RunScript("begin\nput a 1\n"), kExitError);
  EXPECT_EQ(out_.str(), "BEGIN T0.1.1\nOK\nABORTED\n");
  EXPECT_NE(err_.str().find("input ended inside transaction T0.1.1"), std::string::npos);
  EXPECT_EQ(fake_.requests().back().type(), MsgType::kAbort);
}

TEST_F(ShellTest, InteractiveSessionExitsZeroDespiteErrors) {
  EXPECT_EQ(RunScript("bogus\n", /*interactive=*/true), kExitOk);
  EXPECT_TRUE(shell_->any_failed());
}

}  // namespace
}  // namespace kv2pc
