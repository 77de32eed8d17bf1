// The interactive shell of the kv2pc CLI: reads commands line by line and runs them through a
// Client, keeping at most one transaction open. `kv2pc` with no command starts it (cli.h).
//
//   kv2pc> begin
//   BEGIN T0.1.5
//   kv2pc(T0.1.5)> put "my key" "two\nlines"
//   OK
//   kv2pc(T0.1.5)> commit
//   COMMITTED
//
// Outside a transaction, get/put/del each run as their own one-shot transaction. Words are
// split by client/tokenizer.h; values are printed by client/safe_text.h. Results go to `out`,
// "error: ..." lines and notes to `err`.
//
// Transaction mode ends with commit or abort, and also when an error means the coordinator has
// ended (or will end) the transaction: ABORTED, TXN_NOT_FOUND, TXN_ALREADY_ABORTED,
// TXN_ALREADY_COMMITTED, PARTICIPANT_UNAVAILABLE, TIMEOUT and OUTCOME_UNKNOWN. The shell says
// so on `err`. Other errors (a key too large, TXN_BUSY, ...) leave the transaction open.
#pragma once

#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "client/client.h"
#include "common/status.h"
#include "common/types.h"

namespace kv2pc {

class Shell {
 public:
  // "*client" must remain live while this Shell is in use; so must the streams.
  Shell(Client* client, std::ostream& out, std::ostream& err);

  Shell(const Shell&) = delete;
  Shell& operator=(const Shell&) = delete;

  // Runs lines from `in` until quit/exit or the end of input, then aborts a transaction still
  // open. When `interactive` (stdin is a terminal) it greets and prompts on `out`.
  // Returns kExitOk, or kExitError when the input is not interactive and a command failed or
  // the input ended inside a transaction (so a script learns that something did not happen).
  int Run(std::istream& in, bool interactive);

  // Runs one line; blank lines and lines starting with '#' do nothing. Returns false when the
  // line was quit/exit (an open transaction has then been aborted).
  bool ExecuteLine(std::string_view line);

  // Aborts the open transaction, if any, and says so. Called on quit and at end of input.
  void AbortOpenTransaction();

  // "kv2pc> " or "kv2pc(T0.1.5)> " inside a transaction.
  std::string Prompt() const;
  const std::optional<TxnId>& txn() const { return txn_; }
  // True once any command has failed.
  bool any_failed() const { return any_failed_; }

 private:
  enum class Op { kOperation, kCommit, kAbort };  // get/put/del, commit, abort

  void Begin();
  void Get(const std::string& key, bool for_update);
  void Put(const std::string& key, const std::string& value);
  void Del(const std::string& key);
  void Commit();
  void Abort();

  void PrintOut(std::string_view line);
  // Prints "error: <message>" and marks the session failed.
  void PrintError(std::string_view message);
  // Prints the error of a failed client call and, when it ended the open transaction, says
  // so and leaves transaction mode.
  void ReportFailure(const Status& status, Op op);

  // Constant after construction.
  Client* const client_;
  std::ostream& out_;
  std::ostream& err_;

  std::optional<TxnId> txn_;  // the open transaction, if any
  bool any_failed_ = false;
};

}  // namespace kv2pc
