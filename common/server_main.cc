// See server_main.h.
#include "common/server_main.h"

#include <cstdio>

#include "common/logging.h"

namespace kv2pc {

void DefineServerFlags(Flags* flags, const std::string& role) {
  flags->Define("config", "", "cluster layout file (cluster.conf)");
  flags->Define("node", "", "this node's name in the layout, e.g. " + role + "-0");
  flags->Define("data-dir", "", "directory for this node's log and data (created if missing)");
  flags->Define("bind", "", "endpoint to listen on instead of the layout's, e.g. tcp://*:7001");
  flags->Define("wal-segment-bytes", "16777216", "size of a pre-allocated log segment");
  flags->Define("log-level", "info", "trace, debug, info, warn, error");
  flags->Define("help", "", "show this help", true);
}

std::optional<ServerSetup> SetUpServer(Flags* flags, int argc, char** argv, const std::string& role,
                                       int* exit_code) {
  auto fail = [&](const Status& s, int code) {
    std::fprintf(stderr, "error: %s\n", s.message().c_str());
    *exit_code = code;
    return std::nullopt;
  };
  Status s = flags->Parse(argc, argv);
  if (!s.ok() || flags->GetBool("help")) {
    if (!s.ok()) std::fprintf(stderr, "error: %s\n", s.message().c_str());
    std::fprintf(stderr, "usage: kv2pc-%s --config FILE --node NAME --data-dir DIR [flags]\n%s",
                 role.c_str(), flags->Usage().c_str());
    *exit_code = s.ok() ? 0 : kExitUsage;
    return std::nullopt;
  }
  if (!flags->positional().empty()) {
    return fail(Status::InvalidArgument("unexpected argument '" + flags->positional()[0] + "'"),
                kExitUsage);
  }
  for (const char* required : {"config", "node", "data-dir"}) {
    if (flags->Get(required).empty()) {
      return fail(
          Status::InvalidArgument("--" + std::string(required) + " is required (see --help)"),
          kExitUsage);
    }
  }
  auto segment = flags->GetInt("wal-segment-bytes", 64 * 1024, int64_t{1} << 34);
  if (!segment.ok()) return fail(segment.status(), kExitUsage);
  s = InitLogging(flags->Get("node"), flags->Get("log-level"));
  if (!s.ok()) return fail(s, kExitUsage);
  auto config = ClusterConfig::Load(flags->Get("config"));
  if (!config.ok()) return fail(config.status(), kExitUsage);
  auto signal_fd = TerminationSignalFd();
  if (!signal_fd.ok()) return fail(signal_fd.status(), kExitCannotStart);
  ServerSetup setup{std::move(config).value(),       flags->Get("node"),
                    flags->Get("data-dir"),          flags->Get("bind"),
                    static_cast<uint64_t>(*segment), *signal_fd};
  return setup;
}

std::optional<std::chrono::milliseconds> MillisFlag(const Flags& flags, const std::string& name,
                                                    int64_t min_ms, int64_t max_ms,
                                                    int* exit_code) {
  auto v = flags.GetInt(name, min_ms, max_ms);
  if (!v.ok()) {
    std::fprintf(stderr, "error: %s\n", v.status().message().c_str());
    *exit_code = kExitUsage;
    return std::nullopt;
  }
  return std::chrono::milliseconds(*v);
}

}  // namespace kv2pc
