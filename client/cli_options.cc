// See cli_options.h.
#include "client/cli_options.h"

#include <charconv>
#include <cstdlib>
#include <filesystem>
#include <ostream>
#include <system_error>

#include "common/config.h"
#include "common/types.h"

namespace kv2pc {

namespace {

std::optional<std::string> GetEnv(const char* name) {
  const char* value = std::getenv(name);  // NOLINT(concurrency-mt-unsafe): see REQUIRES
  if (value == nullptr || *value == '\0') return std::nullopt;
  return std::string(value);
}

std::string LayoutPath(const std::string& data_dir) {
  return (std::filesystem::path(data_dir) / "cluster.conf").string();
}

bool LayoutExists(const std::string& path) {
  std::error_code ec;
  return std::filesystem::is_regular_file(path, ec);
}

Status NoCluster(const std::string& data_dir) {
  return Status::NotFound("no kv2pc cluster found in " + data_dir +
                          " (start one with ./run_cluster.sh start, or pass --coordinator "
                          "tcp://HOST:PORT)");
}

Result<ClusterConfig> LoadLayout(const std::string& path) {
  Result<ClusterConfig> config = ClusterConfig::Load(path);
  if (!config.ok()) return Status::InvalidArgument(config.status().message());
  return config;
}

Status ParseTimeout(std::string_view text, int* out) {
  int value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value <= 0) {
    return Status::InvalidArgument("--timeout-ms wants a positive number of milliseconds, not '" +
                                   std::string(text) + "'");
  }
  *out = value;
  return Status::OK();
}

}  // namespace

CliEnvironment CliEnvironment::FromProcess() {
  CliEnvironment env;
  env.coordinator = GetEnv("KV2PC_COORDINATOR");
  env.data_dir = GetEnv("KV2PC_DATA_DIR");
  return env;
}

Result<CliFlags> ParseCliFlags(const std::vector<std::string>& args) {
  CliFlags flags;
  size_t i = 0;
  while (i < args.size()) {
    std::string_view arg = args[i];
    if (arg == "--") {
      i++;
      break;
    }
    if (arg.size() < 2 || arg[0] != '-') break;  // the command starts here ("-" included)
    i++;
    if (arg == "-h" || arg == "--help") {
      flags.help = true;
      continue;
    }
    if (arg == "--raw") {
      flags.raw = true;
      continue;
    }
    // Flags with a value: "--name value" or "--name=value".
    std::string_view name = arg;
    std::optional<std::string> value;
    if (size_t eq = arg.find('='); eq != std::string_view::npos) {
      name = arg.substr(0, eq);
      value = std::string(arg.substr(eq + 1));
    }
    if (name != "--coordinator" && name != "--data-dir" && name != "--timeout-ms") {
      return Status::InvalidArgument("unknown flag '" + std::string(arg) + "'");
    }
    if (!value.has_value()) {
      if (i >= args.size()) return Status::InvalidArgument(std::string(name) + " needs a value");
      value = args[i++];
    }
    if (value->empty()) return Status::InvalidArgument(std::string(name) + " needs a value");
    if (name == "--coordinator") {
      flags.coordinator = *value;
    } else if (name == "--data-dir") {
      flags.data_dir = *value;
    } else {
      KV2PC_RETURN_IF_ERROR(ParseTimeout(*value, &flags.timeout_ms));
    }
  }
  flags.command.assign(args.begin() + static_cast<std::ptrdiff_t>(i), args.end());
  return flags;
}

std::string DataDir(const CliFlags& flags, const CliEnvironment& env) {
  if (flags.data_dir.has_value()) return *flags.data_dir;
  if (env.data_dir.has_value()) return *env.data_dir;
  return std::string(kDefaultDataDir);
}

Result<std::string> FindCoordinator(const CliFlags& flags, const CliEnvironment& env) {
  if (flags.coordinator.has_value()) return *flags.coordinator;
  if (env.coordinator.has_value()) return *env.coordinator;
  const std::string data_dir = DataDir(flags, env);
  const std::string path = LayoutPath(data_dir);
  if (!LayoutExists(path)) return NoCluster(data_dir);
  KV2PC_ASSIGN_OR_RETURN(ClusterConfig config, LoadLayout(path));
  if (const NodeInfo* first = config.Find(CoordinatorName(0)); first != nullptr) {
    return first->endpoint;
  }
  std::vector<const NodeInfo*> coordinators = config.coordinators();
  if (coordinators.empty()) return Status::InvalidArgument(path + " lists no coordinator");
  return coordinators.front()->endpoint;
}

Result<std::string> ResolvePingTarget(std::string_view target, const CliFlags& flags,
                                      const CliEnvironment& env) {
  if (target.find("://") != std::string_view::npos) return std::string(target);
  const std::string data_dir = DataDir(flags, env);
  const std::string path = LayoutPath(data_dir);
  if (!LayoutExists(path)) {
    return Status::NotFound("'" + std::string(target) +
                            "' is not an endpoint, and there is no cluster layout " + path +
                            " to look it up in (pass tcp://HOST:PORT or --data-dir)");
  }
  KV2PC_ASSIGN_OR_RETURN(ClusterConfig config, LoadLayout(path));
  const NodeInfo* node = config.Find(target);
  if (node == nullptr) {
    std::string names;
    for (const NodeInfo& n : config.nodes()) names += (names.empty() ? "" : ", ") + n.name;
    return Status::NotFound("no node named '" + std::string(target) + "' in " + path + " (it has " +
                            names + ")");
  }
  return node->endpoint;
}

Result<std::vector<std::pair<std::string, std::string>>> LayoutNodes(const CliFlags& flags,
                                                                     const CliEnvironment& env,
                                                                     bool participants_only) {
  const std::string path = LayoutPath(DataDir(flags, env));
  if (!LayoutExists(path)) {
    return Status::NotFound("no cluster layout " + path +
                            " (name a node by endpoint, or pass --data-dir)");
  }
  KV2PC_ASSIGN_OR_RETURN(ClusterConfig config, LoadLayout(path));
  std::vector<std::pair<std::string, std::string>> nodes;
  for (const NodeInfo& n : config.nodes()) {
    if (participants_only && n.role != Role::kParticipant) continue;
    nodes.emplace_back(n.name, n.endpoint);
  }
  return nodes;
}

int UsageError(std::ostream& err, std::string_view message) {
  err << "error: " << message << "\nrun 'kv2pc help' for usage\n";
  return kExitUsage;
}

int Error(std::ostream& err, const Status& status, int exit_status) {
  err << "error: " << status.message() << '\n';
  return exit_status;
}

}  // namespace kv2pc
