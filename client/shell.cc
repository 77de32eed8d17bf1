// See shell.h.
#include "client/shell.h"

#include <cctype>
#include <istream>
#include <ostream>

#include "client/cli_options.h"
#include "client/safe_text.h"
#include "client/tokenizer.h"

namespace kv2pc {

namespace {

constexpr std::string_view kShellHelp =
    "commands:\n"
    "  begin            start a transaction\n"
    "  get KEY          read KEY (shared lock)\n"
    "  getx KEY         read KEY for update (exclusive lock, as SELECT ... FOR UPDATE)\n"
    "  put KEY VALUE    write KEY\n"
    "  del KEY          delete KEY\n"
    "  commit           commit the open transaction (two-phase commit)\n"
    "  abort            abort the open transaction\n"
    "  help             this text\n"
    "  quit, exit       leave (an open transaction is aborted first)\n"
    "Outside a transaction get, put and del each run in their own transaction.\n"
    "Words are separated by spaces; in \"double quotes\" a word may hold spaces and the\n"
    "escapes \\\" \\\\ \\n \\t and \\xNN (any byte). Lines starting with # are comments.\n";

// What happened to the open transaction when a call failed with `code`, or nullopt when it
// is still open. See shell.h for the list and why.
std::optional<std::string_view> TransactionEnd(ErrorCode code, bool commit) {
  switch (code) {
    case ErrorCode::kAborted:
    case ErrorCode::kTxnNotFound:
    case ErrorCode::kTxnAlreadyAborted:
    case ErrorCode::kParticipantUnavailable:
      return "was aborted";
    case ErrorCode::kTxnAlreadyCommitted:
      return "had already committed";
    case ErrorCode::kOutcomeUnknown:
      return "has an unknown outcome (it may or may not have committed)";
    case ErrorCode::kTimeout:
      if (commit) return "has an unknown outcome (it may or may not have committed)";
      return "is abandoned (the coordinator aborts it)";
    default:
      return std::nullopt;
  }
}

std::string Lowercase(std::string_view word) {
  std::string out(word);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

Shell::Shell(Client* client, std::ostream& out, std::ostream& err)
    : client_(client), out_(out), err_(err) {}

std::string Shell::Prompt() const {
  return txn_.has_value() ? "kv2pc(" + txn_->ToString() + ")> " : "kv2pc> ";
}

void Shell::PrintOut(std::string_view line) {
  out_ << line << '\n';
  out_.flush();
}

void Shell::PrintError(std::string_view message) {
  any_failed_ = true;
  out_.flush();  // keep the order of results and errors when both go to one terminal
  err_ << "error: " << message << '\n';
  err_.flush();
}

void Shell::ReportFailure(const Status& status, Op op) {
  PrintError(status.message());
  if (!txn_.has_value()) return;
  std::optional<std::string_view> end =
      TransactionEnd(client_->last_error_code(), op == Op::kCommit);
  if (op == Op::kAbort && !end.has_value()) end = "is abandoned (the coordinator aborts it)";
  if (!end.has_value()) return;
  err_ << "transaction " << txn_->ToString() << " " << *end
       << "; you are no longer in a transaction\n";
  err_.flush();
  txn_.reset();
}

int Shell::Run(std::istream& in, bool interactive) {
  if (interactive) {
    PrintOut("kv2pc shell, coordinator " + client_->endpoint() +
             ". Type help for commands, quit to leave.");
  }
  std::string line;
  for (;;) {
    if (interactive) {
      out_ << Prompt();
      out_.flush();
    }
    if (!std::getline(in, line)) {
      if (interactive) PrintOut("");  // end the prompt line
      if (txn_.has_value() && !interactive) {
        PrintError("input ended inside transaction " + txn_->ToString() + " (no commit)");
      }
      AbortOpenTransaction();
      break;
    }
    if (!ExecuteLine(line)) break;
  }
  return (!interactive && any_failed_) ? kExitError : kExitOk;
}

void Shell::AbortOpenTransaction() {
  if (!txn_.has_value()) return;
  err_ << "aborting open transaction " << txn_->ToString() << '\n';
  err_.flush();
  Abort();
}

bool Shell::ExecuteLine(std::string_view line) {
  size_t first = line.find_first_not_of(" \t\r\n\v\f");
  if (first == std::string_view::npos || line[first] == '#') return true;
  Result<std::vector<std::string>> words = TokenizeLine(line);
  if (!words.ok()) {
    PrintError(words.status().message());
    return true;
  }
  if (words->empty()) return true;
  const std::string command = Lowercase(words->front());
  const std::vector<std::string> args(words->begin() + 1, words->end());
  // Prints the usage of `command` unless it got `want` arguments.
  auto check_args = [&](size_t want, std::string_view synopsis) {
    if (args.size() == want) return true;
    PrintError("usage: " + std::string(synopsis));
    return false;
  };

  if (command == "quit" || command == "exit") {
    AbortOpenTransaction();
    return false;
  }
  if (command == "help" || command == "?") {
    out_ << kShellHelp;
    out_.flush();
  } else if (command == "begin") {
    if (check_args(0, "begin")) Begin();
  } else if (command == "get") {
    if (check_args(1, "get KEY")) Get(args[0], false);
  } else if (command == "getx") {
    if (!txn_.has_value()) {
      PrintError("getx works inside a transaction (begin one first)");
    } else if (check_args(1, "getx KEY")) {
      Get(args[0], true);
    }
  } else if (command == "put") {
    if (check_args(2, "put KEY VALUE (quote a key or value that has spaces)"))
      Put(args[0], args[1]);
  } else if (command == "del" || command == "delete") {
    if (check_args(1, "del KEY")) Del(args[0]);
  } else if (command == "commit") {
    if (check_args(0, "commit")) Commit();
  } else if (command == "abort" || command == "rollback") {
    if (check_args(0, "abort")) Abort();
  } else {
    PrintError("unknown command '" + SafeText(words->front()) + "' (type help for commands)");
  }
  return true;
}

void Shell::Begin() {
  if (txn_.has_value()) {
    PrintError("already in transaction " + txn_->ToString() + "; commit or abort it first");
    return;
  }
  Result<TxnId> txn = client_->Begin();
  if (!txn.ok()) {
    ReportFailure(txn.status(), Op::kOperation);
    return;
  }
  txn_ = *txn;
  PrintOut("BEGIN " + txn_->ToString());
}

void Shell::Get(const std::string& key, bool for_update) {
  Result<std::optional<std::string>> value = !txn_.has_value() ? client_->Get(key)
                                             : for_update      ? client_->GetForUpdate(*txn_, key)
                                                               : client_->Get(*txn_, key);
  if (!value.ok()) {
    ReportFailure(value.status(), Op::kOperation);
    return;
  }
  PrintOut(value->has_value() ? SafeText(**value) : "(not found)");
}

void Shell::Put(const std::string& key, const std::string& value) {
  Status s = txn_.has_value() ? client_->Put(*txn_, key, value) : client_->Put(key, value);
  if (s.ok()) {
    PrintOut("OK");
  } else {
    ReportFailure(s, Op::kOperation);
  }
}

void Shell::Del(const std::string& key) {
  Status s = txn_.has_value() ? client_->Del(*txn_, key) : client_->Del(key);
  if (s.ok()) {
    PrintOut("OK");
  } else {
    ReportFailure(s, Op::kOperation);
  }
}

void Shell::Commit() {
  if (!txn_.has_value()) {
    PrintError("no transaction is open (begin one first)");
    return;
  }
  Status s = client_->Commit(*txn_);
  if (!s.ok()) {
    ReportFailure(s, Op::kCommit);
    return;
  }
  txn_.reset();
  PrintOut("COMMITTED");
}

void Shell::Abort() {
  if (!txn_.has_value()) {
    PrintError("no transaction is open");
    return;
  }
  Status s = client_->Abort(*txn_);
  if (!s.ok()) {
    ReportFailure(s, Op::kAbort);
    return;
  }
  txn_.reset();
  PrintOut("ABORTED");
}

}  // namespace kv2pc
