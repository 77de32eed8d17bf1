// See crash_matrix.h.
#include "client/crash_matrix.h"

#include <chrono>
#include <cstdio>
#include <future>
#include <map>
#include <optional>
#include <ostream>
#include <thread>

#include "client/cli_options.h"
#include "client/client.h"
#include "client/local_cluster.h"
#include "common/failpoint.h"
#include "common/partitioner.h"

namespace kv2pc {
namespace {

using Clock = std::chrono::steady_clock;

constexpr int kParticipants = 3;
constexpr int kClientTimeoutMs = 3000;  // > --vote-timeout-ms: a definite answer comes first
constexpr int kAskTimeoutMs = 1000;
constexpr int kCrashWaitMs = 10000;    // the fail point must be reached within this
constexpr int kResolveWaitMs = 30000;  // recovery must finish within this
constexpr int kAloneWaitMs = 6000;     // coordinator lost: time the participants get alone

// Short timeouts, so recovery shows within seconds; every one has a flag (docs/recovery.md).
const std::vector<std::string> kCoordinatorArgs = {
    "--vote-timeout-ms", "1000", "--commit-retry-ms", "200", "--op-timeout-ms", "2000"};
const std::vector<std::string> kParticipantArgs = {"--outcome-query-interval-ms", "100",
                                                   "--lock-timeout-ms",           "2000",
                                                   "--txn-idle-timeout-ms",       "1500"};

int64_t MsSince(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t).count();
}

// Which node a point crashes: coordinator points the coordinator, participant points the
// participant holding the second key.
std::string NodeFor(const std::string& point) {
  return point.rfind("coordinator.", 0) == 0 ? "coordinator-0" : "participant-1";
}

// Points reached only when a transaction aborts after voting began: participant-2 votes NO.
bool NeedsNoVote(const std::string& point) {
  return point == "coordinator.before_abort_sent" || point == "participant.before_abort_logged";
}

// Points on the read-only path: the crashed participant (participant-1) only reads its key, so
// it votes READ_ONLY while the others write.
bool ReadOnlyAtCrashed(const std::string& point) {
  return point == "participant.before_read_only_vote";
}

// Points on the one-phase path: the transaction writes participant-1's key only, so its
// commit is one-phase (the other keys take no part and must keep their old values).
bool OnePhase(const std::string& point) {
  return point.find(".before_one_phase_") != std::string::npos ||
         point.find(".after_one_phase_") != std::string::npos;
}

// Points after which the participants can always finish without the coordinator: idle ACTIVE
// transactions abort, a NO voter tells its fellows ABORT, and a one-phase commit needs nobody.
bool ParticipantsMustSettleAlone(const std::string& point) {
  return point == "coordinator.before_prepare_sent" || point == "coordinator.before_abort_sent" ||
         point == "coordinator.after_one_phase_sent";
}

Result<Reply> Ask(const std::string& endpoint, MessageBody request) {
  return Client::Ask(endpoint, std::move(request), kAskTimeoutMs);
}

// Open transactions at a node (any state), or nullopt if it does not answer.
std::optional<uint64_t> OpenAt(LocalCluster& cluster, const std::string& node) {
  Result<Reply> r = Client::NodeStatus(cluster.endpoint(node), 1, kAskTimeoutMs);
  if (!r.ok()) return std::nullopt;
  return r->status->txns_total;
}

// Transactions PREPARED and undecided at a participant, or nullopt if it does not answer.
std::optional<std::vector<InDoubtTxn>> InDoubtAt(LocalCluster& cluster, const std::string& node) {
  Result<Reply> r = Ask(cluster.endpoint(node), InDoubtRequest{});
  if (!r.ok() || !r->in_doubt) return std::nullopt;
  return *r->in_doubt;
}

// True once no running node has anything open.
bool Settled(LocalCluster& cluster, bool with_coordinator) {
  for (const std::string& p : cluster.participant_names()) {
    std::optional<uint64_t> open = OpenAt(cluster, p);
    if (!open || *open != 0) return false;
  }
  if (with_coordinator) {
    std::optional<uint64_t> open = OpenAt(cluster, "coordinator-0");
    if (!open || *open != 0) return false;
  }
  return true;
}

// One key per participant, in participant order.
std::vector<std::string> KeysOnEachParticipant(const LocalCluster& cluster) {
  HashRing ring(cluster.participant_names(), cluster.vnodes());
  std::vector<std::string> keys(kParticipants);
  int found = 0;
  for (int i = 0; found < kParticipants && i < 100000; i++) {
    std::string k = "crash-key-" + std::to_string(i);
    size_t owner = ring.OwnerIndex(k);
    if (keys[owner].empty()) {
      keys[owner] = k;
      found++;
    }
  }
  return keys;
}

std::string Heard(const Status& s, const Client& client) {
  if (s.ok()) return "COMMITTED";
  std::string out(ErrorCodeName(client.last_error_code()));
  if (client.last_abort_reason() != AbortReason::kNone) {
    out += " (" + std::string(AbortReasonName(client.last_abort_reason())) + ")";
  }
  return out;
}

std::string Shorten(std::string s, size_t n) {
  if (s.size() > n) s = s.substr(0, n - 3) + "...";
  return s;
}

}  // namespace

