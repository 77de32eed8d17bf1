// A small command-line flag parser for kv2pc's executables: `--name value` or `--name=value`,
// booleans as `--name`. Unknown flags and missing values are errors, reported in one line.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/status.h"

namespace kv2pc {

class Flags {
 public:
  // Declares a flag with a default value and a one-line help text. `is_bool` flags take no
  // value.
  void Define(const std::string& name, std::string default_value, std::string help,
              bool is_bool = false);
  // Parses argv[1..]; positional arguments are collected in positional().
  Status Parse(int argc, char** argv);

  const std::string& Get(const std::string& name) const;
  bool GetBool(const std::string& name) const;
  // InvalidArgument when the value is not an integer in [min, max].
  Result<int64_t> GetInt(const std::string& name, int64_t min, int64_t max) const;
  bool IsSet(const std::string& name) const;
  const std::vector<std::string>& positional() const { return positional_; }
  std::string Usage() const;

 private:
  struct Flag {
    std::string value;
    std::string help;
    bool is_bool = false;
    bool set = false;
  };
  std::map<std::string, Flag> flags_;
  std::vector<std::string> positional_;
};

// Blocks SIGINT and SIGTERM in the calling thread (call before starting any thread, so every
// thread inherits the mask) and returns a signalfd that becomes readable when one arrives.
// SIGPIPE is ignored.
Result<int> TerminationSignalFd();

}  // namespace kv2pc
