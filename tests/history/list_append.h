// An Elle-style checker for list-append histories: finds isolation anomalies in what clients
// observed, without knowing how the database ordered anything.
//
// The idea is from Kingsbury & Alvaro, "Elle: Inferring Isolation Anomalies from Experimental
// Observations" (VLDB 2020). Every key holds a list of integers; transactions append unique
// values to lists and read whole lists. Because a read returns the whole list, it reveals the
// order of every append before it, so the reads of a key together give its *version order*
// (all committed reads must be prefixes of one longest list). From the version order and the
// reads the checker derives Adya's dependency edges between transactions:
//
//   T1 -ww(k)-> T2   T2 appended the element right after T1's element in k's order;
//   T1 -wr(k)-> T2   T2 read a list of k whose last element T1 appended;
//   T1 -rw(k)-> T2   T1 read a list of k (possibly empty) and T2 appended the next element.
//
// A serializable history has no cycle in this graph. Cycles are classified as Adya does:
//   G0        only ww edges (dirty write / write cycle);
//   G1c       ww and wr edges, at least one wr (circular information flow);
//   G-single  exactly one rw edge (read skew and friends);
//   G2        two or more rw edges (write skew and friends).
// The checker also reports what needs no graph: G1a (a committed transaction read an element
// appended by a failed one), G1b (it read a list ending in another transaction's intermediate
// append), incompatible orders, duplicate elements, elements nobody appended, and internal
// inconsistencies (a transaction's read that contradicts its own earlier reads and appends).
//
// Transactions end ok (committed), fail (definitely aborted) or info (outcome unknown). An info
// transaction counts as committed once any of its appends was read by a committed transaction;
// otherwise it is left out of the graph, which can only hide anomalies, never invent them.
// Reads by failed transactions and by unobserved info transactions are ignored likewise.
//
// Used by tests/history/list_append_checker_test.cc (hand-made anomalies) and
// tests/history/list_append_workload_test.cc (a real cluster).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace kv2pc::history {

enum class TxnStatus : uint8_t {
  kOk,    // committed
  kFail,  // definitely aborted: none of its effects may be visible
  kInfo,  // outcome unknown: it may or may not have committed
};

// "ok", "fail", "info".
std::string_view TxnStatusName(TxnStatus status);

struct MicroOp {
  enum class Type : uint8_t { kAppend, kRead };

  static MicroOp Append(std::string key, int64_t value) {
    return {Type::kAppend, std::move(key), value, std::nullopt};
  }
  static MicroOp Read(std::string key, std::optional<std::vector<int64_t>> list) {
    return {Type::kRead, std::move(key), 0, std::move(list)};
  }

  Type type = Type::kRead;
  std::string key;
  int64_t value = 0;  // kAppend: the element appended (unique per key in a history)
  // kRead: the list observed, in order; an absent key reads as the empty list. nullopt when
  // the result is unknown (the read never returned), which the checker ignores.
  std::optional<std::vector<int64_t>> list;

  bool operator==(const MicroOp&) const = default;
};

struct Txn {
  int id = 0;  // named "T<id>" in reports; unique in a history
  TxnStatus status = TxnStatus::kOk;
  std::vector<MicroOp> ops;  // in the order the transaction performed them

  std::string name() const { return "T" + std::to_string(id); }
  // The text format ParseHistory reads: "ok T1: append x 1; read y [1 2]; read z ?".
  std::string ToString() const;
  bool operator==(const Txn&) const = default;
};

struct History {
  std::vector<Txn> txns;

  // One transaction per line, as Txn::ToString.
  std::string ToString() const;
  bool operator==(const History&) const = default;
};

// Parses the text format: one transaction per line,
//   <status> T<id>: <op>; <op>; ...
// with status ok | fail | info, and op one of
//   append <key> <int>       read <key> [<int> <int> ...]       read <key> ?   (unknown result)
// Keys are words without spaces, ';', '[' or ']'. Blank lines and lines starting with '#' are
// skipped. Returns InvalidArgument naming the line for anything else, or a repeated id.
Result<History> ParseHistory(std::string_view text);

enum class AnomalyKind : uint8_t {
  kG0,                 // cycle of ww edges
  kG1a,                // aborted read
  kG1b,                // intermediate read
  kG1c,                // cycle of ww/wr edges with at least one wr
  kGSingle,            // cycle with exactly one rw edge
  kG2,                 // cycle with two or more rw edges
  kIncompatibleOrder,  // two committed reads of a key where neither is a prefix of the other
  kDuplicateElements,  // a read list holding the same element twice
  kUnknownElement,     // a read element that no transaction appended
  kInternal,           // a read contradicting the transaction's own earlier ops on that key
  kMalformed,          // not a valid history: a value appended twice to a key, a repeated id
};

// "G0", "G1a", "G1b", "G1c", "G-single", "G2", "incompatible-order", "duplicate-elements",
// "unknown-element", "internal", "malformed".
std::string_view AnomalyKindName(AnomalyKind kind);

enum class DepType : uint8_t { kWW, kWR, kRW };
// "ww", "wr", "rw".
std::string_view DepTypeName(DepType type);

// A dependency edge between two transactions (by id), caused by `key`.
struct Dependency {
  int from = 0;
  int to = 0;
  DepType type = DepType::kWW;
  std::string key;

  bool operator==(const Dependency&) const = default;
};

struct Anomaly {
  AnomalyKind kind = AnomalyKind::kG0;
  // The transactions involved, by id. For a cycle: its transactions in cycle order, starting
  // with the lowest id (cycle[i] goes from txns[i] to txns[i + 1], wrapping around).
  std::vector<int> txns;
  std::vector<Dependency> cycle;  // cycle kinds only
  // One line naming the transactions, keys and elements, e.g.
  // "G2 cycle: T3 -rw(x)-> T7 -rw(y)-> T3".
  std::string explanation;
};

struct CheckResult {
  std::vector<Anomaly> anomalies;

  // What the history held, so a test can tell that a check was not vacuous.
  int ok_txns = 0;
  int failed_txns = 0;
  int info_txns = 0;
  int info_observed = 0;  // info transactions found to have committed
  int ww_edges = 0;
  int wr_edges = 0;
  int rw_edges = 0;
  int keys = 0;
  // The history's transactions involved in some anomaly, as text (for ToString).
  std::vector<std::string> involved;

  bool valid() const { return anomalies.empty(); }
  // The anomalies of one kind, in the order they were found.
  std::vector<Anomaly> Of(AnomalyKind kind) const;
  // A summary line, then one line per anomaly, then the involved transactions.
  std::string ToString() const;
};

// Checks `history` as described at the top of this file. Deterministic: the same history
// gives the same result. Costs O(total read length + edges) for a valid history; cycle
// search in a strongly connected component of n transactions and m edges is O(m * (n + m)).
CheckResult Check(const History& history);

}  // namespace kv2pc::history