std::vector<CrashCase> AllCrashCases() {
  std::vector<CrashCase> cases;
  for (const FailPointInfo& p : FailPointCatalogue()) {
    cases.push_back(CrashCase{p.name, false});
  }
  for (const FailPointInfo& p : FailPointCatalogue()) {
    if (std::string(p.name).rfind("coordinator.", 0) == 0) cases.push_back(CrashCase{p.name, true});
  }
  return cases;
}

CrashRow RunCrashCase(const CrashMatrixOptions& options, const CrashCase& c, std::string* logs) {
  CrashRow row;
  row.c = c;
  row.crashed = NodeFor(c.point);
  LocalCluster cluster(options.bin_dir, kParticipants, kCoordinatorArgs, kParticipantArgs,
                       options.keep_dirs);
  auto fail = [&](std::string why) -> CrashRow& {
    row.failure = std::move(why);
    if (options.keep_dirs) row.failure += " [logs in " + cluster.dir() + "]";
    if (logs != nullptr) *logs = cluster.Logs();
    return row;
  };
  if (FindFailPoint(c.point) == nullptr) return fail("no fail point named " + c.point);
  if (Status s = cluster.Start(); !s.ok()) return fail("cluster start: " + s.ToString());
  const std::vector<std::string> keys = KeysOnEachParticipant(cluster);

  auto connect = [&]() -> std::unique_ptr<Client> {
    auto client = Client::Connect(ClientOptions{cluster.coordinator(), kClientTimeoutMs});
    return client.ok() ? std::move(client).value() : nullptr;
  };
  std::unique_ptr<Client> seeder = connect();
  if (seeder == nullptr) return fail("cannot create a client");
  Status seeded = seeder->RunTransaction([&](Client& cl, const TxnId& t) {
    for (const auto& k : keys) KV2PC_RETURN_IF_ERROR(cl.Put(t, k, "old"));
    return Status::OK();
  });
  if (!seeded.ok()) return fail("seeding: " + seeded.ToString());
  // The seeding commit's acknowledgements and END may still be on their way: arm nothing
  // before they are done, or they would hit the point instead.
  for (Clock::time_point t = Clock::now();
       MsSince(t) < kResolveWaitMs && !Settled(cluster, true);) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }

  // Arm the point (and the NO vote some points need) at run time: only this node, this time.
  if (NeedsNoVote(c.point)) {
    Result<Reply> r = Ask(cluster.endpoint("participant-2"),
                          FailPointRequest{"participant.before_prepare_logged", "1*error"});
    if (!r.ok()) return fail("arming the NO vote: " + r.status().ToString());
  }
  if (Result<Reply> r = Ask(cluster.endpoint(row.crashed), FailPointRequest{c.point, "crash"});
      !r.ok()) {
    return fail("arming " + c.point + ": " + r.status().ToString());
  }

  // The transaction, on its own thread: a client whose coordinator crashed waits out its
  // timeout, which the recovery below need not wait for.
  std::unique_ptr<Client> client = connect();
  if (client == nullptr) return fail("cannot create a client");
  std::optional<TxnId> txn;
  if (auto t = client->Begin(); t.ok()) {
    txn = *t;
  } else {
    return fail("BEGIN: " + t.status().ToString());
  }
  // With a read-only point, participant-1's key (keys[1]) is read, not written, and takes no
  // part in the all-or-nothing check below.
  const bool read_only_key = ReadOnlyAtCrashed(c.point);
  const bool one_phase = OnePhase(c.point);
  for (size_t i = 0; i < keys.size(); i++) {
    if (one_phase && i != 1) continue;
    if (read_only_key && i == 1) {
      if (auto v = client->Get(*txn, keys[i]); !v.ok())
        return fail("GET: " + v.status().ToString());
      continue;
    }
    if (Status s = client->Put(*txn, keys[i], "new"); !s.ok()) return fail("PUT: " + s.ToString());
  }
  std::future<Status> commit =
      std::async(std::launch::async, [&client, &txn] { return client->Commit(*txn); });

  if (!cluster.WaitForExit(row.crashed, kCrashWaitMs)) {
    commit.wait();
    return fail("the fail point was not reached: " + row.crashed + " still runs after " +
                std::to_string(kCrashWaitMs) + " ms");
  }

  const bool coordinator_crashed = row.crashed == "coordinator-0";
  if (c.coordinator_lost && coordinator_crashed) {
    // The participants alone: wait until they settle or the time is up, then look.
    Clock::time_point alone = Clock::now();
    while (MsSince(alone) < kAloneWaitMs && !Settled(cluster, false)) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    size_t in_doubt = 0;
    std::string not_listed;
    for (const std::string& p : cluster.participant_names()) {
      std::optional<std::vector<InDoubtTxn>> list = InDoubtAt(cluster, p);
      std::optional<uint64_t> open = OpenAt(cluster, p);
      if (!list || !open) return fail(p + " does not answer while the coordinator is down");
      in_doubt += list->size();
      // Everything still open there must be PREPARED and listed (ACTIVE ones end by idle
      // timeout, which the wait above covers).
      if (*open != list->size()) not_listed += " " + p;
    }
    row.without_coordinator =
        in_doubt == 0 ? "settled alone" : std::to_string(in_doubt) + " in doubt, listed";
    if (!not_listed.empty()) {
      return fail("with the coordinator down, open transactions not listed as in doubt at" +
                  not_listed);
    }
    if (ParticipantsMustSettleAlone(c.point) && in_doubt > 0) {
      return fail("the participants should have finished " + txn->ToString() +
                  " without the coordinator (" + row.without_coordinator + ")");
    }
  }

  Clock::time_point restarted = Clock::now();
  if (Status s = cluster.StartNode(row.crashed); !s.ok()) {
    return fail("restart of " + row.crashed + ": " + s.ToString());
  }
  while (MsSince(restarted) < kResolveWaitMs && !Settled(cluster, true)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (!Settled(cluster, true)) {
    return fail("not resolved " + std::to_string(kResolveWaitMs) + " ms after the restart");
  }
  row.resolve_ms = MsSince(restarted);
  Status committed = commit.get();
  row.client_heard = Heard(committed, *client);

  std::unique_ptr<Client> reader = connect();
  if (reader == nullptr) return fail("cannot create a client");
  std::map<std::string, int> seen;
  for (size_t i = 0; i < keys.size(); i++) {
    const std::string& k = keys[i];
    Result<std::optional<std::string>> v = reader->Get(k);
    if (!v.ok()) return fail("GET " + k + ": " + v.status().ToString());
    if ((read_only_key && i == 1) || (one_phase && i != 1)) {
      if (v->value_or("(none)") != "old")
        return fail("a key the transaction did not write changed");
      continue;
    }
    seen[v->value_or("(none)")]++;
  }
  row.all_or_nothing = seen.size() == 1 && (seen.count("old") || seen.count("new"));
  if (!row.all_or_nothing) {
    std::string got;
    for (const auto& [v, n] : seen) got += " " + v + "x" + std::to_string(n);
    return fail("half-applied:" + got);
  }
  const bool is_commit = seen.count("new") > 0;
  row.outcome = is_commit ? "COMMIT" : "ABORT";
  const ErrorCode heard = client->last_error_code();
  row.ack_durable = committed.ok() ? is_commit : (heard == ErrorCode::kAborted ? !is_commit : true);
  if (!row.ack_durable) {
    return fail("the client heard " + row.client_heard + " but the data shows " + row.outcome);
  }
  if (heard == ErrorCode::kTxnAlreadyAborted || heard == ErrorCode::kTxnNotFound) {
    return fail("the client heard a guess (" + row.client_heard + ") for its COMMIT");
  }
  Result<Outcome> outcome = Client::OutcomeOf(cluster.coordinator(), *txn, kAskTimeoutMs);
  if (!outcome.ok()) return fail("QUERY_OUTCOME: " + outcome.status().ToString());
  row.outcome_agrees = *outcome == (is_commit ? Outcome::kCommitted : Outcome::kAborted);
  if (!row.outcome_agrees) {
    return fail(std::string("kv2pc outcome says ") + std::string(OutcomeName(*outcome)) +
                " but the data shows " + row.outcome);
  }

  Status again = reader->RunTransaction([&](Client& cl, const TxnId& t) {
    for (const auto& k : keys) KV2PC_RETURN_IF_ERROR(cl.Put(t, k, "later"));
    return Status::OK();
  });
  row.locks_released = again.ok();
  if (!row.locks_released) return fail("the keys stay locked: " + again.ToString());
  return row;
}

