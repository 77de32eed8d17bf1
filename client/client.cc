// The kv2pc client library. See client.h and docs/protocol.md.
//
// Waiting: each call has one deadline, timeout_ms from its start, shared by two waits.
// First the request waits for the connection: the socket has ZMQ_IMMEDIATE set
// (ConfigureCallerSocket), so it turns writable only once a TCP connection to the coordinator
// exists, and a request that cannot be sent by the deadline is known not to have reached it
// (Unavailable). Then it waits for the reply (TimedOut when none comes, the effect unknown).
// We rejected a blocking send with ZMQ_SNDTIMEO: polling keeps both waits on one deadline.
#include "client/client.h"

#include <cerrno>
#include <chrono>
#include <thread>
#include <utility>

#include "common/codec.h"
#include "common/transport.h"

namespace kv2pc {

namespace {

using Clock = std::chrono::steady_clock;

// Milliseconds left until `deadline`, at least 0.
long RemainingMs(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return left.count() > 0 ? static_cast<long>(left.count()) : 0;
}

// Waits up to `timeout_ms` for `events` on `socket`. Returns true when they are there.
// EINTR counts as "not yet"; the caller loops until its deadline.
bool WaitFor(zmq::socket_t& socket, short events, long timeout_ms) {
  zmq_pollitem_t item{socket.handle(), 0, events, 0};
  try {
    return zmq::poll(&item, 1, std::chrono::milliseconds(timeout_ms)) > 0 &&
           (item.revents & events) != 0;
  } catch (const zmq::error_t&) {
    return false;
  }
}

}  // namespace

Status StatusFromReply(const Reply& reply) {
  std::string message(ErrorCodeName(reply.code));
  if (reply.code == ErrorCode::kAborted && reply.reason != AbortReason::kNone) {
    message += " (";
    message += AbortReasonName(reply.reason);
    message += ")";
  }
  if (!reply.error.empty()) {
    message += ": ";
    message += reply.error;
  }
  switch (reply.code) {
    case ErrorCode::kOk:
      return Status::OK();
    case ErrorCode::kTxnNotFound:
      return Status::NotFound(std::move(message));
    case ErrorCode::kTxnAlreadyCommitted:
    case ErrorCode::kTxnAlreadyAborted:
    case ErrorCode::kTxnBusy:
    case ErrorCode::kHeuristicMixed:
      return Status::FailedPrecondition(std::move(message));
    case ErrorCode::kKeyTooLarge:
    case ErrorCode::kValueTooLarge:
    case ErrorCode::kMalformedRequest:
    case ErrorCode::kUnsupportedVersion:
      return Status::InvalidArgument(std::move(message));
    case ErrorCode::kParticipantUnavailable:
    case ErrorCode::kOverloaded:
      return Status::Unavailable(std::move(message));
    case ErrorCode::kTimeout:
    case ErrorCode::kOutcomeUnknown:
      return Status::TimedOut(std::move(message));
    case ErrorCode::kAborted:
      return Status::Aborted(std::move(message));
    case ErrorCode::kInternalError:
      return Status::Internal(std::move(message));
  }
  // A code from a newer protocol revision.
  return Status::Internal(message + " (error code " + std::to_string(static_cast<int>(reply.code)) +
                          ")");
}

Client::Client(const ClientOptions& options) : options_(options) {}

Client::~Client() = default;

Result<std::unique_ptr<Client>> Client::Connect(const ClientOptions& options) {
  if (options.coordinator.empty()) return Status::InvalidArgument("no coordinator endpoint given");
  if (options.timeout_ms <= 0) {
    return Status::InvalidArgument("timeout_ms must be positive, not " +
                                   std::to_string(options.timeout_ms));
  }
  std::unique_ptr<Client> client;
  try {
    client.reset(new Client(options));  // private constructor: make_unique cannot reach it
  } catch (const zmq::error_t& e) {
    return Status::Internal(std::string("cannot create a ZeroMQ context: ") + e.what());
  }
  KV2PC_RETURN_IF_ERROR(client->OpenSocket());
  return client;
}

Status Client::OpenSocket() {
  socket_.reset();
  try {
    auto socket = std::make_unique<zmq::socket_t>(context_, zmq::socket_type::dealer);
    ConfigureCallerSocket(*socket, /*accepts_batches=*/false);  // one request at a time
    KV2PC_RETURN_IF_ERROR(::kv2pc::Connect(*socket, options_.coordinator));
    socket_ = std::move(socket);
  } catch (const zmq::error_t& e) {
    return Status::Internal(std::string("cannot create a ZeroMQ socket: ") + e.what());
  }
  return Status::OK();
}

Status Client::LocalError(ErrorCode code, Status status) {
  last_error_code_ = code;
  last_abort_reason_ = AbortReason::kNone;
  return status;
}

Result<Reply> Client::Call(MessageBody body, std::string_view what, bool outcome_matters) {
  last_error_code_ = ErrorCode::kOk;
  last_abort_reason_ = AbortReason::kNone;
  const Clock::time_point deadline = Clock::now() + std::chrono::milliseconds(options_.timeout_ms);
  if (socket_ == nullptr) {
    // A reopen after an earlier timeout failed; try again.
    Status s = OpenSocket();
    if (!s.ok()) return LocalError(ErrorCode::kInternalError, s);
  }

  const Message request{next_request_id_++, std::move(body)};
  const std::string payload = EncodeMessage(request);

  // Wait for the connection, then send. SendDealer may still fail if the connection dropped
  // between the poll and the send: then wait again.
  bool sent = false;
  while (!sent) {
    long left = RemainingMs(deadline);
    if (WaitFor(*socket_, ZMQ_POLLOUT, left)) sent = SendDealer(*socket_, payload).ok();
    if (!sent && RemainingMs(deadline) == 0) {
      return LocalError(
          ErrorCode::kTimeout,
          Status::Unavailable("TIMEOUT: could not connect to " + options_.coordinator + " within " +
                              std::to_string(options_.timeout_ms) + " ms (is it running?); the " +
                              std::string(what) + " request was not sent"));
    }
  }

  // Wait for the reply with our request_id; drop anything else.
  for (;;) {
    long left = RemainingMs(deadline);
    if (left == 0 || !WaitFor(*socket_, ZMQ_POLLIN, left)) {
      if (RemainingMs(deadline) > 0) continue;  // EINTR or a spurious wake-up
      // The reply may still come. Its id would never match again, so it would only sit in
      // this socket's queue until some later call reads and drops it; a fresh socket never
      // receives it. If reopening fails, socket_ stays null and the next call retries.
      if (!OpenSocket().ok()) socket_.reset();
      std::string message = "no reply to " + std::string(what) + " from " + options_.coordinator +
                            " within " + std::to_string(options_.timeout_ms) + " ms";
      if (!outcome_matters) {
        return LocalError(ErrorCode::kTimeout, Status::TimedOut("TIMEOUT: " + message));
      }
      // The request was sent: it may have taken effect (a COMMIT decided and logged just before
      // the coordinator died). Never a guessed ABORTED: ask for the outcome later.
      message = "OUTCOME_UNKNOWN: " + message +
                "; the outcome is unknown (it may or may not have happened)";
      if (const auto* c = std::get_if<CommitRequest>(&request.body)) {
        message += "; `kv2pc outcome " + c->txn.ToString() + "` asks for it later";
      } else if (const auto* e = std::get_if<ExecRequest>(&request.body); e && e->txn) {
        message += "; `kv2pc outcome " + e->txn->ToString() + "` asks for it later";
      }
      return LocalError(ErrorCode::kOutcomeUnknown, Status::TimedOut(std::move(message)));
    }
    zmq::message_t frame;
    if (!RecvDealer(*socket_, &frame)) continue;
    uint64_t request_id = 0;
    Result<Message> decoded = DecodeMessage(View(frame), &request_id, kReplyLimits);
    if (request_id != request.request_id) continue;  // stale: an answer to an earlier request
    if (!decoded.ok()) {
      return LocalError(
          ErrorCode::kInternalError,
          Status::Internal("INTERNAL_ERROR: unreadable reply to " + std::string(what) + " from " +
                           options_.coordinator + ": " + decoded.status().message()));
    }
    Reply* reply = std::get_if<Reply>(&decoded->body);
    if (reply == nullptr) {
      return LocalError(ErrorCode::kInternalError,
                        Status::Internal("INTERNAL_ERROR: " + options_.coordinator + " answered " +
                                         std::string(what) + " with a " +
                                         std::string(MsgTypeName(decoded->type())) +
                                         " message instead of a REPLY"));
    }
    if (!reply->ok()) {
      last_error_code_ = reply->code;
      last_abort_reason_ = reply->reason;
      return StatusFromReply(*reply);
    }
    return std::move(*reply);
  }
}

Status Client::CheckKey(std::string_view key) {
  if (key.size() <= kMaxKeySize) return Status::OK();
  return LocalError(ErrorCode::kKeyTooLarge,
                    Status::InvalidArgument("KEY_TOO_LARGE: key is " + std::to_string(key.size()) +
                                            " bytes; the limit is " + std::to_string(kMaxKeySize)));
}

Status Client::CheckValue(std::string_view value) {
  if (value.size() <= kMaxValueSize) return Status::OK();
  return LocalError(
      ErrorCode::kValueTooLarge,
      Status::InvalidArgument("VALUE_TOO_LARGE: value is " + std::to_string(value.size()) +
                              " bytes; the limit is " + std::to_string(kMaxValueSize)));
}

Status Client::CheckTxn(const TxnId& txn) {
  if (txn.valid()) return Status::OK();
  return LocalError(ErrorCode::kMalformedRequest,
                    Status::InvalidArgument("MALFORMED_REQUEST: " + txn.ToString() +
                                            " is not a transaction id (incarnation 0)"));
}

Result<TxnId> Client::Begin(std::optional<uint64_t> ts) {
  KV2PC_ASSIGN_OR_RETURN(Reply reply, Call(BeginRequest{ts}, "BEGIN", false));
  if (!reply.txn.has_value() || !reply.txn->valid()) {
    return LocalError(ErrorCode::kInternalError,
                      Status::Internal("INTERNAL_ERROR: the BEGIN reply from " +
                                       options_.coordinator + " carries no transaction id"));
  }
  last_ts_ = reply.ts.value_or(ts.value_or(0));
  return *reply.txn;
}

namespace {
bool Retryable(ErrorCode code, AbortReason reason) {
  if (code == ErrorCode::kParticipantUnavailable) return true;
  if (code != ErrorCode::kAborted && code != ErrorCode::kTxnAlreadyAborted) return false;
  switch (reason) {
    case AbortReason::kDeadlockAvoidance:
    case AbortReason::kLockTimeout:
    case AbortReason::kIdleTimeout:
    case AbortReason::kParticipantRestarted:
    case AbortReason::kParticipantUnavailable:
    case AbortReason::kVoteTimeout:
    case AbortReason::kPeerTermination:
      return true;
    default:
      return false;
  }
}
}  // namespace

Status Client::RunTransaction(const std::function<Status(Client&, const TxnId&)>& fn,
                              int max_attempts) {
  std::optional<uint64_t> ts;
  std::chrono::microseconds backoff(1000);
  // Jitter from a per-client generator: clients that collided should not retry in lockstep.
  uint64_t rng = reinterpret_cast<uintptr_t>(this) ^
                 static_cast<uint64_t>(Clock::now().time_since_epoch().count());
  Status last;
  for (last_attempts_ = 1;; last_attempts_++) {
    Result<TxnId> txn = Begin(ts);
    const bool overloaded = !txn.ok() && last_error_code_ == ErrorCode::kOverloaded;
    if (!txn.ok() && (!overloaded || last_attempts_ >= max_attempts)) return txn.status();
    if (overloaded) {
      last = txn.status();  // the coordinator is at its limit: back off and begin again
    } else {
      if (!ts) ts = last_ts_;             // every retry keeps the first attempt's age
      last_error_code_ = ErrorCode::kOk;  // so that an error fn makes up is not retried
      last_abort_reason_ = AbortReason::kNone;
      Status s = fn(*this, *txn);
      if (s.ok()) {
        s = Commit(*txn);
        if (s.ok() || s.IsTimedOut()) return s;  // committed, or outcome unknown: never retry
      }
      last = s;
      if (!Retryable(last_error_code_, last_abort_reason_) || last_attempts_ >= max_attempts) {
        (void)Abort(*txn);  // the caller's own error, or a final one: roll back (harmless twice)
        return last;
      }
    }
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    auto sleep = backoff / 2 + std::chrono::microseconds(rng % (backoff.count() / 2 + 1));
    std::this_thread::sleep_for(sleep);
    backoff = std::min(backoff * 2, std::chrono::microseconds(100000));
  }
}

Result<std::optional<std::string>> Client::Get(const TxnId& txn, std::string_view key) {
  return GetInTxn(txn, key, false);
}

Result<std::optional<std::string>> Client::GetForUpdate(const TxnId& txn, std::string_view key) {
  return GetInTxn(txn, key, true);
}

Result<std::optional<std::string>> Client::GetInTxn(const TxnId& txn, std::string_view key,
                                                    bool for_update) {
  KV2PC_RETURN_IF_ERROR(CheckTxn(txn));
  KV2PC_RETURN_IF_ERROR(CheckKey(key));
  KV2PC_ASSIGN_OR_RETURN(Reply reply,
                         Call(GetRequest{txn, std::string(key), for_update}, "GET", false));
  if (!reply.found.value_or(false)) return std::optional<std::string>();
  return std::optional<std::string>(std::move(reply.value).value_or(std::string()));
}

Status Client::Put(const TxnId& txn, std::string_view key, std::string_view value) {
  KV2PC_RETURN_IF_ERROR(CheckTxn(txn));
  KV2PC_RETURN_IF_ERROR(CheckKey(key));
  KV2PC_RETURN_IF_ERROR(CheckValue(value));
  return Call(PutRequest{txn, std::string(key), std::string(value)}, "PUT", false).status();
}

Status Client::Del(const TxnId& txn, std::string_view key) {
  KV2PC_RETURN_IF_ERROR(CheckTxn(txn));
  KV2PC_RETURN_IF_ERROR(CheckKey(key));
  return Call(DeleteRequest{txn, std::string(key)}, "DELETE", false).status();
}

Result<std::vector<ExecResult>> Client::Exec(std::optional<TxnId> txn, std::vector<ExecOp> ops,
                                             bool commit, TxnId* txn_out,
                                             std::optional<uint64_t> ts) {
  if (txn) KV2PC_RETURN_IF_ERROR(CheckTxn(*txn));
  if (txn && ts)
    return Status::InvalidArgument("EXEC takes ts only when it begins the transaction");
  if (ops.size() > kMaxExecOps) {
    return Status::InvalidArgument("EXEC takes at most " + std::to_string(kMaxExecOps) +
                                   " operations, not " + std::to_string(ops.size()));
  }
  for (const ExecOp& op : ops) {
    KV2PC_RETURN_IF_ERROR(CheckKey(op.key));
    if (op.kind == ExecOp::Kind::kPut) KV2PC_RETURN_IF_ERROR(CheckValue(op.value));
  }
  const size_t n = ops.size();
  KV2PC_ASSIGN_OR_RETURN(Reply reply,
                         Call(ExecRequest{txn, ts, std::move(ops), commit}, "EXEC", commit));
  if (!reply.txn || !reply.results || reply.results->size() != n) {
    return LocalError(ErrorCode::kInternalError,
                      Status::Internal("INTERNAL_ERROR: the EXEC reply from " +
                                       options_.coordinator + " lacks txn or results"));
  }
  if (txn_out != nullptr) *txn_out = *reply.txn;
  if (reply.ts) last_ts_ = *reply.ts;
  return std::move(*reply.results);
}

Status Client::Commit(const TxnId& txn) {
  KV2PC_RETURN_IF_ERROR(CheckTxn(txn));
  return Call(CommitRequest{txn}, "COMMIT", true).status();
}

Status Client::Abort(const TxnId& txn) {
  KV2PC_RETURN_IF_ERROR(CheckTxn(txn));
  return Call(AbortRequest{txn}, "ABORT", false).status();
}

Result<std::optional<std::string>> Client::Get(std::string_view key) {
  KV2PC_RETURN_IF_ERROR(CheckKey(key));
  KV2PC_ASSIGN_OR_RETURN(Reply reply,
                         Call(GetRequest{std::nullopt, std::string(key)}, "GET", false));
  if (!reply.found.value_or(false)) return std::optional<std::string>();
  return std::optional<std::string>(std::move(reply.value).value_or(std::string()));
}

Status Client::Put(std::string_view key, std::string_view value) {
  KV2PC_RETURN_IF_ERROR(CheckKey(key));
  KV2PC_RETURN_IF_ERROR(CheckValue(value));
  // A one-shot write commits on the coordinator: a timeout leaves its outcome unknown.
  return Call(PutRequest{std::nullopt, std::string(key), std::string(value)}, "PUT", true).status();
}

Status Client::Del(std::string_view key) {
  KV2PC_RETURN_IF_ERROR(CheckKey(key));
  return Call(DeleteRequest{std::nullopt, std::string(key)}, "DELETE", true).status();
}

Result<std::string> Client::Ping(const std::string& endpoint, int timeout_ms) {
  KV2PC_ASSIGN_OR_RETURN(std::unique_ptr<Client> client, Connect({endpoint, timeout_ms}));
  KV2PC_ASSIGN_OR_RETURN(Reply reply, client->Call(PingRequest{}, "PING", false));
  std::string name = reply.node.empty() ? "(unnamed node)" : reply.node;
  std::string role = reply.role.empty() ? "unknown role" : reply.role;
  return name + " (" + role + ")";
}

Result<Reply> Client::Ask(const std::string& endpoint, MessageBody request, int timeout_ms) {
  std::string what(MsgTypeName(Message{0, request}.type()));
  KV2PC_ASSIGN_OR_RETURN(std::unique_ptr<Client> client, Connect({endpoint, timeout_ms}));
  return client->Call(std::move(request), what, false);
}

Result<Outcome> Client::OutcomeOf(const std::string& endpoint, const TxnId& txn, int timeout_ms) {
  KV2PC_ASSIGN_OR_RETURN(Reply reply, Ask(endpoint, QueryOutcomeRequest{txn}, timeout_ms));
  if (!reply.outcome) {
    return Status::Internal("INTERNAL_ERROR: the QUERY_OUTCOME reply from " + endpoint +
                            " carries no outcome");
  }
  return *reply.outcome;
}

Result<Reply> Client::NodeStatus(const std::string& endpoint, std::optional<uint32_t> limit,
                                 int timeout_ms) {
  KV2PC_ASSIGN_OR_RETURN(std::unique_ptr<Client> client, Connect({endpoint, timeout_ms}));
  KV2PC_ASSIGN_OR_RETURN(Reply reply, client->Call(StatusRequest{limit}, "STATUS", false));
  if (!reply.status) {
    return Status::Internal("INTERNAL_ERROR: the STATUS reply from " + endpoint +
                            " carries no status");
  }
  return reply;
}

}  // namespace kv2pc
