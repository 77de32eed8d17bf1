// Segment reader: see log_reader.h and docs/wal-format.md.
//
// Reading stops at the first record that is not valid at the expected position. What follows
// decides between "torn tail" and "corruption", and only durable-LSN hints can decide it
// safely: pages of one write() may reach the disk in any order, so after a power cut a later
// record of the last, unsynced batch can be intact while an earlier one is not. Such a later
// record carries a hint below the damaged record's LSN (it was appended before that record
// became durable). A record whose hint is >= the damaged LSN was appended after the damaged
// record had been fdatasynced, so the damage is to durable data: Corruption.
#include "wal/log_reader.h"

#include <algorithm>
#include <utility>

#include "wal/coding.h"

namespace kv2pc::wal {
namespace {

bool AllZero(std::string_view bytes) {
  return std::all_of(bytes.begin(), bytes.end(), [](char c) { return c == 0; });
}

// Offset just past the last non-zero byte of data at or after from; `from` if none.
uint64_t DirtyEnd(std::string_view data, uint64_t from) {
  uint64_t end = data.size();
  while (end > from && data[end - 1] == 0) --end;
  return end;
}

// Checks the record framing at offset (length bound, fits in data, type, checksum); does not
// look at the LSN. On success sets *h.
bool IsIntactRecord(std::string_view data, uint64_t offset, RecordHeader* h, std::string* why) {
  if (data.size() - offset < kRecordHeaderSize) {
    *why = "partial record header";
    return false;
  }
  const char* p = data.data() + offset;
  *h = DecodeRecordHeader(p);
  if (h->length > kMaxPayloadSize) {
    *why = "payload length " + std::to_string(h->length) + " exceeds the maximum";
    return false;
  }
  if (data.size() - offset - kRecordHeaderSize < h->length) {
    *why = "record extends past the end of the file";
    return false;
  }
  if (ComputeRecordCrc(p, h->length) != h->masked_crc) {
    *why = "checksum mismatch";
    return false;
  }
  if (h->type == 0) {
    *why = "record type 0";
    return false;
  }
  return true;
}

struct FoundRecord {
  bool found = false;
  uint64_t offset = 0;
  RecordHeader header;
};

// The valid-in-itself record at or after `from` with LSN in [min_lsn, max_lsn] and the largest
// durable hint, or the last such one's end in *last_end. Byte-by-byte: records are not
// aligned. The LSN range test rejects nearly every offset (zeros, text, stale records of a
// recycled segment all fail it) before any checksum is computed.
FoundRecord FindLaterRecords(std::string_view data, uint64_t from, Lsn min_lsn, Lsn max_lsn,
                             uint64_t* last_end) {
  FoundRecord best;
  if (data.size() < kRecordHeaderSize) return best;
  for (uint64_t off = from; off + kRecordHeaderSize <= data.size(); ++off) {
    Lsn lsn = DecodeFixed64(data.data() + off + 9);
    if (lsn < min_lsn || lsn > max_lsn) continue;
    RecordHeader h;
    std::string why;
    if (!IsIntactRecord(data, off, &h, &why)) continue;
    if (!best.found || h.durable_lsn > best.header.durable_lsn) {
      best = {true, off, h};
    }
    *last_end = std::max<uint64_t>(*last_end, off + kRecordHeaderSize + h.length);
  }
  return best;
}

}  // namespace

bool ContainsRecordInRange(std::string_view data, uint64_t from, Lsn min_lsn, Lsn max_lsn) {
  uint64_t unused = 0;
  return FindLaterRecords(data, from, min_lsn, max_lsn, &unused).found;
}

Result<SegmentScan> ScanSegment(std::string_view file_name, std::string_view data, Lsn first_lsn,
                                bool is_last, const RecordVisitor& visit) {
  SegmentScan scan;
  uint64_t offset = kSegmentHeaderSize;
  Lsn expected = first_lsn;
  bool clean = false;  // the stop is a normal end of log
  for (;;) {
    if (offset >= data.size()) {
      scan.stop_reason = "end of file";
      clean = true;
      break;
    }
    std::string_view rest = data.substr(offset);
    if (rest.size() >= kRecordHeaderSize && AllZero(rest.substr(0, kRecordHeaderSize))) {
      scan.stop_reason = "zero header";
      clean = true;
      break;
    }
    RecordHeader h;
    std::string why;
    if (!IsIntactRecord(data, offset, &h, &why)) {
      clean = rest.size() < kRecordHeaderSize && AllZero(rest);
      scan.stop_reason = clean ? "zeros up to the end of the file" : why;
      break;
    }
    if (h.lsn < first_lsn) {
      // (I6) A record left by the segment's previous life before it was recycled.
      scan.stop_reason = "stale record (LSN " + std::to_string(h.lsn) + ") of a recycled segment";
      clean = true;
      break;
    }
    if (h.lsn != expected) {
      scan.stop_reason =
          "LSN " + std::to_string(h.lsn) + " where " + std::to_string(expected) + " was expected";
      break;
    }
    if (h.durable_lsn >= h.lsn) {
      scan.stop_reason = "durable hint " + std::to_string(h.durable_lsn) + " not below its LSN";
      break;
    }
    RecordView view{h.lsn, h.type, rest.substr(kRecordHeaderSize, h.length)};
    Status s = visit ? visit(view) : Status::OK();
    if (!s.ok()) return s.WithContext("visiting LSN " + std::to_string(h.lsn));
    offset += kRecordHeaderSize + h.length;
    ++expected;
  }
  scan.last_lsn = expected - 1;
  scan.end_offset = offset;
  scan.dirty_end = offset;
  if (!is_last) return scan;

  // Anything valid further on? A segment of N bytes holds fewer than N / kRecordHeaderSize
  // records, which bounds the LSNs worth checking.
  uint64_t later_end = 0;
  FoundRecord later = FindLaterRecords(data, std::min<uint64_t>(offset, data.size()), expected,
                                       expected + data.size() / kRecordHeaderSize, &later_end);
  if (later.found && later.header.durable_lsn >= expected) {
    // (I4) The later record was appended after LSN `expected` was durable.
    return Status::Corruption(std::string(file_name) + ": corrupt record at offset " +
                              std::to_string(offset) + " (expected LSN " +
                              std::to_string(expected) + ": " + scan.stop_reason +
                              "), but the record at offset " + std::to_string(later.offset) +
                              " (LSN " + std::to_string(later.header.lsn) + ") shows that LSN " +
                              std::to_string(expected) + " had been durable");
  }
  if (later.found) {
    scan.stop_reason += "; unsynced later records up to offset " + std::to_string(later_end);
  }
  scan.torn = !clean || later.found;
  scan.dirty_end = DirtyEnd(data, offset);
  return scan;
}

Result<LogScan> ScanLog(FileSystem* fs, const std::string& dir, bool sync,
                        const RecordVisitor& visit) {
  LogScan log;
  KV2PC_ASSIGN_OR_RETURN(std::vector<std::string> names, fs->ListDir(dir));
  std::vector<std::pair<Lsn, std::string>> segment_names;
  for (std::string& name : names) {
    if (std::optional<Lsn> lsn = ParseSegmentFileName(name)) {
      segment_names.emplace_back(*lsn, std::move(name));
    } else if (IsTempFileName(name)) {
      log.temp_names.push_back(std::move(name));
    } else if (IsRecycleFileName(name)) {
      log.recycle_names.push_back(std::move(name));
    }
    // Anything else (LOCK, an operator's notes) is not ours to read.
  }
  std::sort(segment_names.begin(), segment_names.end());
  if (!segment_names.empty()) log.next_lsn = segment_names.front().first;

  std::string previous_end;  // where the previous segment's records ended, for gap messages
  for (size_t i = 0; i < segment_names.size(); ++i) {
    const auto& [name_lsn, name] = segment_names[i];
    const bool is_last = i + 1 == segment_names.size();
    const std::string path = JoinPath(dir, name);
    if (name_lsn != log.next_lsn) {
      // (I5) violated: records are missing (or duplicated) between two segments.
      return Status::Corruption("gap in the log: " + previous_end + ", but the next segment " +
                                path + " starts at LSN " + std::to_string(name_lsn));
    }
    KV2PC_ASSIGN_OR_RETURN(std::unique_ptr<File> file,
                           fs->OpenFile(path, FileSystem::OpenMode::kOpenExisting));
    if (sync) KV2PC_RETURN_IF_ERROR(file->Sync());  // (I8)
    KV2PC_ASSIGN_OR_RETURN(uint64_t size, file->Size());
    std::string data;
    KV2PC_RETURN_IF_ERROR(file->Read(0, size, &data));

    Result<Lsn> header = DecodeSegmentHeader(data, path);
    if (!header.ok()) {
      if (!header.status().IsCorruption() || !is_last) return header.status();
      // The last segment's header is unusable. Our own creation protocol ((I3) in log.h)
      // cannot leave this, but another writer or a file system that lost a write can: if no
      // record follows, the segment never held anything; if records follow, it is damage.
      if (ContainsRecordInRange(data, 0, name_lsn, name_lsn + data.size() / kRecordHeaderSize)) {
        return Status::Corruption(header.status().message() + ", and records follow it");
      }
      log.abandoned_path = path;
      log.abandoned_reason = header.status().message();
      break;
    }
    if (*header != name_lsn) {
      return Status::Corruption(path + ": bad segment header at offset 0: first LSN " +
                                std::to_string(*header) + " does not match the file name");
    }
    KV2PC_ASSIGN_OR_RETURN(SegmentScan scan, ScanSegment(path, data, name_lsn, is_last, visit));
    log.next_lsn = scan.last_lsn + 1;
    previous_end = path + " ends at offset " + std::to_string(scan.end_offset) + " after LSN " +
                   std::to_string(scan.last_lsn) + " (" + scan.stop_reason + ")";
    log.segments.push_back({name_lsn, path, size, std::move(scan)});
    if (is_last) log.last_file = std::move(file);
  }
  return log;
}

}  // namespace kv2pc::wal
