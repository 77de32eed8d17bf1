// The kv2pc wire messages: one struct per message, as docs/protocol.md specifies them.
//
// Every message travels as one msgpack value in the last ZeroMQ frame:
//     [protocol_version, type, request_id, body]
// where body is a msgpack map with short string keys. codec.h turns bytes into these
// structs and back; nothing here does I/O. Type numbers are dense within their range and
// never reused; docs/protocol.md lists each message's sender, reply, errors and whether a
// repeat is harmless. Keep the two in step.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/types.h"

namespace kv2pc {

inline constexpr uint32_t kProtocolVersion = 1;

enum class MsgType : uint8_t {
  // Client -> coordinator.
  kBegin = 1,   // start a transaction
  kGet = 2,     // read a key (in a transaction, or one-shot when txn is absent)
  kPut = 3,     // write a key
  kDelete = 4,  // delete a key
  kCommit = 5,  // commit a transaction (runs two-phase commit)
  kAbort = 6,   // abort a transaction
  kExec = 7,    // several operations of a transaction in one request, optionally its commit
  // Coordinator -> participant.
  kRead = 16,          // read a key under a shared lock
  kWrite = 17,         // buffer a write (or delete) under an exclusive lock
  kPrepare = 18,       // phase 1: force PREPARE to the log and vote
  kDecideCommit = 19,  // phase 2: the decision is COMMIT
  kDecideAbort = 20,   // phase 2: the decision is ABORT (or the transaction is abandoned)
  // Participant -> coordinator.
  kQueryOutcome = 24,     // what became of this transaction? (recovery of an in-doubt txn)
  kAbortNotice = 25,      // I rolled back my part of this transaction (e.g. wounded): abort it
  kHeuristicReport = 26,  // an operator forced this transaction's outcome here (kv2pc resolve)
  // Anyone -> any node.
  kPing = 32,    // liveness and identity
  kStatus = 33,  // what the node is doing: transactions by state, locks held and waited for
  // Operator -> a node (kv2pc failpoint / in-doubt / resolve).
  kFailPoint = 34,  // arm, disarm or list fail points (docs/fail-points.md)
  kInDoubt = 35,    // list PREPARED transactions waiting for a decision (participant)
  kResolve = 36,    // force a heuristic COMMIT or ABORT of a PREPARED transaction (participant)
  // Every request is answered by exactly one kReply with the same request_id.
  kReply = 64,
};

// Error codes carried by kReply. Numbers are part of the protocol: never renumber.
enum class ErrorCode : uint8_t {
  kOk = 0,
  kTxnNotFound = 1,             // unknown (or forgotten) transaction id
  kTxnAlreadyCommitted = 2,     // the transaction has committed; this request cannot apply
  kTxnAlreadyAborted = 3,       // the transaction has aborted; this request cannot apply
  kKeyTooLarge = 4,             // key longer than kMaxKeySize (256 bytes)
  kValueTooLarge = 5,           // value longer than kMaxValueSize (1 MiB)
  kMalformedRequest = 6,        // undecodable, wrong types, missing fields, unknown type
  kParticipantUnavailable = 7,  // a participant the request needs is down or unreachable
  kTimeout = 8,                 // no answer in time (transaction aborted if not yet decided)
  kAborted = 9,                 // the transaction was aborted; `reason` says why
  kUnsupportedVersion = 10,     // protocol_version is not one this node speaks
  kTxnBusy = 11,                // another request of the same transaction is in progress
  kInternalError = 12,          // a server-side failure (e.g. log I/O error); see `error`
  kOutcomeUnknown = 13,         // the commit may or may not have happened; ask again later
  kOverloaded = 14,             // the node is at a limit (e.g. open transactions): retry later
  kHeuristicMixed = 15,         // an operator forced an outcome that contradicts the decision
};

std::string_view ErrorCodeName(ErrorCode code);

// Why a transaction was aborted (Reply.reason with code kAborted). Wire form: the name.
enum class AbortReason : uint8_t {
  kNone = 0,
  kClientAbort,             // the client asked
  kVoteNo,                  // a participant voted NO
  kVoteTimeout,             // a participant did not vote in time
  kLockTimeout,             // a lock wait outlived --lock-timeout-ms
  kParticipantUnavailable,  // a participant was down when the transaction needed it
  kParticipantRestarted,    // a participant lost the transaction's workspace in a crash
  kIdleTimeout,             // no request for --txn-idle-timeout-ms
  kOperationFailed,         // a read/write failed (e.g. oversized input): txn rolled back
  kLogFailure,              // the coordinator could not log its decision
  kDeadlockAvoidance,       // wound-wait: an older transaction needed its lock (wounded)
  kPeerTermination,         // asked for the outcome by a fellow participant in doubt while
                            // ACTIVE here: aborted so that it can never commit
  kOutcomeProbe,            // its coordinator asked about a one-phase commit whose vote it
                            // lost while the transaction was still ACTIVE here: aborted so
                            // that it can never commit
};
std::string_view AbortReasonName(AbortReason reason);
std::optional<AbortReason> ParseAbortReason(std::string_view name);

// kCommitted answers a one-phase PREPARE only: the transaction has committed here (its
// ONE_PHASE_COMMIT record is durable).
enum class Vote : uint8_t { kYes = 1, kNo = 2, kReadOnly = 3, kCommitted = 4 };
std::string_view VoteName(Vote vote);

// Answer to kQueryOutcome. PENDING: not decided yet (still running, or in doubt at the node
// asked). UNKNOWN: the node cannot tell (it has forgotten, or never knew, the transaction and
// cannot rule out that it committed).
enum class Outcome : uint8_t { kCommitted = 1, kAborted = 2, kPending = 3, kUnknown = 4 };
std::string_view OutcomeName(Outcome outcome);

// ---- Bodies. Field comments give the map key, msgpack type, and presence. ----

struct BeginRequest {
  // "ts": uint, optional. The wound-wait priority to keep: a client retrying a transaction that
  // was aborted passes the first attempt's ts, so the retry ages instead of starting young
  // (it cannot starve). Absent = the coordinator assigns a new one.
  std::optional<uint64_t> ts;
};

struct GetRequest {
  std::optional<TxnId> txn;  // "txn": [u32,u32,u64]; absent = one-shot transaction
  std::string key;           // "key": bin (str accepted); <= 256 bytes
  // "for_update": bool, optional (absent = false). Read under an exclusive lock, as SELECT ...
  // FOR UPDATE: for a read-modify-write, it avoids the S->X upgrade that makes two readers of
  // a hot key abort each other.
  bool for_update = false;
};

struct PutRequest {
  std::optional<TxnId> txn;  // "txn"; absent = one-shot transaction
  std::string key;           // "key": bin
  std::string value;         // "value": bin (str accepted); <= 1 MiB
};

struct DeleteRequest {
  std::optional<TxnId> txn;  // "txn"; absent = one-shot transaction
  std::string key;           // "key": bin
};

struct CommitRequest {
  TxnId txn;  // "txn": required
};

// One operation of an EXEC: a map {"op": "get"|"put"|"delete", "key": bin, "value": bin (put),
// "for_update": bool (get, optional)}.
struct ExecOp {
  enum class Kind : uint8_t { kGet, kPut, kDelete };
  Kind kind = Kind::kGet;
  std::string key;
  std::string value;  // put only
  bool for_update = false;
  bool operator==(const ExecOp&) const = default;
};

// EXEC: a transaction's operations in one request (docs/protocol.md 5.6b). Without "txn" it
// begins a new transaction first (as BEGIN, keeping "ts" if given); the operations run in
// order per participant and in parallel across participants; with "commit" the transaction
// then commits, and writes that no later GET of the same request depends on travel with the
// PREPARE (one round trip instead of two). At most kMaxExecOps operations.
struct ExecRequest {
  std::optional<TxnId> txn;    // "txn", optional
  std::optional<uint64_t> ts;  // "ts": uint, optional, only without "txn"
  std::vector<ExecOp> ops;     // "ops": [op map...]
  bool commit = false;         // "commit": bool, optional
};
inline constexpr size_t kMaxExecOps = 1000;

// The answer to one EXEC operation (Reply.results, in the order of "ops"): {"found": bool,
// "value": bin} for a get, {} for a put or delete.
struct ExecResult {
  std::optional<bool> found;
  std::optional<std::string> value;
  bool operator==(const ExecResult&) const = default;
};

struct AbortRequest {
  TxnId txn;  // "txn": required
};

// READ and WRITE carry "seq": the number of operations the coordinator sent this
// participant for this transaction before this one (0, 1, 2, ...), and PREPARE carries "ops",
// the total. A participant that restarted and lost a transaction's workspace sees a
// transaction it does not know with seq > 0 (or a count that does not match at PREPARE) and
// refuses, instead of committing a partial write set.
struct ReadRequest {
  TxnId txn;                // "txn": required
  std::string key;          // "key": bin
  uint32_t seq = 0;         // "seq": uint
  uint64_t ts = 0;          // "ts": uint, the transaction's wound-wait priority (smaller = older)
  bool for_update = false;  // "for_update": bool, optional: take the X lock (GET for_update)
};

struct WriteRequest {
  TxnId txn;                         // "txn": required
  std::string key;                   // "key": bin
  std::optional<std::string> value;  // "value": bin, or nil/absent for a delete
  uint32_t seq = 0;                  // "seq": uint
  uint64_t ts = 0;                   // "ts": uint, as in READ
};

struct PrepareRequest {
  TxnId txn;         // "txn": required
  uint32_t ops = 0;  // "ops": uint, operations sent to this participant in this txn
  // "participants": [str], optional: the names of every participant of the transaction
  // (this one included). Logged with the PREPARE, so that while in doubt a participant can ask
  // its fellows for the outcome (cooperative termination) when the coordinator is down.
  std::vector<std::string> participants;
  // "one_phase": bool, optional (absent = false): this participant is the transaction's only
  // one, so there is nothing to coordinate: commit at once if it can (one forced
  // ONE_PHASE_COMMIT record) and vote COMMITTED, else vote NO. Only the coordinator sets it.
  bool one_phase = false;
};

struct DecideCommitRequest {
  TxnId txn;  // "txn": required
};

struct DecideAbortRequest {
  TxnId txn;  // "txn": required
};

struct QueryOutcomeRequest {
  TxnId txn;  // "txn": required
  // "holder": bool, optional. Sent by a participant about a transaction it holds ACTIVE or
  // PREPARED (not committing by one-phase commit): then it was not committed by one-phase
  // commit anywhere, and the coordinator may presume ABORTED for an id it does not know
  // without asking the participants (docs/protocol.md 5.10).
  bool holder = false;
  // "one_phase": bool, optional. Sent by a coordinator to a participant: did you commit this
  // transaction by one-phase commit? COMMITTED, ABORTED (it did not, and now never will: an
  // ACTIVE transaction is aborted first), PENDING (its ONE_PHASE_COMMIT record is on its way
  // to the disk), UNKNOWN (the id is older than what the participant remembers).
  bool one_phase = false;
};

// A participant rolled back its part of an ACTIVE transaction on its own (wound-wait wounded
// it) while no request of it was pending there: its coordinator should abort it everywhere
// now, rather than let it work on (or wait for locks) elsewhere until its next request here.
struct AbortNoticeRequest {
  TxnId txn;                                // "txn": required
  AbortReason reason = AbortReason::kNone;  // "reason": str (abort reason name), optional
  std::string error;                        // "error": str, optional: why, for the client
};

// An operator forced the outcome of a PREPARED transaction at a participant (RESOLVE): the
// participant tells the transaction's coordinator, which reports HEURISTIC_MIXED if it decided
// otherwise.
struct HeuristicReportRequest {
  TxnId txn;                // "txn": required
  bool committed = false;   // "committed": bool, required: the forced outcome
  std::string participant;  // "participant": str, required: who forced it
};

struct PingRequest {};

// Arms, disarms or lists fail points. Without "name" it only lists.
struct FailPointRequest {
  std::string name;    // "name": str, optional, e.g. "participant.after_prepare_logged"
  std::string action;  // "action": str, with name: off|crash|pause|sleep(MS)|error, "N*" prefix
};

// Lists the transactions that voted YES here and wait for a decision (PREPARED), oldest first.
struct InDoubtRequest {
  std::optional<uint32_t> limit;  // "limit": uint, optional (as STATUS)
};

// Forces the outcome of a PREPARED transaction here: a heuristic decision, for when its
// coordinator is lost for good. Refused unless the transaction is PREPARED here.
struct ResolveRequest {
  TxnId txn;            // "txn": required
  bool commit = false;  // "commit": bool, required: true = COMMIT, false = ABORT
};

struct StatusRequest {
  // "limit": uint, optional: list at most this many transactions and this many locked keys
  // (default kDefaultLimit, at most kMaxLimit). Totals are always complete.
  std::optional<uint32_t> limit;
  static constexpr uint32_t kDefaultLimit = 100;
  static constexpr uint32_t kMaxLimit = 10000;
};

// ---- The STATUS answer (Reply.status). Informational: fields may be added, never renamed. ----

struct TxnStatus {
  TxnId txn;            // "txn": [u32,u32,u64]
  std::string state;    // "state": str, e.g. ACTIVE, PREPARED (the node's own state names)
  uint64_t ts = 0;      // "ts": uint, wound-wait priority (smaller = older)
  uint64_t age_ms = 0;  // "age_ms": uint, since the node first saw the transaction
  uint32_t locks = 0;   // "locks": uint, keys it holds locks on (participant)
  std::optional<std::string> waiting_for;  // "waiting_for": bin, the key it waits to lock
  std::string detail;  // "detail": str, optional: e.g. "in doubt: recovered from the WAL"
  bool operator==(const TxnStatus&) const = default;
};

struct LockWaiter {
  TxnId txn;         // "txn"
  std::string mode;  // "mode": "S" or "X"
  bool operator==(const LockWaiter&) const = default;
};

struct LockStatus {
  std::string key;                  // "key": bin
  std::string mode;                 // "mode": "S" or "X", the mode the holders hold
  std::vector<TxnId> holders;       // "holders": [txn...]
  std::vector<LockWaiter> waiters;  // "waiters": [{txn, mode}...], in queue order
  bool operator==(const LockStatus&) const = default;
};

struct NodeStatus {
  uint64_t uptime_ms = 0;  // "uptime_ms": uint
  // "counters": map str -> uint, e.g. txns_active, locks_held, committed (since start).
  // docs/protocol.md lists them per role.
  std::vector<std::pair<std::string, uint64_t>> counters;
  std::vector<TxnStatus> txns;    // "txns": oldest first, at most `limit`
  uint64_t txns_total = 0;        // "txns_total": uint, how many there are in all
  std::vector<LockStatus> locks;  // "locks": keys with waiters first, at most `limit`
  uint64_t locks_total = 0;       // "locks_total": uint, locked keys in all
  bool operator==(const NodeStatus&) const = default;
};

// One armed fail point (Reply.failpoints).
struct FailPointState {
  std::string name;    // "name": str
  std::string action;  // "action": str, as FailAction::ToString
  uint64_t hits = 0;   // "hits": uint, times reached while armed
  uint64_t held = 0;   // "held": uint, continuations a pause holds
  bool operator==(const FailPointState&) const = default;
};

// One PREPARED transaction waiting for its decision (Reply.in_doubt).
struct InDoubtTxn {
  TxnId txn;                              // "txn"
  std::string coordinator;                // "coordinator": str, the node that decides it
  uint64_t age_ms = 0;                    // "age_ms": uint, since it voted YES (or recovery)
  uint64_t prepare_lsn = 0;               // "prepare_lsn": uint, its PREPARE record
  bool recovered = false;                 // "recovered": bool, found in the WAL at start-up
  std::vector<std::string> participants;  // "participants": [str], every participant, if known
  std::vector<std::string> keys;          // "keys": [bin], keys it holds X locks on (<= 100)
  uint64_t keys_total = 0;                // "keys_total": uint
  std::vector<TxnId> waiters;             // "waiters": [txn], transactions waiting on them
  std::string why;  // "why": str, why this participant cannot decide alone (last attempts)
  bool operator==(const InDoubtTxn&) const = default;
};

// A STATUS reply stays well under kMaxMessageSize: nodes stop listing transactions and locks
// once the entries' encoded sizes (upper estimates below) pass this; the totals still count all.
inline constexpr size_t kStatusListBudget = 2u << 20;
size_t EncodedSizeBound(const TxnStatus& t);
size_t EncodedSizeBound(const LockStatus& l);
size_t EncodedSizeBound(const InDoubtTxn& t);

// Appends the counters "aborted" (the sum) and "aborted.<REASON>" for each reason in
// `by_reason`, as both roles report them.
void AddAbortCounters(const std::map<AbortReason, uint64_t>& by_reason, NodeStatus* status);

// The one reply type. Only the fields the request defines are present.
struct Reply {
  ErrorCode code = ErrorCode::kOk;          // "code": uint, always present
  std::string error;                        // "error": str, human-readable: why code != OK, or
                                            // why a PREPARE vote is NO
  AbortReason reason = AbortReason::kNone;  // "reason": str, whenever the transaction was
                                            // aborted by the request (code ABORTED, TIMEOUT,
                                            // PARTICIPANT_UNAVAILABLE, TXN_ALREADY_ABORTED)
  std::optional<TxnId> txn;                 // "txn": BEGIN, one-shot ops, errors about a txn
  std::optional<bool> found;                // "found": bool, in every GET/READ answer
  std::optional<std::string> value;         // "value": bin, GET/READ when found
  std::optional<Vote> vote;                 // "vote": str, PREPARE
  std::optional<Outcome> outcome;           // "outcome": str, QUERY_OUTCOME
  std::optional<uint64_t> ts;               // "ts": uint, BEGIN: the transaction's priority
  std::string node;                         // "node": str, PING
  std::string role;                         // "role": str, PING and STATUS
  std::optional<NodeStatus> status;         // "status": map, STATUS
  std::vector<FailPointState> failpoints;   // "failpoints": [map], FAILPOINT (armed points)
  std::optional<std::vector<InDoubtTxn>> in_doubt;  // "in_doubt": [map], IN_DOUBT
  std::optional<std::vector<ExecResult>> results;   // "results": [map], EXEC

  bool ok() const { return code == ErrorCode::kOk; }
  static Reply Error(ErrorCode code, std::string error) {
    Reply r;
    r.code = code;
    r.error = std::move(error);
    return r;
  }
  static Reply AbortedBecause(AbortReason reason, std::string error) {
    Reply r = Error(ErrorCode::kAborted, std::move(error));
    r.reason = reason;
    return r;
  }
};

using MessageBody =
    std::variant<BeginRequest, GetRequest, PutRequest, DeleteRequest, CommitRequest, AbortRequest,
                 ExecRequest, ReadRequest, WriteRequest, PrepareRequest, DecideCommitRequest,
                 DecideAbortRequest, QueryOutcomeRequest, AbortNoticeRequest,
                 HeuristicReportRequest, PingRequest, StatusRequest, FailPointRequest,
                 InDoubtRequest, ResolveRequest, Reply>;

struct Message {
  uint64_t request_id = 0;
  MessageBody body;

  MsgType type() const;
};

std::string_view MsgTypeName(MsgType type);

}  // namespace kv2pc
