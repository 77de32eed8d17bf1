// A fresh directory under $TMPDIR for one test, removed with its contents afterwards.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace kv2pc {

class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "kv2pc_client_XXXXXX").string();
    if (mkdtemp(pattern.data()) != nullptr) path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  // Empty if the directory could not be made.
  const std::string& path() const { return path_; }

  // Writes `text` to <path>/<name>; returns the file's path.
  std::string Write(const std::string& name, const std::string& text) const {
    std::string file = (std::filesystem::path(path_) / name).string();
    std::ofstream(file) << text;
    return file;
  }

 private:
  std::string path_;
};

}  // namespace kv2pc
