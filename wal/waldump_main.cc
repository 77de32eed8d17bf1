// kv2pc-waldump DIR: prints a write-ahead log for humans (docs/wal-format.md). DIR is a log
// directory, or a node's data directory holding one in wal/.
//
// Prints every record with DescribeRecord; an outcome (COMMIT, ABORT, END) is paired with the
// record it ends ("<- PREPARE at LSN 12"). Then each transaction whose PREPARE has no COMMIT
// or ABORT ("IN DOUBT": a restarting participant must ask the coordinator; a PREPARE is never
// a commit) and each COMMIT decision without END (a coordinator still owes participants the
// outcome), a count of outcomes, and how the log ends. Read-only: it neither locks the directory nor repairs a torn tail, so it can inspect
// the log of a running server (whose last, unsynced records may then look torn).
//
// Exit status: 0 clean or torn tail (the normal result of a crash), 1 usage error,
// 2 corruption or an unreadable log.
#include <cstdio>
#include <filesystem>
#include <map>
#include <string>

#include "wal/log_reader.h"
#include "wal/posix_file.h"
#include "wal/record.h"

namespace kv2pc::wal {
namespace {

struct TxnState {
  Lsn prepare_lsn = 0;  // PREPARE (participant) or DECISION_COMMIT (coordinator)
  uint8_t type = 0;     // which of the two
  bool resolved = false;
};

int Dump(const std::string& dir) {
  std::unique_ptr<FileSystem> fs = NewPosixFileSystem();
  std::map<TxnId, TxnState> txns;
  uint64_t count = 0;
  uint64_t undecodable = 0;
  uint64_t unknown = 0;
  uint64_t committed = 0, aborted = 0, ended = 0;
  auto visit = [&](const RecordView& record) {
    std::string line = DescribeRecord(record);
    ++count;
    if (RecordTypeName(record.type) == "UNKNOWN") {
      ++unknown;
      std::printf("%s\n", line.c_str());
      return Status::OK();
    }
    Result<TxnId> txn = RecordTxn(record);
    if (!txn.ok()) {
      ++undecodable;
      std::printf("%s\n", line.c_str());
      return Status::OK();
    }
    TxnState& t = txns[*txn];
    switch (record.type) {
      case kPrepare:
      case kDecisionCommit:
        t.prepare_lsn = record.lsn;
        t.type = record.type;
        t.resolved = false;
        break;
      case kCommit:
      case kAbort:
      case kEnd:
        committed += record.type == kCommit;
        aborted += record.type == kAbort;
        ended += record.type == kEnd;
        line += t.prepare_lsn != 0 ? "  <- " + std::string(RecordTypeName(t.type)) + " at LSN " +
                                         std::to_string(t.prepare_lsn)
                                   : "  (its PREPARE/decision is below this log: trimmed)";
        t.resolved = true;
        break;
      case kOnePhaseCommit:  // the writes and the commit in one record: never in doubt
        committed++;
        t.resolved = true;
        break;
    }
    std::printf("%s\n", line.c_str());
    return Status::OK();
  };
  Result<LogScan> scan = ScanLog(fs.get(), dir, /*sync=*/false, visit);
  if (!scan.ok()) {
    std::printf("after %llu records: %s\n", static_cast<unsigned long long>(count),
                scan.status().ToString().c_str());
    return 2;
  }
  uint64_t in_doubt = 0, unfinished = 0;
  for (const auto& [txn, t] : txns) {
    if (t.resolved || t.prepare_lsn == 0) continue;
    (t.type == kPrepare ? in_doubt : unfinished)++;
    if (t.type == kPrepare) {
      std::printf("IN DOUBT %s: PREPARE at LSN %llu has no COMMIT or ABORT\n",
                  txn.ToString().c_str(), static_cast<unsigned long long>(t.prepare_lsn));
    } else {
      std::printf("UNFINISHED %s: DECISION_COMMIT at LSN %llu has no END\n", txn.ToString().c_str(),
                  static_cast<unsigned long long>(t.prepare_lsn));
    }
  }
  std::printf(
      "outcomes: %llu committed, %llu aborted, %llu in doubt; decisions: %llu ended, %llu "
      "unfinished\n",
      static_cast<unsigned long long>(committed), static_cast<unsigned long long>(aborted),
      static_cast<unsigned long long>(in_doubt), static_cast<unsigned long long>(ended),
      static_cast<unsigned long long>(unfinished));
  std::printf("%llu records in %zu segments, next LSN %llu", static_cast<unsigned long long>(count),
              scan->segments.size(), static_cast<unsigned long long>(scan->next_lsn));
  if (undecodable > 0) {
    std::printf(", %llu undecodable", static_cast<unsigned long long>(undecodable));
  }
  if (unknown > 0) std::printf(", %llu of unknown type", static_cast<unsigned long long>(unknown));
  std::printf("\n");
  if (!scan->abandoned_path.empty()) {
    std::printf("abandoned last segment (creation interrupted): %s\n",
                scan->abandoned_reason.c_str());
  }
  if (!scan->segments.empty()) {
    const ScannedSegment& last = scan->segments.back();
    std::printf("%s at %s offset %llu: %s\n", last.scan.torn ? "TORN TAIL" : "end of log",
                last.path.c_str(), static_cast<unsigned long long>(last.scan.end_offset),
                last.scan.stop_reason.c_str());
  }
  return 0;
}

}  // namespace
}  // namespace kv2pc::wal

int main(int argc, char** argv) {
  if (argc != 2 || argv[1][0] == '-') {
    std::fprintf(stderr, "usage: %s DIR   (a log directory, or a node's data directory)\n",
                 argv[0]);
    return 1;
  }
  std::string dir = argv[1];
  std::error_code ec;
  if (std::filesystem::is_directory(dir + "/wal", ec)) dir += "/wal";
  return kv2pc::wal::Dump(dir);
}
