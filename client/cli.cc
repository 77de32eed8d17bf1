// See cli.h.
#include "client/cli.h"

#include <istream>
#include <memory>
#include <ostream>
#include <thread>
#include <vector>

#include "client/client.h"
#include "client/crash_matrix.h"
#include "client/operator_cli.h"
#include "client/safe_text.h"
#include "client/shell.h"
#include "client/status_format.h"

namespace kv2pc {

namespace {

constexpr std::string_view kUsage =
    "usage: kv2pc [FLAGS] [COMMAND ARGS]\n"
    "\n"
    "commands (each get/put/del is its own transaction):\n"
    "  get KEY          print the value of KEY (exit 1 if there is none)\n"
    "  put KEY VALUE    set KEY to VALUE\n"
    "  del KEY          delete KEY\n"
    "  ping NODE        ask a node (tcp://HOST:PORT or a name such as participant-0) who it is\n"
    "  status [NODE...] what each node is doing: transactions by state, locks held and waited\n"
    "                   for (default: every node of the cluster layout; waits at most 3 s\n"
    "                   for an answer unless --timeout-ms is given)\n"
    "\n"
    "operators (docs/recovery.md, docs/fail-points.md):\n"
    "  outcome TXN                      COMMITTED, ABORTED, PENDING or UNKNOWN, from the\n"
    "                                   coordinator that ran TXN (e.g. after OUTCOME_UNKNOWN)\n"
    "  in-doubt [NODE...]               transactions that voted YES and wait for a decision:\n"
    "                                   coordinator, age, locked keys, who waits, why\n"
    "  resolve TXN commit|abort --force [NODE...]\n"
    "                                   heuristic decision for a coordinator lost for good\n"
    "  failpoint list                   every fail point and what it marks\n"
    "  failpoint NODE [NAME ACTION]     show or set fail points at NODE (ACTION: off, crash,\n"
    "                                   pause, sleep(MS), error; N*ACTION = next N hits)\n"
    "  crash-matrix [--only NAME]       crash at every fail point on a scratch cluster and\n"
    "                                   check recovery (a table; exit 3 on any failure)\n"
    "  help             this text\n"
    "  (none)           start a shell with begin/commit/abort; reads commands from stdin\n"
    "\n"
    "flags:\n"
    "  --coordinator tcp://HOST:PORT   coordinator to use (default: $KV2PC_COORDINATOR, else\n"
    "                                  coordinator-0 of DATA_DIR/cluster.conf)\n"
    "  --data-dir D                    cluster directory (default: $KV2PC_DATA_DIR, else\n"
    "                                  ./cluster-data)\n"
    "  --timeout-ms N                  wait at most N ms for an answer (default 15000)\n"
    "  --raw                           get prints the exact bytes, without a newline\n"
    "\n"
    "exit status: 0 ok, 1 not found / no pong, 2 usage or no cluster, 3 error\n";

int Ping(const std::vector<std::string>& args, const CliFlags& flags, const CliEnvironment& env,
         std::ostream& out, std::ostream& err) {
  if (args.size() != 1) return UsageError(err, "usage: ping ENDPOINT|NODE");
  Result<std::string> endpoint = ResolvePingTarget(args[0], flags, env);
  if (!endpoint.ok()) return Error(err, endpoint.status(), kExitUsage);
  Result<std::string> pong = Client::Ping(*endpoint, flags.timeout_ms);
  if (!pong.ok()) {
    // A malformed endpoint is the caller's mistake; anything else means no (good) answer.
    return Error(err, pong.status(),
                 pong.status().IsInvalidArgument() ? kExitUsage : kExitNotFound);
  }
  out << "pong: " << *pong << '\n';
  return kExitOk;
}

constexpr int kStatusTimeoutMs = 3000;

int NodeStatusCommand(const std::vector<std::string>& args, const CliFlags& flags,
                      const CliEnvironment& env, std::ostream& out, std::ostream& err) {
  std::vector<std::pair<std::string, std::string>> targets;  // what the user named, endpoint
  if (args.empty()) {
    auto nodes = LayoutNodes(flags, env);
    if (!nodes.ok()) return Error(err, nodes.status(), kExitUsage);
    targets = std::move(nodes).value();
  } else {
    for (const std::string& a : args) {
      Result<std::string> endpoint = ResolvePingTarget(a, flags, env);
      if (!endpoint.ok()) return Error(err, endpoint.status(), kExitUsage);
      targets.emplace_back(a, *endpoint);
    }
  }
  // Every node at once, so a dead one costs one timeout, not one per node; and by default a
  // short one (3 s): status is what people run when something is wrong.
  const int timeout_ms =
      flags.timeout_ms == kDefaultTimeoutMs ? kStatusTimeoutMs : flags.timeout_ms;
  std::vector<std::optional<Result<Reply>>> replies(targets.size());
  {
    std::vector<std::thread> askers;
    for (size_t i = 0; i < targets.size(); i++) {
      askers.emplace_back([&replies, &targets, i, timeout_ms] {
        replies[i] = Client::NodeStatus(targets[i].second, std::nullopt, timeout_ms);
      });
    }
    for (auto& t : askers) t.join();
  }
  int rc = kExitOk;
  for (size_t i = 0; i < targets.size(); i++) {
    if (i > 0) out << '\n';
    const auto& [name, endpoint] = targets[i];
    const Result<Reply>& reply = *replies[i];
    if (!reply.ok()) {
      out << SafeText(name) << " at " << endpoint << ": no answer (" << reply.status().message()
          << ")\n";
      rc = kExitError;
      continue;
    }
    out << FormatNodeStatus(*reply, endpoint);
  }
  out.flush();
  return rc;
}

// get/put/del from the command line.
int OneShot(Client* client, const std::vector<std::string>& command, const CliFlags& flags,
            std::ostream& out, std::ostream& err) {
  const std::string& name = command[0];
  if (name == "get") {
    if (command.size() != 2) return UsageError(err, "usage: get KEY");
    Result<std::optional<std::string>> value = client->Get(command[1]);
    if (!value.ok()) return Error(err, value.status(), kExitError);
    if (!value->has_value()) {
      err << "(not found)\n";
      return kExitNotFound;
    }
    if (flags.raw) {
      out.write((*value)->data(), static_cast<std::streamsize>((*value)->size()));
    } else {
      out << SafeText(**value) << '\n';
    }
    out.flush();
    return kExitOk;
  }
  Status s;
  if (name == "put") {
    if (command.size() != 3) return UsageError(err, "usage: put KEY VALUE");
    s = client->Put(command[1], command[2]);
  } else {
    if (command.size() != 2) return UsageError(err, "usage: del KEY");
    s = client->Del(command[1]);
  }
  if (!s.ok()) return Error(err, s, kExitError);
  out << "OK\n";
  return kExitOk;
}

}  // namespace

int RunCli(const std::vector<std::string>& args, const CliEnvironment& env, std::istream& in,
           std::ostream& out, std::ostream& err, bool interactive) {
  Result<CliFlags> parsed = ParseCliFlags(args);
  if (!parsed.ok()) return UsageError(err, parsed.status().message());
  const CliFlags& flags = *parsed;
  const std::string command = flags.command.empty() ? "" : flags.command[0];

  if (flags.help || command == "help") {
    out << kUsage;
    return kExitOk;
  }
  if (command == "ping") {
    const std::vector<std::string> ping_args(flags.command.begin() + 1, flags.command.end());
    return Ping(ping_args, flags, env, out, err);
  }
  if (command == "status") {
    const std::vector<std::string> status_args(flags.command.begin() + 1, flags.command.end());
    return NodeStatusCommand(status_args, flags, env, out, err);
  }
  const std::vector<std::string> rest(
      flags.command.empty() ? flags.command.end() : flags.command.begin() + 1, flags.command.end());
  if (command == "failpoint") return FailPointCommand(rest, flags, env, out, err);
  if (command == "outcome") return OutcomeCommand(rest, flags, env, out, err);
  if (command == "in-doubt") return InDoubtCommand(rest, flags, env, out, err);
  if (command == "resolve") return ResolveCommand(rest, flags, env, out, err);
  if (command == "crash-matrix") return CrashMatrixCommand(rest, out, err);
  if (command == "begin" || command == "commit" || command == "abort") {
    return UsageError(err, "'" + command +
                               "' works only in the shell (run kv2pc without a command, or "
                               "pipe commands into it)");
  }
  if (!command.empty() && command != "get" && command != "put" && command != "del") {
    return UsageError(err, "unknown command '" + SafeText(command) + "'");
  }

  Result<std::string> coordinator = FindCoordinator(flags, env);
  if (!coordinator.ok()) return Error(err, coordinator.status(), kExitUsage);
  Result<std::unique_ptr<Client>> client = Client::Connect({*coordinator, flags.timeout_ms});
  if (!client.ok()) return Error(err, client.status(), kExitUsage);

  if (command.empty()) {
    Shell shell(client->get(), out, err);
    return shell.Run(in, interactive);
  }
  return OneShot(client->get(), flags.command, flags, out, err);
}

}  // namespace kv2pc
