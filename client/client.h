// The kv2pc client library: one connection to one coordinator, one request at a time.
//
// A Client speaks the client half of docs/protocol.md: it sends BEGIN, GET, PUT, DELETE,
// COMMIT and ABORT to a coordinator over a ZeroMQ DEALER socket and waits for the REPLY that
// carries the same request_id. Replies with any other request_id (late answers to a request
// that already timed out) are dropped. After a local timeout the socket is closed and reopened,
// so a late reply can never be mistaken for the answer to a later request.
//
// Errors come back as Status values whose message starts with the wire error name
// ("ABORTED (LOCK_TIMEOUT): lock wait on key 'x' timed out"); the code says what to do next:
//   InvalidArgument     KEY_TOO_LARGE, VALUE_TOO_LARGE, MALFORMED_REQUEST, UNSUPPORTED_VERSION:
//                       fix the request.
//   NotFound            TXN_NOT_FOUND: the transaction is gone (aborted or forgotten).
//   Aborted             ABORTED: the transaction rolled back; start again from Begin().
//   FailedPrecondition  TXN_ALREADY_COMMITTED, TXN_ALREADY_ABORTED, TXN_BUSY.
//   Unavailable         PARTICIPANT_UNAVAILABLE, OVERLOADED, or the coordinator could not be
//                       reached at all (the request was never sent): retry later.
//   TimedOut            TIMEOUT, OUTCOME_UNKNOWN, or no reply within timeout_ms: the effect
//                       may or may not have happened. A Commit that was sent and not
//                       answered is OUTCOME_UNKNOWN (last_error_code), never a guessed
//                       ABORTED: OutcomeOf() (`kv2pc outcome TXN`) asks for it later.
//   Internal            INTERNAL_ERROR, or a reply this client cannot make sense of.
// No exception leaves this library.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <zmq.hpp>

#include "common/messages.h"
#include "common/status.h"
#include "common/types.h"

namespace kv2pc {

struct ClientOptions {
  std::string coordinator;  // tcp://host:port of the coordinator's ROUTER socket
  // Per call: connecting, sending and waiting for the reply. Longer than the coordinator's
  // longest own wait (--op-timeout-ms, 10 s), so its definite answer arrives first.
  int timeout_ms = 15000;
};

// Not thread-safe: use one Client per thread. Copying is deleted (it owns a socket).
class Client {
 public:
  // Creates a client for options.coordinator. Does not wait for the coordinator: ZeroMQ
  // connects in the background and each call waits up to timeout_ms for the connection.
  // Returns InvalidArgument for a malformed endpoint or a timeout_ms <= 0, Internal when
  // ZeroMQ cannot create a socket (e.g. out of file descriptors).
  static Result<std::unique_ptr<Client>> Connect(const ClientOptions& options);

  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;
  ~Client();

  // Starts a transaction; the coordinator assigns its id.
  // `ts`: the wound-wait priority to keep when retrying an aborted transaction (see
  // RunTransaction); nullopt lets the coordinator assign one. last_ts() then tells it.
  Result<TxnId> Begin(std::optional<uint64_t> ts = std::nullopt);
  uint64_t last_ts() const { return last_ts_; }

  // Runs `fn` in a transaction and commits it, retrying the whole transaction when it is
  // aborted for a reason a retry can fix (DEADLOCK_AVOIDANCE, LOCK_TIMEOUT, IDLE_TIMEOUT,
  // PARTICIPANT_RESTARTED, PARTICIPANT_UNAVAILABLE, VOTE_TIMEOUT, PEER_TERMINATION) or when BEGIN is refused
  // with OVERLOADED (the coordinator is at --max-open-txns), with exponential backoff
  // and jitter (1 ms doubling to 100 ms). Every retry keeps the first attempt's timestamp, so
  // wound-wait lets it win eventually (docs/architecture.md, "Locking"). `fn` does the reads
  // and writes through this client with the id it is given; if it returns an error, the
  // transaction is aborted and that error returned (not retried). Gives up after
  // `max_attempts` with the last error. A commit whose outcome is unknown (TimedOut) is
  // returned as is, never retried: it may have committed.
  Status RunTransaction(const std::function<Status(Client&, const TxnId&)>& fn,
                        int max_attempts = 100);
  // Attempts used by the last RunTransaction (1 = no retry).
  int last_attempts() const { return last_attempts_; }

  // Reads `key` in transaction `txn` (under a shared lock until commit/abort).
  // Returns std::nullopt when the key does not exist.
  Result<std::optional<std::string>> Get(const TxnId& txn, std::string_view key);
  // Reads `key` under an exclusive lock (SELECT ... FOR UPDATE): use it for a key the
  // transaction will write after reading. Two transactions that both read a hot key with
  // Get() and then write it make one of them die at the S->X upgrade; with GetForUpdate the
  // second simply waits (or dies at once, if younger) before reading.
  Result<std::optional<std::string>> GetForUpdate(const TxnId& txn, std::string_view key);
  // Writes (or deletes) `key` in `txn`; visible to others after Commit.
  Status Put(const TxnId& txn, std::string_view key, std::string_view value);
  Status Del(const TxnId& txn, std::string_view key);
  // Runs two-phase commit. OK means committed. Aborted means rolled back (a participant voted
  // NO, a lock timed out, ...). TimedOut means the outcome is unknown.
  Status Commit(const TxnId& txn);
  Status Abort(const TxnId& txn);

