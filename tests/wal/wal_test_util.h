// Helpers shared by the WAL tests: a private temporary directory per test, whole-file byte
// access, and a record collector for Log::Open.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "wal/log.h"

namespace kv2pc::wal::test {

// A fresh directory under $TMPDIR (or /tmp), removed with everything in it on destruction.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "kv2pc-wal-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) ADD_FAILURE() << "mkdtemp failed";
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string Sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

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