std::string CrashTableHeader() {
  char buf[256];
  std::snprintf(buf, sizeof buf, "%-43s %-13s %-26s %-7s %-4s %-4s %-4s %-4s %8s  %s\n",
                "fail point (crash)", "crashed", "client heard", "outcome", "A/N", "ack", "qry",
                "lock", "resolve", "result");
  return buf;
}

std::string CrashTableLine(const CrashRow& row) {
  auto yn = [&row](bool v) { return row.resolve_ms < 0 ? "-" : v ? "yes" : "NO"; };
  std::string point = row.c.point + (row.c.coordinator_lost ? " +lost" : "");
  std::string heard = row.client_heard.empty() ? "-" : Shorten(row.client_heard, 26);
  std::string resolve = row.resolve_ms < 0 ? "-" : std::to_string(row.resolve_ms) + "ms";
  std::string result = row.passed() ? "ok" : "FAIL: " + row.failure;
  if (row.passed() && !row.without_coordinator.empty()) {
    result += " (coordinator down: " + row.without_coordinator + ")";
  }
  char buf[1024];
  std::snprintf(buf, sizeof buf, "%-43s %-13s %-26s %-7s %-4s %-4s %-4s %-4s %8s  %s\n",
                point.c_str(), row.crashed.c_str(), heard.c_str(),
                row.outcome.empty() ? "-" : row.outcome.c_str(), yn(row.all_or_nothing),
                yn(row.ack_durable), yn(row.outcome_agrees), yn(row.locks_released),
                resolve.c_str(), result.c_str());
  return buf;
}

int CrashMatrixCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  CrashMatrixOptions options;
  std::string only;
  bool lost = true;
  for (size_t i = 0; i < args.size(); i++) {
    if (args[i] == "--keep") {
      options.keep_dirs = true;
    } else if (args[i] == "--no-coordinator-lost") {
      lost = false;
    } else if (args[i] == "--only" && i + 1 < args.size()) {
      only = args[++i];
      if (FindFailPoint(only) == nullptr) {
        err << "error: unknown fail point '" << only << "' (`kv2pc failpoint list`)\n";
        return kExitUsage;
      }
    } else {
      err << "error: usage: crash-matrix [--only NAME] [--keep] [--no-coordinator-lost]\n";
      return kExitUsage;
    }
  }
  Result<std::string> bin_dir =
      ServerBinDir("build the project first: ./run_cluster.sh start builds everything");
  if (!bin_dir.ok()) {
    err << "error: " << bin_dir.status().message() << '\n';
    return kExitError;
  }
  options.bin_dir = *bin_dir;
  out << "crash matrix: one scratch cluster per row (1 coordinator, 3 participants, 127.0.0.1),\n"
         "a transaction writing a key on every participant, a crash at the fail point, a "
         "restart.\n"
         "A/N all-or-nothing, ack = what the client heard happened, qry = kv2pc outcome "
         "agrees,\n"
         "lock = a new transaction can write the keys; resolve = restart to nothing open.\n"
         "+lost = the coordinator stays down until the participants settle on their own.\n\n"
      << CrashTableHeader();
  out.flush();
  int failed = 0, rows = 0;
  for (const CrashCase& c : AllCrashCases()) {
    if (!only.empty() && c.point != only) continue;
    if (c.coordinator_lost && !lost) continue;
    CrashRow row = RunCrashCase(options, c);
    rows++;
    failed += row.passed() ? 0 : 1;
    out << CrashTableLine(row);
    out.flush();
  }
  out << '\n' << rows - failed << " of " << rows << " rows passed\n";
  return failed == 0 ? kExitOk : kExitError;
}

}  // namespace kv2pc
