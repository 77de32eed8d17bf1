// See operator_cli.h.
#include "client/operator_cli.h"

#include <optional>
#include <ostream>
#include <thread>

#include "client/client.h"
#include "client/safe_text.h"
#include "client/status_format.h"
#include "common/failpoint.h"

namespace kv2pc {
namespace {

// Operator commands are what people run when something is wrong: a dead node should cost a
// few seconds, not the 15 s default.
constexpr int kOperatorTimeoutMs = 3000;

int TimeoutMs(const CliFlags& flags) {
  return flags.timeout_ms == kDefaultTimeoutMs ? kOperatorTimeoutMs : flags.timeout_ms;
}

// The nodes to ask: the ones named (names from the layout, or endpoints), else every
// participant of the layout.
Result<std::vector<std::pair<std::string, std::string>>> Targets(
    const std::vector<std::string>& names, const CliFlags& flags, const CliEnvironment& env) {
  if (names.empty()) return LayoutNodes(flags, env, /*participants_only=*/true);
  std::vector<std::pair<std::string, std::string>> targets;
  for (const std::string& n : names) {
    KV2PC_ASSIGN_OR_RETURN(std::string endpoint, ResolvePingTarget(n, flags, env));
    targets.emplace_back(n, endpoint);
  }
  return targets;
}

// Sends `request` to every target at once; replies in target order.
std::vector<Result<Reply>> AskAll(const std::vector<std::pair<std::string, std::string>>& targets,
                                  const MessageBody& request, int timeout_ms) {
  std::vector<std::optional<Result<Reply>>> replies(targets.size());
  std::vector<std::thread> askers;
  for (size_t i = 0; i < targets.size(); i++) {
    askers.emplace_back([&replies, &targets, &request, i, timeout_ms] {
      replies[i] = Client::Ask(targets[i].second, request, timeout_ms);
    });
  }
  for (auto& t : askers) t.join();
  std::vector<Result<Reply>> out;
  for (auto& r : replies) out.push_back(std::move(*r));
  return out;
}

void PrintArmed(const std::string& node, const Reply& reply, std::ostream& out) {
  if (reply.failpoints.empty()) {
    out << SafeText(node) << ": no fail point armed\n";
    return;
  }
  out << SafeText(node) << ":\n";
  for (const FailPointState& f : reply.failpoints) {
    out << "  " << SafeText(f.name) << " = " << SafeText(f.action) << "  (hits " << f.hits;
    if (f.held > 0) out << ", holding " << f.held;
    out << ")\n";
  }
}

std::string Join(const std::vector<std::string>& items, size_t shown) {
  std::string out;
  for (size_t i = 0; i < items.size() && i < shown; i++) {
    if (i > 0) out += ", ";
    out += items[i];
  }
  if (items.size() > shown) out += ", ...";
  return out;
}

}  // namespace

int FailPointCommand(const std::vector<std::string>& args, const CliFlags& flags,
                     const CliEnvironment& env, std::ostream& out, std::ostream& err) {
  if (args.empty()) {
    return UsageError(err, "usage: failpoint list | failpoint NODE [NAME ACTION]");
  }
  if (args[0] == "list") {
    if (args.size() != 1) return UsageError(err, "usage: failpoint list");
    out << "fail points (docs/fail-points.md); actions: off, crash, pause, sleep(MS), error,\n"
           "each optionally limited to the next N hits as N*ACTION\n";
    for (const FailPointInfo& p : FailPointCatalogue()) {
      out << '\n' << p.name << "\n    when:  " << p.when << '\n';
      out << "    error: " << (p.error != nullptr ? p.error : "(not available here)") << '\n';
    }
    return kExitOk;
  }
  if (args.size() != 1 && args.size() != 3) {
    return UsageError(err, "usage: failpoint NODE [NAME ACTION]");
  }
  FailPointRequest req;
  if (args.size() == 3) {
    // Checked here too, so a typo gets the catalogue's answer even if the node is down.
    if (FindFailPoint(args[1]) == nullptr) {
      return UsageError(err, "unknown fail point '" + SafeText(args[1]) +
                                 "' (`kv2pc failpoint list` prints them)");
    }
    Result<FailAction> action = FailAction::Parse(args[2]);
    if (!action.ok()) return UsageError(err, action.status().message());
    req.name = args[1];
    req.action = args[2];
  }
  Result<std::string> endpoint = ResolvePingTarget(args[0], flags, env);
  if (!endpoint.ok()) return Error(err, endpoint.status(), kExitUsage);
  Result<Reply> reply = Client::Ask(*endpoint, req, TimeoutMs(flags));
  if (!reply.ok()) return Error(err, reply.status(), kExitError);
  PrintArmed(args[0], *reply, out);
  return kExitOk;
}

int OutcomeCommand(const std::vector<std::string>& args, const CliFlags& flags,
                   const CliEnvironment& env, std::ostream& out, std::ostream& err) {
  if (args.size() != 1) return UsageError(err, "usage: outcome TXN (e.g. T0.3.17)");
  std::optional<TxnId> txn = TxnId::Parse(args[0]);
  if (!txn) {
    return UsageError(err, "'" + SafeText(args[0]) + "' is not a transaction id (T<c>.<i>.<n>)");
  }
  // The coordinator that ran it decides it: coordinator-<c> of the layout, or --coordinator.
  Result<std::string> endpoint = ResolvePingTarget(CoordinatorName(txn->coordinator), flags, env);
  if (!endpoint.ok() && flags.coordinator) endpoint = *flags.coordinator;
  if (!endpoint.ok()) return Error(err, endpoint.status(), kExitUsage);
  Result<Outcome> outcome = Client::OutcomeOf(*endpoint, *txn, TimeoutMs(flags));
  if (!outcome.ok()) {
    return Error(err,
                 outcome.status().WithContext("asking " + CoordinatorName(txn->coordinator) +
                                              " at " + *endpoint),
                 kExitError);
  }
  out << txn->ToString() << ' ' << OutcomeName(*outcome);
  switch (*outcome) {
    case Outcome::kPending:
      out << " (not decided yet: ask again)";
      break;
    case Outcome::kUnknown:
      out << " (older than the outcomes " << CoordinatorName(txn->coordinator) << " keeps)";
      break;
    default:
      break;
  }
  out << '\n';
  return kExitOk;
}

int InDoubtCommand(const std::vector<std::string>& args, const CliFlags& flags,
                   const CliEnvironment& env, std::ostream& out, std::ostream& err) {
  auto targets = Targets(args, flags, env);
  if (!targets.ok()) return Error(err, targets.status(), kExitUsage);
  std::vector<Result<Reply>> replies = AskAll(*targets, InDoubtRequest{}, TimeoutMs(flags));
  int rc = kExitOk;
  size_t total = 0;
  for (size_t i = 0; i < targets->size(); i++) {
    const auto& [name, endpoint] = (*targets)[i];
    const Result<Reply>& reply = replies[i];
    if (!reply.ok() || !reply->in_doubt) {
      out << SafeText(name) << " at " << endpoint << ": no answer ("
          << (reply.ok() ? "the reply lists nothing" : reply.status().message()) << ")\n";
      rc = kExitError;
      continue;
    }
    const std::vector<InDoubtTxn>& list = *reply->in_doubt;
    total += list.size();
    if (list.empty()) {
      out << SafeText(name) << ": nothing in doubt\n";
      continue;
    }
    out << SafeText(name) << ": " << list.size() << " in doubt\n";
    for (const InDoubtTxn& t : list) {
      out << "  " << t.txn.ToString() << "  coordinator " << SafeText(t.coordinator)
          << ", voted YES " << FormatDuration(t.age_ms) << " ago"
          << (t.recovered ? " (recovered from the WAL)" : "") << ", PREPARE at LSN "
          << t.prepare_lsn << '\n';
      std::vector<std::string> keys;
      for (const std::string& k : t.keys) keys.push_back("'" + SafeText(k) + "'");
      out << "    holds X locks on " << t.keys_total << " key(s): " << Join(keys, 10) << '\n';
      if (!t.waiters.empty()) {
        std::vector<std::string> w;
        for (const TxnId& id : t.waiters) w.push_back(id.ToString());
        out << "    blocks: " << Join(w, 10) << '\n';
      }
      if (!t.participants.empty()) {
        out << "    participants: " << SafeText(Join(t.participants, 20)) << '\n';
      }
      out << "    undecided because: " << SafeText(t.why) << '\n';
    }
  }
  if (total > 0) {
    out << "\n"
        << total
        << " in doubt. They end when their coordinator answers; if it is lost for good:\n"
           "  kv2pc resolve TXN commit|abort --force\n";
  }
  out.flush();
  return rc;
}

int ResolveCommand(const std::vector<std::string>& args, const CliFlags& flags,
                   const CliEnvironment& env, std::ostream& out, std::ostream& err) {
  constexpr std::string_view kUsage = "usage: resolve TXN commit|abort --force [NODE...]";
  std::vector<std::string> rest;
  bool force = false;
  for (const std::string& a : args) {
    if (a == "--force") {
      force = true;
    } else {
      rest.push_back(a);
    }
  }
  if (rest.size() < 2) return UsageError(err, kUsage);
  std::optional<TxnId> txn = TxnId::Parse(rest[0]);
  if (!txn) return UsageError(err, "'" + SafeText(rest[0]) + "' is not a transaction id");
  if (rest[1] != "commit" && rest[1] != "abort") return UsageError(err, kUsage);
  const bool commit = rest[1] == "commit";
  if (!force) {
    return UsageError(err,
                      "a heuristic decision may contradict the coordinator's: if it decided "
                      "otherwise, the transaction ends half-applied (HEURISTIC_MIXED). Check "
                      "`kv2pc outcome " +
                          txn->ToString() + "` first; add --force to go ahead");
  }
  auto targets = Targets({rest.begin() + 2, rest.end()}, flags, env);
  if (!targets.ok()) return Error(err, targets.status(), kExitUsage);
  std::vector<Result<Reply>> replies =
      AskAll(*targets, ResolveRequest{*txn, commit}, TimeoutMs(flags));
  int resolved = 0;
  int rc = kExitOk;
  for (size_t i = 0; i < targets->size(); i++) {
    const std::string& name = (*targets)[i].first;
    const Result<Reply>& r = replies[i];
    if (r.ok()) {
      out << SafeText(name) << ": " << txn->ToString() << " -> " << (commit ? "COMMIT" : "ABORT")
          << " (heuristic, logged)\n";
      resolved++;
    } else if (r.status().IsNotFound()) {
      out << SafeText(name) << ": not in doubt there\n";
    } else {
      out << SafeText(name) << ": " << r.status().message() << '\n';
      rc = kExitError;
    }
  }
  if (resolved == 0 && rc == kExitOk) {
    err << "error: " << txn->ToString() << " is not in doubt at any participant asked\n";
    return kExitNotFound;
  }
  return rc;
}

}  // namespace kv2pc
