// Names of message types, error codes and enums, as they appear in docs/protocol.md.
#include "common/messages.h"

#include <type_traits>

namespace kv2pc {

std::string_view ErrorCodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::kOk:
      return "OK";
    case ErrorCode::kTxnNotFound:
      return "TXN_NOT_FOUND";
    case ErrorCode::kTxnAlreadyCommitted:
      return "TXN_ALREADY_COMMITTED";
    case ErrorCode::kTxnAlreadyAborted:
      return "TXN_ALREADY_ABORTED";
    case ErrorCode::kKeyTooLarge:
      return "KEY_TOO_LARGE";
    case ErrorCode::kValueTooLarge:
      return "VALUE_TOO_LARGE";
    case ErrorCode::kMalformedRequest:
      return "MALFORMED_REQUEST";
    case ErrorCode::kParticipantUnavailable:
      return "PARTICIPANT_UNAVAILABLE";
    case ErrorCode::kTimeout:
      return "TIMEOUT";
    case ErrorCode::kAborted:
      return "ABORTED";
    case ErrorCode::kUnsupportedVersion:
      return "UNSUPPORTED_VERSION";
    case ErrorCode::kTxnBusy:
      return "TXN_BUSY";
    case ErrorCode::kInternalError:
      return "INTERNAL_ERROR";
    case ErrorCode::kOutcomeUnknown:
      return "OUTCOME_UNKNOWN";
    case ErrorCode::kOverloaded:
      return "OVERLOADED";
    case ErrorCode::kHeuristicMixed:
      return "HEURISTIC_MIXED";
  }
  return "UNKNOWN_ERROR";
}

std::string_view AbortReasonName(AbortReason reason) {
  switch (reason) {
    case AbortReason::kNone:
      return "NONE";
    case AbortReason::kClientAbort:
      return "CLIENT_ABORT";
    case AbortReason::kVoteNo:
      return "VOTE_NO";
    case AbortReason::kVoteTimeout:
      return "VOTE_TIMEOUT";
    case AbortReason::kLockTimeout:
      return "LOCK_TIMEOUT";
    case AbortReason::kParticipantUnavailable:
      return "PARTICIPANT_UNAVAILABLE";
    case AbortReason::kParticipantRestarted:
      return "PARTICIPANT_RESTARTED";
    case AbortReason::kIdleTimeout:
      return "IDLE_TIMEOUT";
    case AbortReason::kOperationFailed:
      return "OPERATION_FAILED";
    case AbortReason::kLogFailure:
      return "LOG_FAILURE";
    case AbortReason::kDeadlockAvoidance:
      return "DEADLOCK_AVOIDANCE";
    case AbortReason::kPeerTermination:
      return "PEER_TERMINATION";
    case AbortReason::kOutcomeProbe:
      return "OUTCOME_PROBE";
  }
  return "NONE";
}

std::optional<AbortReason> ParseAbortReason(std::string_view name) {
  for (int i = 0; i <= static_cast<int>(AbortReason::kOutcomeProbe); i++) {
    auto r = static_cast<AbortReason>(i);
    if (AbortReasonName(r) == name) return r;
  }
  return std::nullopt;
}

std::string_view VoteName(Vote vote) {
  switch (vote) {
    case Vote::kYes:
      return "YES";
    case Vote::kNo:
      return "NO";
    case Vote::kReadOnly:
      return "READ_ONLY";
    case Vote::kCommitted:
      return "COMMITTED";
  }
  return "NO";
}

std::string_view OutcomeName(Outcome outcome) {
  switch (outcome) {
    case Outcome::kCommitted:
      return "COMMITTED";
    case Outcome::kAborted:
      return "ABORTED";
    case Outcome::kPending:
      return "PENDING";
    case Outcome::kUnknown:
      return "UNKNOWN";
  }
  return "PENDING";
}

// Map keys and msgpack headers (< 64 bytes), a txn id (<= 23 bytes), each string's bytes.
size_t EncodedSizeBound(const TxnStatus& t) {
  return 160 + t.state.size() + t.detail.size() + (t.waiting_for ? t.waiting_for->size() : 0);
}
size_t EncodedSizeBound(const InDoubtTxn& t) {
  size_t n = 200 + t.coordinator.size() + t.why.size() + 24 * t.waiters.size();
  for (const auto& p : t.participants) n += 8 + p.size();
  for (const auto& k : t.keys) n += 8 + k.size();
  return n;
}
size_t EncodedSizeBound(const LockStatus& l) {
  return 64 + l.key.size() + l.mode.size() + 24 * l.holders.size() + 40 * l.waiters.size();
}

