// Helpers shared by the WAL tests: whole-file byte access and a record collector for
// Log::Open. Temporary directories come from tests/testutil/temp_dir.h.
#pragma once

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "tests/testutil/temp_dir.h"
#include "wal/log.h"

namespace kv2pc::wal::test {

inline std::string ReadFileBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

inline void WriteFileBytes(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
}

struct Rec {
  Lsn lsn;
  uint8_t type;
  std::string payload;
  bool operator==(const Rec&) const = default;
};

inline void PrintTo(const Rec& r, std::ostream* os) {
  *os << "{lsn " << r.lsn << " type " << int(r.type) << " " << r.payload.size() << " bytes}";
}

// Opens the log and returns it, appending every recovered record to *records.
inline Result<std::unique_ptr<Log>> OpenCollect(const LogOptions& options,
                                                std::vector<Rec>* records) {
  return Log::Open(options, [records](const RecordView& r) {
    records->push_back({r.lsn, r.type, std::string(r.payload)});
    return Status::OK();
  });
}

// Payload for LSN lsn in tests: recognisable and of varying length.
inline std::string TestPayload(Lsn lsn, size_t base = 10) {
  std::string p = "record-" + std::to_string(lsn) + "-";
  p.append(base + (lsn * 7) % 23, static_cast<char>('a' + lsn % 26));
  return p;
}

}  // namespace kv2pc::wal::test
