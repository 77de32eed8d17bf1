// See flags.h.
#include "common/flags.h"

#include <sys/signalfd.h>

#include <cerrno>
#include <charconv>
#include <csignal>
#include <cstring>

namespace kv2pc {

void Flags::Define(const std::string& name, std::string default_value, std::string help,
                   bool is_bool) {
  flags_[name] = Flag{std::move(default_value), std::move(help), is_bool, false};
}

Status Flags::Parse(int argc, char** argv) {
  for (int i = 1; i < argc; i++) {
    std::string arg = argv[i];
    if (arg.rfind("--", 0) != 0 || arg == "--") {
      positional_.push_back(arg);
      continue;
    }
    std::string name = arg.substr(2), value;
    bool has_value = false;
    if (auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      has_value = true;
    }
    auto it = flags_.find(name);
    if (it == flags_.end()) return Status::InvalidArgument("unknown flag --" + name);
    Flag& f = it->second;
    if (f.is_bool) {
      if (has_value && value != "true" && value != "false") {
        return Status::InvalidArgument("--" + name + " takes no value (or =true/=false)");
      }
      f.value = has_value ? value : "true";
    } else if (has_value) {
      f.value = value;
    } else if (i + 1 < argc) {
      f.value = argv[++i];
    } else {
      return Status::InvalidArgument("--" + name + " needs a value");
    }
    f.set = true;
  }
  return Status::OK();
}

const std::string& Flags::Get(const std::string& name) const { return flags_.at(name).value; }

bool Flags::GetBool(const std::string& name) const { return Get(name) == "true"; }

bool Flags::IsSet(const std::string& name) const { return flags_.at(name).set; }

Result<int64_t> Flags::GetInt(const std::string& name, int64_t min, int64_t max) const {
  const std::string& v = Get(name);
  int64_t out = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  if (ec != std::errc() || p != v.data() + v.size() || out < min || out > max) {
    return Status::InvalidArgument("--" + name + " must be an integer from " + std::to_string(min) +
                                   " to " + std::to_string(max) + ", not '" + v + "'");
  }
  return out;
}

std::string Flags::Usage() const {
  std::string out;
  for (const auto& [name, f] : flags_) {
    out += "  --" + name + (f.is_bool ? "" : " VALUE");
    out += "\n      " + f.help;
    if (!f.is_bool && !f.value.empty()) out += " (default: " + f.value + ")";
    out += "\n";
  }
  return out;
}

Result<int> TerminationSignalFd() {
  signal(SIGPIPE, SIG_IGN);
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGINT);
  sigaddset(&mask, SIGTERM);
  if (pthread_sigmask(SIG_BLOCK, &mask, nullptr) != 0) {
    return Status::Internal("pthread_sigmask failed");
  }
  int fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
  if (fd < 0) return Status::Internal(std::string("signalfd: ") + std::strerror(errno));
  return fd;
}

}  // namespace kv2pc