  // EXEC (docs/protocol.md 5.4b): `ops` in one request -- per participant in order, across
  // participants in parallel -- in transaction `txn`, or without one in a new transaction begun
  // with priority `ts` (as Begin); with `commit`, the transaction then commits, its last writes
  // riding with the PREPAREs. Returns one ExecResult per op (found/value for a get, empty for a
  // put or delete); `*txn_out` (if not null) gets the transaction's id, and last_ts() its
  // priority when the EXEC began it. Errors as Get/Put/Commit; with `commit`, TimedOut
  // (OUTCOME_UNKNOWN) means it may have committed.
  Result<std::vector<ExecResult>> Exec(std::optional<TxnId> txn, std::vector<ExecOp> ops,
                                       bool commit, TxnId* txn_out = nullptr,
                                       std::optional<uint64_t> ts = std::nullopt);

  // One-shot: a single operation in its own transaction, committed by the coordinator.
  Result<std::optional<std::string>> Get(std::string_view key);
  Status Put(std::string_view key, std::string_view value);
  Status Del(std::string_view key);

  // Pings any node (coordinator or participant) at `endpoint` and returns "name (role)",
  // e.g. "participant-0 (participant)". Unavailable or TimedOut when it does not answer
  // within timeout_ms.
  static Result<std::string> Ping(const std::string& endpoint, int timeout_ms);
  // Asks the node at `endpoint` what it is doing (STATUS): the reply's node, role and status
  // (transactions by state, locks held and waited for; at most `limit` of each listed).
  static Result<Reply> NodeStatus(const std::string& endpoint, std::optional<uint32_t> limit,
                                  int timeout_ms);
  // Sends one request to the node at `endpoint` and returns its reply (an error reply as the
  // Status above): the operator's messages (FAILPOINT, IN_DOUBT, RESOLVE, QUERY_OUTCOME).
  static Result<Reply> Ask(const std::string& endpoint, MessageBody request, int timeout_ms);
  // QUERY_OUTCOME at `endpoint` (the coordinator that ran txn): COMMITTED, ABORTED, PENDING or
  // UNKNOWN (too old: the coordinator has forgotten it).
  static Result<Outcome> OutcomeOf(const std::string& endpoint, const TxnId& txn, int timeout_ms);

  // Details of the last failed call: the wire code and the abort reason (kOk and kNone after
  // a success). Local failures report the code they stand for: KEY_TOO_LARGE and
  // VALUE_TOO_LARGE for inputs refused before sending, TIMEOUT when no reply came (or the
  // coordinator could not be reached), INTERNAL_ERROR for an unreadable reply.
  ErrorCode last_error_code() const { return last_error_code_; }
  AbortReason last_abort_reason() const { return last_abort_reason_; }

  const std::string& endpoint() const { return options_.coordinator; }

 private:
  explicit Client(const ClientOptions& options);

  // (Re)creates the DEALER socket and connects it. Any reply still on its way to the old
  // socket is lost with it.
  Status OpenSocket();
  // Sends `body` with a fresh request_id and waits for its reply. Maps an error reply to a
  // Status (and records last_error_code_/last_abort_reason_). `what` names the request in
  // messages ("COMMIT"); `outcome_matters` adds "the outcome is unknown" to a timeout.
  Result<Reply> Call(MessageBody body, std::string_view what, bool outcome_matters);
  // Sets last_error_code_ and builds the Status for a local failure.
  Status LocalError(ErrorCode code, Status status);
  Status CheckKey(std::string_view key);
  Status CheckValue(std::string_view value);
  Status CheckTxn(const TxnId& txn);
  Result<std::optional<std::string>> GetInTxn(const TxnId& txn, std::string_view key,
                                              bool for_update);

  // Constant after construction.
  const ClientOptions options_;

  // The context must outlive the socket: declared first, destroyed last.
  zmq::context_t context_;
  std::unique_ptr<zmq::socket_t> socket_;
  uint64_t next_request_id_ = 1;
  ErrorCode last_error_code_ = ErrorCode::kOk;
  AbortReason last_abort_reason_ = AbortReason::kNone;
  uint64_t last_ts_ = 0;
  int last_attempts_ = 0;
};

// The Status a client reports for an error reply: the code mapping above, and the message
// "<WIRE_NAME>[ (<REASON>)]: <reply.error>". Exposed for tests and tools.
Status StatusFromReply(const Reply& reply);

}  // namespace kv2pc
