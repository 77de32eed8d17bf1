// The records kv2pc writes to its WAL: type numbers and payload structs with msgpack
// Encode/Decode. The log framing (log.h) treats payloads as opaque bytes; this file gives them
// meaning. Field order and msgpack types are documented in docs/wal-format.md, "Payloads".
//
// Each payload is a msgpack array, positional (no field names on disk), and a TxnId is the
// array [coordinator u32, incarnation u32, seq u64]. Type numbers are never reused: a retired
// type keeps its number forever. Participants write 1-15, coordinators 16-31.
//
// Decode never throws: malformed bytes (which passed the record checksum, so they were written
// this way) return Corruption. Decoding runs under msgpack::unpack_limit and checks the sizes
// kv2pc allows everywhere (kMaxKeySize, kMaxValueSize).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "common/types.h"
#include "wal/log_format.h"

namespace kv2pc::wal {

enum RecordType : uint8_t {
  // Participant log.
  kPrepare = 1,  // the participant voted YES: its writes, which must survive until decided
  kCommit = 2,   // the transaction committed here (writes applied)
  kAbort = 3,    // the transaction aborted here (writes discarded)
  // The transaction's only participant committed it by one-phase commit: its writes,
  // committed by this one record (a PREPARE and a COMMIT at one LSN; never in doubt).
  kOnePhaseCommit = 4,
  // Coordinator log.
  kDecisionCommit = 16,  // COMMIT decided; participants listed must all learn it
  kEnd = 17,             // every participant acknowledged; the decision can be forgotten
};

// "PREPARE", "COMMIT", "ABORT", "ONE_PHASE_COMMIT", "DECISION_COMMIT", "END", or "UNKNOWN".
std::string_view RecordTypeName(uint8_t type);

// One write of a transaction: a put (value set) or a delete (value nullopt).
struct WriteOp {
  std::string key;
  std::optional<std::string> value;
  bool operator==(const WriteOp&) const = default;
};

// Payload: [txn, [[key: bin, value: bin | nil], ...], [participant node name: str, ...]]
// The third element (every participant of the transaction, this one included: whom to ask
// while in doubt, for cooperative termination) came later and is optional: a record without
// it (written before, or with no participants known) decodes with `participants` empty, and
// Encode leaves it out when `participants` is empty, so such records keep their old bytes.
struct PrepareRecord {
  static constexpr RecordType kType = kPrepare;
  TxnId txn;
  std::vector<WriteOp> writes;
  std::vector<std::string> participants = {};  // "= {}": {txn, writes} still initializes all

  std::string Encode() const;
  static Result<PrepareRecord> Decode(std::string_view payload);
  bool operator==(const PrepareRecord&) const = default;
};

// Payload: [txn]
struct CommitRecord {
  static constexpr RecordType kType = kCommit;
  TxnId txn;

  std::string Encode() const;
  static Result<CommitRecord> Decode(std::string_view payload);
  bool operator==(const CommitRecord&) const = default;
};

// Payload: [txn]
struct AbortRecord {
  static constexpr RecordType kType = kAbort;
  TxnId txn;

  std::string Encode() const;
  static Result<AbortRecord> Decode(std::string_view payload);
  bool operator==(const AbortRecord&) const = default;
};

// Payload: [txn, [[key: bin, value: bin | nil], ...]] -- the bytes of a PREPARE without
// participants (the encoding and its checks are PREPARE's), but a third element is
// Corruption: a one-phase commit has no one to ask. Written and forced by the sole
// participant before it answers COMMITTED; the coordinator logs nothing for it.
struct OnePhaseCommitRecord {
  static constexpr RecordType kType = kOnePhaseCommit;
  TxnId txn;
  std::vector<WriteOp> writes;

  std::string Encode() const;
  static Result<OnePhaseCommitRecord> Decode(std::string_view payload);
  bool operator==(const OnePhaseCommitRecord&) const = default;
};

// Payload: [txn, [participant node name: str, ...]]
struct DecisionCommitRecord {
  static constexpr RecordType kType = kDecisionCommit;
  TxnId txn;
  std::vector<std::string> participants;

  std::string Encode() const;
  static Result<DecisionCommitRecord> Decode(std::string_view payload);
  bool operator==(const DecisionCommitRecord&) const = default;
};

// Payload: [txn]
struct EndRecord {
  static constexpr RecordType kType = kEnd;
  TxnId txn;

  std::string Encode() const;
  static Result<EndRecord> Decode(std::string_view payload);
  bool operator==(const EndRecord&) const = default;
};

// The transaction a record of any known type is about. Corruption if the payload does not
// decode, InvalidArgument for an unknown type.
Result<TxnId> RecordTxn(const RecordView& record);

// One line for tools and logs, e.g. "LSN 12 PREPARE T0.1.5 keys=[a,b] deletes=[c]"
// (a PREPARE that lists its participants ends with " participants=[p0,p1]"; a
// ONE_PHASE_COMMIT reads like a PREPARE: "LSN 13 ONE_PHASE_COMMIT T0.1.6 keys=[a]").
// Keys and names are printed safely: printable ASCII as is, except \ , [ ] and anything else
// as \xNN; long lists are cut after 8 entries ("...+N").
std::string DescribeRecord(const RecordView& record);

}  // namespace kv2pc::wal