void AddAbortCounters(const std::map<AbortReason, uint64_t>& by_reason, NodeStatus* status) {
  uint64_t total = 0;
  for (const auto& [reason, count] : by_reason) total += count;
  status->counters.emplace_back("aborted", total);
  for (const auto& [reason, count] : by_reason) {
    status->counters.emplace_back("aborted." + std::string(AbortReasonName(reason)), count);
  }
}

MsgType Message::type() const {
  return std::visit(
      [](const auto& b) -> MsgType {
        using T = std::decay_t<decltype(b)>;
        if constexpr (std::is_same_v<T, BeginRequest>) return MsgType::kBegin;
        if constexpr (std::is_same_v<T, GetRequest>) return MsgType::kGet;
        if constexpr (std::is_same_v<T, PutRequest>) return MsgType::kPut;
        if constexpr (std::is_same_v<T, DeleteRequest>) return MsgType::kDelete;
        if constexpr (std::is_same_v<T, CommitRequest>) return MsgType::kCommit;
        if constexpr (std::is_same_v<T, AbortRequest>) return MsgType::kAbort;
        if constexpr (std::is_same_v<T, ExecRequest>) return MsgType::kExec;
        if constexpr (std::is_same_v<T, ReadRequest>) return MsgType::kRead;
        if constexpr (std::is_same_v<T, WriteRequest>) return MsgType::kWrite;
        if constexpr (std::is_same_v<T, PrepareRequest>) return MsgType::kPrepare;
        if constexpr (std::is_same_v<T, DecideCommitRequest>) return MsgType::kDecideCommit;
        if constexpr (std::is_same_v<T, DecideAbortRequest>) return MsgType::kDecideAbort;
        if constexpr (std::is_same_v<T, QueryOutcomeRequest>) return MsgType::kQueryOutcome;
        if constexpr (std::is_same_v<T, AbortNoticeRequest>) return MsgType::kAbortNotice;
        if constexpr (std::is_same_v<T, HeuristicReportRequest>) return MsgType::kHeuristicReport;
        if constexpr (std::is_same_v<T, PingRequest>) return MsgType::kPing;
        if constexpr (std::is_same_v<T, FailPointRequest>) return MsgType::kFailPoint;
        if constexpr (std::is_same_v<T, InDoubtRequest>) return MsgType::kInDoubt;
        if constexpr (std::is_same_v<T, ResolveRequest>) return MsgType::kResolve;
        if constexpr (std::is_same_v<T, StatusRequest>) return MsgType::kStatus;
        if constexpr (std::is_same_v<T, Reply>) return MsgType::kReply;
      },
      body);
}

std::string_view MsgTypeName(MsgType type) {
  switch (type) {
    case MsgType::kBegin:
      return "BEGIN";
    case MsgType::kGet:
      return "GET";
    case MsgType::kPut:
      return "PUT";
    case MsgType::kDelete:
      return "DELETE";
    case MsgType::kCommit:
      return "COMMIT";
    case MsgType::kAbort:
      return "ABORT";
    case MsgType::kExec:
      return "EXEC";
    case MsgType::kRead:
      return "READ";
    case MsgType::kWrite:
      return "WRITE";
    case MsgType::kPrepare:
      return "PREPARE";
    case MsgType::kDecideCommit:
      return "DECIDE_COMMIT";
    case MsgType::kDecideAbort:
      return "DECIDE_ABORT";
    case MsgType::kQueryOutcome:
      return "QUERY_OUTCOME";
    case MsgType::kAbortNotice:
      return "ABORT_NOTICE";
    case MsgType::kHeuristicReport:
      return "HEURISTIC_REPORT";
    case MsgType::kPing:
      return "PING";
    case MsgType::kFailPoint:
      return "FAILPOINT";
    case MsgType::kInDoubt:
      return "IN_DOUBT";
    case MsgType::kResolve:
      return "RESOLVE";
    case MsgType::kStatus:
      return "STATUS";
    case MsgType::kReply:
      return "REPLY";
  }
  return "UNKNOWN";
}

}  // namespace kv2pc
