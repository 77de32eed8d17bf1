// See chaos.h.
#include "client/chaos.h"

#include <algorithm>
#include <atomic>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <sstream>
#include <thread>
#include <utility>

#include "client/cli_options.h"
#include "client/client.h"
#include "client/local_cluster.h"
#include "common/partitioner.h"

namespace kv2pc {
namespace {

using Clock = std::chrono::steady_clock;

constexpr int64_t kInitialBalance = 1000;
constexpr int64_t kMaxTransfer = 50;
constexpr int kMaxAttempts = 10;  // per transfer (same wound-wait ts), then a new transfer
constexpr int kMaxAuditAttempts = 20;
constexpr int kAuditPauseMs = 200;
constexpr int kAvoidFailedCoordinatorMs = 3000;  // after it failed a call, try the others
constexpr int kProgressEveryMs = 5000;
constexpr int kAskTimeoutMs = 2000;
constexpr int kFinalClientTimeoutMs = 10000;
constexpr int kStartAttempts = 5;

// Short timeouts, so that recovery shows within seconds (as client/crash_matrix.cc), a client
// timeout (3 s) above the coordinator's own waits, and an outcome history that outlasts a long
// run: with the default 100,000 a 10-minute run can push early decisions out, and their
// unknown-outcome commits would then be answered UNKNOWN at the end.
const std::vector<std::string> kCoordinatorArgs = {
    "--vote-timeout-ms",     "1000", "--commit-retry-ms", "200",    "--op-timeout-ms", "2000",
    "--txn-idle-timeout-ms", "3000", "--outcome-history", "1000000"};
const std::vector<std::string> kParticipantArgs = {"--outcome-query-interval-ms",
                                                   "100",
                                                   "--outcome-query-max-interval-ms",
                                                   "1000",
                                                   "--outcome-query-timeout-ms",
                                                   "500",
                                                   "--lock-timeout-ms",
                                                   "2000",
                                                   "--txn-idle-timeout-ms",
                                                   "1500",
                                                   "--checkpoint-interval-ms",
                                                   "200"};

int64_t MsSince(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t).count();
}

std::string Seconds(int64_t ms) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%6.1fs", static_cast<double>(ms) / 1000);
  return buf;
}

// A uniform draw in [lo, hi] from the RNG's next number. Not std::uniform_int_distribution:
// its algorithm is the library's choice, and a seed should give the same schedule anywhere.
int64_t Draw(std::mt19937_64& rng, int64_t lo, int64_t hi) {
  if (hi <= lo) return lo;
  return lo + static_cast<int64_t>(rng() % static_cast<uint64_t>(hi - lo + 1));
}

std::optional<int64_t> ParseInt(const std::string& s) {
  int64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

// What a failed call says, for the by-reason counts: the abort reason of an ABORTED answer,
// else the wire error name (with the reason, if any: TXN_ALREADY_ABORTED carries one).
std::string Label(const Client& client) {
  const ErrorCode code = client.last_error_code();
  const AbortReason reason = client.last_abort_reason();
  if (reason == AbortReason::kNone) return std::string(ErrorCodeName(code));
  if (code == ErrorCode::kAborted) return std::string(AbortReasonName(reason));
  return std::string(ErrorCodeName(code)) + " (" + std::string(AbortReasonName(reason)) + ")";
}

// Account keys, spread evenly: account n lives on participant n % participants.
std::vector<std::string> AccountKeys(const LocalCluster& cluster, int accounts) {
  HashRing ring(cluster.participant_names(), cluster.vnodes());
  const size_t owners = cluster.participant_names().size();
  std::vector<std::vector<std::string>> by_owner(owners);
  std::vector<std::string> keys;
  for (int i = 0; static_cast<int>(keys.size()) < accounts && i < 10000000; i++) {
    std::string k = "acct-" + std::to_string(i);
    by_owner[ring.OwnerIndex(k)].push_back(k);
    // Take from the owner whose turn it is, as soon as it has one.
    while (static_cast<int>(keys.size()) < accounts) {
      auto& pool = by_owner[keys.size() % owners];
      if (pool.empty()) break;
      keys.push_back(pool.front());
      pool.erase(pool.begin());
    }
  }
  return keys;
}

std::string CounterKey(int thread) { return "ops-" + std::to_string(thread); }

Result<int64_t> ParseBalance(const std::optional<std::string>& v, const std::string& key) {
  if (!v) return Status::Corruption(key + " is missing");
  std::optional<int64_t> n = ParseInt(*v);
  if (!n) return Status::Corruption(key + " holds '" + v->substr(0, 40) + "', not a number");
  return *n;
}

// A commit whose outcome the client did not hear.
struct Uncertain {
  TxnId txn;
  std::string heard;  // the client's error
};

// What one transfer thread did; written by that thread only, read after it joined.
struct WorkerResult {
  uint64_t acknowledged = 0;
  std::map<std::string, uint64_t> aborted;
  uint64_t begin_failures = 0;
  std::vector<Uncertain> uncertain;
};

// Shared by the workload threads and the nemesis' progress lines.
struct Shared {
  ChaosOptions options;
  std::vector<std::string> coordinators;  // endpoints, by coordinator index
  std::vector<std::string> accounts;
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> committed{0}, aborted{0}, unknown{0};
  std::atomic<uint64_t> audits_ok{0}, audits_failed{0}, audits_given_up{0};
  std::mutex mu;                      // guards problems
  std::vector<std::string> problems;  // wrong audit sums, unreadable values (first few)

  void Problem(std::string what) {
    std::lock_guard<std::mutex> lock(mu);
    if (problems.size() < 20) problems.push_back(std::move(what));
  }
};

// Clients of every coordinator for one thread, and which one to use: its home coordinator
// unless that failed a call in the last kAvoidFailedCoordinatorMs, then the next one that did
// not.
class CoordinatorChooser {
 public:
  CoordinatorChooser(const Shared& shared, int home)
      : shared_(shared),
        home_(home),
        clients_(shared.coordinators.size()),
        failed_at_(shared.coordinators.size()) {}

  // nullptr if no client could be made (then the caller waits a little).
  Client* Pick() {
    const size_t n = clients_.size();
    current_ = home_ % n;
    for (size_t i = 0; i < n; i++) {
      size_t c = (home_ + i) % n;
      if (!failed_at_[c] || MsSince(*failed_at_[c]) >= kAvoidFailedCoordinatorMs) {
        current_ = c;
        break;
      }
    }
    if (clients_[current_] == nullptr) {
      auto c = Client::Connect(
          ClientOptions{shared_.coordinators[current_], shared_.options.client_timeout_ms});
      if (!c.ok()) return nullptr;
      clients_[current_] = std::move(c).value();
    }
    return clients_[current_].get();
  }
  // The current coordinator did not answer (or could not be reached).
  void Failed() { failed_at_[current_] = Clock::now(); }

 private:
  const Shared& shared_;
  const size_t home_;
  std::vector<std::unique_ptr<Client>> clients_;
  std::vector<std::optional<Clock::time_point>> failed_at_;
  size_t current_ = 0;
};

bool CoordinatorSilent(ErrorCode code) {
  return code == ErrorCode::kTimeout || code == ErrorCode::kOutcomeUnknown;
}

// The reads and writes of one transfer; Corruption when a value is not what we wrote.
Status TransferBody(Client& cl, const TxnId& t, const std::string& from, const std::string& to,
                    int64_t want, const std::string& counter) {
  KV2PC_ASSIGN_OR_RETURN(std::optional<std::string> a, cl.GetForUpdate(t, from));
  KV2PC_ASSIGN_OR_RETURN(std::optional<std::string> b, cl.GetForUpdate(t, to));
  KV2PC_ASSIGN_OR_RETURN(std::optional<std::string> n, cl.GetForUpdate(t, counter));
  KV2PC_ASSIGN_OR_RETURN(int64_t from_balance, ParseBalance(a, from));
  KV2PC_ASSIGN_OR_RETURN(int64_t to_balance, ParseBalance(b, to));
  KV2PC_ASSIGN_OR_RETURN(int64_t ops, ParseBalance(n, counter));
  const int64_t amount = std::min(want, std::max<int64_t>(from_balance, 0));
  KV2PC_RETURN_IF_ERROR(cl.Put(t, from, std::to_string(from_balance - amount)));
  KV2PC_RETURN_IF_ERROR(cl.Put(t, to, std::to_string(to_balance + amount)));
  return cl.Put(t, counter, std::to_string(ops + 1));
}

void TransferLoop(Shared& shared, int thread, WorkerResult* result) {
  std::mt19937_64 rng(shared.options.seed * 1000003 + static_cast<uint64_t>(thread) + 1);
  CoordinatorChooser chooser(shared, thread);
  const std::string counter = CounterKey(thread);
  const int64_t n = static_cast<int64_t>(shared.accounts.size());
  auto abort_quietly = [](Client& cl, const TxnId& t) { (void)cl.Abort(t); };
  while (!shared.stop) {
    const std::string& from = shared.accounts[Draw(rng, 0, n - 1)];
    const std::string& to = shared.accounts[Draw(rng, 0, n - 1)];
    if (from == to) continue;
    const int64_t want = Draw(rng, 1, kMaxTransfer);
    std::optional<uint64_t> ts;  // kept across retries: wound-wait lets an old one win
    for (int attempt = 0; attempt < kMaxAttempts && !shared.stop; attempt++) {
      Client* cl = chooser.Pick();
      if (cl == nullptr) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        continue;
      }
      Result<TxnId> t = cl->Begin(ts);
      if (!t.ok()) {
        result->begin_failures++;
        if (CoordinatorSilent(cl->last_error_code())) chooser.Failed();
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
        continue;
      }
      ts = cl->last_ts();
      Status s = TransferBody(*cl, *t, from, to, want, counter);
      if (!s.ok()) {
        if (s.IsCorruption()) {
          shared.Problem("transfer " + t->ToString() + " read a bad value: " + s.message());
          result->aborted["BAD_VALUE"]++;
          abort_quietly(*cl, *t);
        } else {
          result->aborted[Label(*cl)]++;
          const ErrorCode code = cl->last_error_code();
          if (CoordinatorSilent(code)) {
            chooser.Failed();  // the transaction idles out at the coordinator
          } else if (code != ErrorCode::kAborted) {
            abort_quietly(*cl, *t);  // PARTICIPANT_UNAVAILABLE, TXN_NOT_FOUND, ...
          }
        }
        shared.aborted++;
        std::this_thread::sleep_for(std::chrono::milliseconds(Draw(rng, 0, 5)));
        continue;
      }
      Status c = cl->Commit(*t);
      if (c.ok()) {
        result->acknowledged++;
        shared.committed++;
        break;
      }
      const ErrorCode code = cl->last_error_code();
      if (code == ErrorCode::kAborted) {
        result->aborted[Label(*cl)]++;
        shared.aborted++;
        continue;
      }
      // Anything else may have committed: ask its coordinator at the end. Not retried (a retry
      // could apply the transfer twice).
      result->uncertain.push_back(Uncertain{*t, Label(*cl)});
      shared.unknown++;
      if (CoordinatorSilent(code)) chooser.Failed();
      break;
    }
  }
}

void AuditLoop(Shared& shared, int auditor) {
  CoordinatorChooser chooser(shared, shared.options.clients + auditor);
  const int64_t expected = static_cast<int64_t>(shared.accounts.size()) * kInitialBalance;
  while (!shared.stop) {
    std::optional<uint64_t> ts;
    bool done = false;
    for (int attempt = 0; attempt < kMaxAuditAttempts && !shared.stop && !done; attempt++) {
      Client* cl = chooser.Pick();
      if (cl == nullptr) break;
      Result<TxnId> t = cl->Begin(ts);
      if (!t.ok()) {
        if (CoordinatorSilent(cl->last_error_code())) chooser.Failed();
        continue;
      }
      ts = cl->last_ts();
      int64_t sum = 0;
      Status s;
      for (const std::string& k : shared.accounts) {
        Result<std::optional<std::string>> v = cl->Get(*t, k);
        if (!v.ok()) {
          s = v.status();
          break;
        }
        Result<int64_t> b = ParseBalance(*v, k);
        if (!b.ok()) {
          s = b.status();
          shared.Problem("audit " + t->ToString() + ": " + s.message());
          break;
        }
        sum += *b;
      }
      if (s.ok()) s = cl->Commit(*t);
      if (!s.ok()) {
        if (CoordinatorSilent(cl->last_error_code())) {
          chooser.Failed();
        } else if (cl->last_error_code() != ErrorCode::kAborted) {
          (void)cl->Abort(*t);
        }
        continue;
      }
      // Only a committed audit counts: its shared locks were all held at once (strict 2PL),
      // whereas one whose participant restarted in between may have read across a transfer
      // (and is refused at PREPARE).
      done = true;
      if (sum == expected) {
        shared.audits_ok++;
      } else {
        shared.audits_failed++;
        shared.Problem("audit " + t->ToString() + " saw a total of " + std::to_string(sum) +
                       ", not " + std::to_string(expected));
      }
    }
    if (!done && !shared.stop) shared.audits_given_up++;
    for (int waited = 0; waited < kAuditPauseMs && !shared.stop; waited += 20) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
}

// Starts a node the nemesis killed, retrying a few times (a start can fail when the machine
// is slow). The error of the last attempt, cut short (it carries every log).
Status StartAgain(LocalCluster& cluster, const std::string& node) {
  Status s;
  for (int i = 0; i < kStartAttempts; i++) {
    s = cluster.StartNode(node);
    if (s.ok()) return s;
    cluster.Kill(node);  // up but silent for 15 s: start it afresh
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
  std::string m = s.ToString();
  if (m.size() > 2000) m = m.substr(0, 2000) + "...";
  return Status::Unavailable("cannot restart " + node + ": " + m);
}

// True when no node has a transaction open and no participant lists one in doubt; otherwise
// `why` says what is left.
bool Settled(const LocalCluster& cluster, std::string* why) {
  std::ostringstream out;
  bool settled = true;
  for (const std::string& node : cluster.node_names()) {
    Result<Reply> st = Client::NodeStatus(cluster.endpoint(node), 10, kAskTimeoutMs);
    if (!st.ok() || !st->status) {
      settled = false;
      out << " " << node << " does not answer STATUS;";
      continue;
    }
    if (st->status->txns_total != 0) {
      settled = false;
      out << " " << node << ": " << st->status->txns_total << " open";
      for (const TxnStatus& t : st->status->txns) {
        out << " " << t.txn.ToString() << " " << t.state << " " << t.age_ms << " ms";
      }
      out << ";";
    }
  }
  for (const std::string& node : cluster.participant_names()) {
    Result<Reply> r = Client::Ask(cluster.endpoint(node), InDoubtRequest{}, kAskTimeoutMs);
    if (!r.ok() || !r->in_doubt) {
      settled = false;
      out << " " << node << " does not answer IN_DOUBT;";
      continue;
    }
    for (const InDoubtTxn& t : *r->in_doubt) {
      settled = false;
      out << " " << node << ": " << t.txn.ToString() << " in doubt (coordinator " << t.coordinator
          << ", " << t.age_ms << " ms" << (t.why.empty() ? "" : ", " + t.why) << ");";
    }
  }
  *why = out.str();
  return settled;
}

std::string JoinCounts(const std::map<std::string, uint64_t>& m) {
  std::vector<std::pair<uint64_t, std::string>> v;
  for (const auto& [k, n] : m) v.emplace_back(n, k);
  std::sort(v.rbegin(), v.rend());
  std::string out;
  for (const auto& [n, k] : v) out += (out.empty() ? "" : ", ") + k + " " + std::to_string(n);
  return out;
}

std::string SummaryText(const ChaosSummary& s) {
  const ChaosOptions& o = s.options;
  std::ostringstream out;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.1f s (%.1f s in all)", s.seconds, s.total_seconds);
  out << "chaos summary: seed " << o.seed << ", " << buf << ", " << o.coordinators
      << " coordinator(s), " << o.participants << " participant(s), " << o.accounts << " accounts, "
      << o.clients << " clients, " << o.auditors << " auditor(s)\n";
  out << "  nemesis       " << s.kills << " kills, " << s.restarts << " restarts";
  std::string by_node;
  for (const auto& [node, n] : s.kills_by_node) {
    by_node += (by_node.empty() ? "" : ", ") + node + " " + std::to_string(n);
  }
  if (!by_node.empty()) out << " (" << by_node << ")";
  out << "\n  transactions  " << s.committed << " committed, " << s.aborted << " aborted";
  if (!s.aborted_by_reason.empty()) out << " (" << JoinCounts(s.aborted_by_reason) << ")";
  out << ", " << s.unknown << " COMMITs answered neither OK nor ABORTED";
  if (s.unknown > 0) {
    out << " (heard " << JoinCounts(s.unknown_by_error) << "; QUERY_OUTCOME says "
        << s.unknown_committed << " committed, " << s.unknown_aborted << " aborted, "
        << s.unknown_unresolved << " unresolved)";
  }
  out << "; " << s.begin_failures << " BEGINs failed\n";
  out << "  audits        " << s.audits_ok << " ok, " << s.audits_failed << " wrong total, "
      << s.audits_given_up << " given up\n";
  out << "  settled       "
      << (s.settle_ms >= 0 ? "in " + std::to_string(s.settle_ms) + " ms, nothing in doubt"
                           : std::string("NO"))
      << "\n";
  out << "  final total   " << s.final_sum << " (expected " << s.expected_sum << ")\n";
  out << "  ack. commits  " << s.lost_acknowledged << " lost, " << s.unexpected_commits
      << " unexpected (counters vs. acknowledged + resolved committed)\n";
  out << "  sanitizers    " << (s.sanitizer_reports.empty() ? "no reports" : "REPORTS") << "\n";
  if (!s.dir.empty()) out << "  cluster dir   " << s.dir << "\n";
  if (!s.logs_dir.empty()) out << "  node logs     " << s.logs_dir << "\n";
  if (s.invariant_held) {
    out << "invariant held\n";
  } else {
    out << "INVARIANT VIOLATED:\n";
    for (const std::string& f : s.failures) out << "  - " << f << "\n";
  }
  return out.str();
}

// Copies the node logs out of a directory that is about to be removed.
std::string SaveLogs(const LocalCluster& cluster) {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl = std::string(base && *base ? base : "/tmp") + "/kv2pc-chaos-logs-XXXXXX";
  if (mkdtemp(tmpl.data()) == nullptr) return "";
  std::error_code ec;
  for (const std::string& node : cluster.node_names()) {
    std::filesystem::copy_file(cluster.dir() + "/" + node + ".log", tmpl + "/" + node + ".log", ec);
  }
  return tmpl;
}

}  // namespace

ChaosSummary RunChaos(const ChaosOptions& options, std::ostream* progress) {
  ChaosSummary summary;
  summary.options = options;
  summary.expected_sum = static_cast<int64_t>(options.accounts) * kInitialBalance;
  const Clock::time_point begun = Clock::now();
  auto say = [&](const std::string& line) {
    if (progress == nullptr) return;
    *progress << "[" << Seconds(MsSince(begun)) << "] " << line << "\n";
    progress->flush();
  };
  auto finish = [&]() -> ChaosSummary {
    summary.invariant_held = summary.failures.empty();
    summary.total_seconds = static_cast<double>(MsSince(begun)) / 1000;
    summary.text = SummaryText(summary);
    return summary;
  };
  if (options.accounts < 2 || options.clients < 1 || options.auditors < 0 ||
      options.coordinators < 1 || options.participants < 1) {
    summary.failures.push_back(
        "bad options: need 2+ accounts, 1+ clients, coordinators, "
        "participants");
    return finish();
  }

  LocalCluster cluster(options.bin_dir, options.participants, options.coordinators,
                       kCoordinatorArgs, kParticipantArgs, options.keep_dir);
  if (options.keep_dir) summary.dir = cluster.dir();
  if (Status s = cluster.Start(); !s.ok()) {
    summary.failures.push_back("cluster start: " + s.ToString().substr(0, 2000));
    return finish();
  }

  Shared shared;
  shared.options = options;
  for (const std::string& c : cluster.coordinator_names()) {
    shared.coordinators.push_back(cluster.endpoint(c));
  }
  shared.accounts = AccountKeys(cluster, options.accounts);
  if (static_cast<int>(shared.accounts.size()) != options.accounts) {
    summary.failures.push_back("could not spread the accounts over the participants");
    return finish();
  }

  // Seed every account and counter in one transaction, before the nemesis starts.
  {
    auto seeder = Client::Connect(ClientOptions{cluster.coordinator(), kFinalClientTimeoutMs});
    Status s = seeder.ok() ? (*seeder)->RunTransaction([&](Client& cl, const TxnId& t) {
      for (const std::string& k : shared.accounts) {
        KV2PC_RETURN_IF_ERROR(cl.Put(t, k, std::to_string(kInitialBalance)));
      }
      for (int i = 0; i < options.clients; i++)
        KV2PC_RETURN_IF_ERROR(cl.Put(t, CounterKey(i), "0"));
      return Status::OK();
    })
                           : seeder.status();
    if (!s.ok()) {
      summary.failures.push_back("seeding the accounts: " + s.ToString());
      return finish();
    }
  }
  say("cluster up (" + cluster.dir() + "): " + std::to_string(options.coordinators) +
      " coordinator(s), " + std::to_string(options.participants) + " participant(s); " +
      std::to_string(options.accounts) + " accounts seeded; seed " + std::to_string(options.seed));

  // The workload.
  std::vector<WorkerResult> results(options.clients);
  std::vector<std::thread> threads;
  for (int i = 0; i < options.clients; i++) {
    threads.emplace_back(TransferLoop, std::ref(shared), i, &results[i]);
  }
  for (int i = 0; i < options.auditors; i++) {
    threads.emplace_back(AuditLoop, std::ref(shared), i);
  }

  // The nemesis, on this thread (the nodes die with the thread that started them).
  std::mt19937_64 rng(options.seed);
  const std::vector<std::string> nodes = cluster.node_names();
  const Clock::time_point start = Clock::now();
  const Clock::time_point deadline = start + options.duration;
  auto ms_until = [](Clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(t - Clock::now()).count();
  };
  Clock::time_point next_kill =
      start + std::chrono::milliseconds(
                  Draw(rng, options.min_kill_interval_ms, options.max_kill_interval_ms));
  Clock::time_point next_progress = start + std::chrono::milliseconds(kProgressEveryMs);
  Clock::time_point restart_at, killed_at;
  std::optional<std::string> down;  // the node the nemesis killed, until it runs again
  std::string nemesis_failure;
  auto restart = [&]() {
    Status s = StartAgain(cluster, *down);
    if (!s.ok()) {
      nemesis_failure = s.ToString();
      say(nemesis_failure);
      return false;
    }
    summary.restarts++;
    say("restart " + *down + " (pid " + std::to_string(cluster.pid(*down)) + ", down " +
        std::to_string(MsSince(killed_at)) + " ms)");
    down.reset();
    return true;
  };
  while (Clock::now() < deadline && nemesis_failure.empty()) {
    const Clock::time_point now = Clock::now();
    if (!down && now >= next_kill) {
      // Drawn in a fixed order per kill: the seed fixes the whole schedule.
      const std::string victim = nodes[Draw(rng, 0, static_cast<int64_t>(nodes.size()) - 1)];
      const int64_t down_ms = Draw(rng, options.min_down_ms, options.max_down_ms);
      const int64_t pause_ms =
          Draw(rng, options.min_kill_interval_ms, options.max_kill_interval_ms);
      const pid_t pid = cluster.pid(victim);
      cluster.Kill(victim);
      killed_at = Clock::now();
      down = victim;
      summary.kills++;
      summary.kills_by_node[victim]++;
      say("kill " + victim + " (pid " + std::to_string(pid) + "), down for " +
          std::to_string(down_ms) + " ms");
      restart_at = killed_at + std::chrono::milliseconds(down_ms);
      next_kill = restart_at + std::chrono::milliseconds(pause_ms);  // moved by a slow restart
      continue;
    }
    if (down && now >= restart_at) {
      const Clock::time_point planned = restart_at;
      if (!restart()) break;
      next_kill += Clock::now() - planned;
      continue;
    }
    if (now >= next_progress) {
      next_progress += std::chrono::milliseconds(kProgressEveryMs);
      say("committed " + std::to_string(shared.committed.load()) + ", aborted " +
          std::to_string(shared.aborted.load()) + ", unknown " +
          std::to_string(shared.unknown.load()) + ", audits " +
          std::to_string(shared.audits_ok.load() + shared.audits_failed.load()) + ", kills " +
          std::to_string(summary.kills) + (down ? " (" + *down + " down)" : ""));
    }
    int64_t wait = std::min({ms_until(deadline), ms_until(next_progress),
                             down ? ms_until(restart_at) : ms_until(next_kill), int64_t{50}});
    if (wait > 0) std::this_thread::sleep_for(std::chrono::milliseconds(wait));
  }
  summary.seconds = static_cast<double>(MsSince(start)) / 1000;
  shared.stop = true;
  if (!nemesis_failure.empty()) summary.failures.push_back(nemesis_failure);
  if (down && nemesis_failure.empty()) restart();
  if (!nemesis_failure.empty() && down) {
    summary.failures.push_back(*down + " stays down: the checks below may fail for it");
  }
  for (auto& t : threads) t.join();
  say("workload stopped after " + Seconds(MsSince(start)) + "; waiting until nothing is open");

  // (c) Nothing stays open or in doubt.
  const Clock::time_point stopped = Clock::now();
  std::string why;
  while (!Settled(cluster, &why) && MsSince(stopped) < options.settle_timeout_ms) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  if (why.empty()) {
    summary.settle_ms = MsSince(stopped);
    say("settled in " + std::to_string(summary.settle_ms) + " ms; checking");
  } else {
    summary.failures.push_back("still open or in doubt " +
                               std::to_string(options.settle_timeout_ms) +
                               " ms after the workload stopped:" + why.substr(0, 4000));
  }

  // Merge what the threads counted.
  for (const WorkerResult& r : results) {
    summary.committed += r.acknowledged;
    summary.begin_failures += r.begin_failures;
    for (const auto& [k, n] : r.aborted) {
      summary.aborted += n;
      summary.aborted_by_reason[k] += n;
    }
    summary.unknown += r.uncertain.size();
    for (const Uncertain& u : r.uncertain) summary.unknown_by_error[u.heard]++;
  }
  summary.audits_ok = shared.audits_ok;
  summary.audits_failed = shared.audits_failed;
  summary.audits_given_up = shared.audits_given_up;

  // (a) and (b): read everything in one transaction through a fresh client.
  std::map<std::string, int64_t> values;
  {
    auto reader = Client::Connect(ClientOptions{cluster.coordinator(), kFinalClientTimeoutMs});
    Status s = reader.ok() ? (*reader)->RunTransaction([&](Client& cl, const TxnId& t) {
      values.clear();
      std::vector<std::string> keys = shared.accounts;
      for (int i = 0; i < options.clients; i++) keys.push_back(CounterKey(i));
      for (const std::string& k : keys) {
        KV2PC_ASSIGN_OR_RETURN(std::optional<std::string> v, cl.Get(t, k));
        KV2PC_ASSIGN_OR_RETURN(values[k], ParseBalance(v, k));
      }
      return Status::OK();
    })
                           : reader.status();
    if (!s.ok()) {
      summary.failures.push_back("the final read failed: " + s.ToString());
      values.clear();
    }
  }
  if (!values.empty()) {
    summary.final_sum = 0;
    for (const std::string& k : shared.accounts) {
      summary.final_sum += values[k];
      if (values[k] < 0) {
        summary.failures.push_back(k + " is negative: " + std::to_string(values[k]));
      }
    }
    if (summary.final_sum != summary.expected_sum) {
      summary.failures.push_back("the balances sum to " + std::to_string(summary.final_sum) +
                                 ", not " + std::to_string(summary.expected_sum));
    }
  }
  const std::vector<std::string> coordinator_names = cluster.coordinator_names();
  for (int i = 0; i < options.clients; i++) {
    const WorkerResult& r = results[i];
    uint64_t resolved_committed = 0;
    std::string detail;
    for (const Uncertain& u : r.uncertain) {
      std::string outcome = "no answer";
      if (u.txn.coordinator < coordinator_names.size()) {
        for (int attempt = 0; attempt < 3; attempt++) {
          Result<Outcome> o = Client::OutcomeOf(
              cluster.endpoint(coordinator_names[u.txn.coordinator]), u.txn, kAskTimeoutMs);
          if (!o.ok()) {
            outcome = "no answer (" + o.status().ToString() + ")";
            continue;
          }
          outcome = std::string(OutcomeName(*o));
          break;
        }
      } else {
        outcome = "no such coordinator";
      }
      detail += " " + u.txn.ToString() + " heard " + u.heard + " -> " + outcome + ";";
      if (outcome == "COMMITTED") {
        resolved_committed++;
        summary.unknown_committed++;
      } else if (outcome == "ABORTED") {
        summary.unknown_aborted++;
      } else {
        summary.unknown_unresolved++;
        summary.failures.push_back("the outcome of " + u.txn.ToString() + " (client " +
                                   std::to_string(i) + " heard " + u.heard + ") is " + outcome);
      }
    }
    if (values.empty()) continue;
    const int64_t expected = static_cast<int64_t>(r.acknowledged + resolved_committed);
    const int64_t counter = values[CounterKey(i)];
    if (counter < expected) summary.lost_acknowledged += expected - counter;
    if (counter > expected) summary.unexpected_commits += counter - expected;
    if (counter != expected) {
      summary.failures.push_back(
          CounterKey(i) + " is " + std::to_string(counter) + " but client " + std::to_string(i) +
          " heard " + std::to_string(r.acknowledged) + " commits acknowledged and " +
          std::to_string(resolved_committed) + " of its " + std::to_string(r.uncertain.size()) +
          " unknown ones resolved COMMITTED" + (detail.empty() ? "" : ":" + detail));
    }
  }
  // (d) The audits.
  if (summary.audits_failed > 0) {
    summary.failures.push_back(std::to_string(summary.audits_failed) +
                               " audit(s) saw another total");
  }
  {
    std::lock_guard<std::mutex> lock(shared.mu);
    for (const std::string& p : shared.problems) summary.failures.push_back(p);
  }
  // (e) Sanitizers, after an orderly stop (leak checkers report at exit).
  cluster.StopAll();
  summary.sanitizer_reports = cluster.SanitizerReports();
  if (!summary.sanitizer_reports.empty()) {
    summary.failures.push_back("sanitizer reports in the node logs:\n" +
                               summary.sanitizer_reports.substr(0, 4000));
  }
  if (!summary.failures.empty() && !options.keep_dir) summary.logs_dir = SaveLogs(cluster);
  say("done");
  return finish();
}

int ChaosCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  ChaosOptions options;
  bool seeded = false;
  auto usage = [&err]() {
    err << "usage: kv2pc-chaos [--minutes N | --seconds N] [--seed S] [--coordinators C]\n"
           "                   [--participants P] [--clients N] [--accounts N] [--auditors N]\n"
           "                   [--keep]\n";
    return kExitUsage;
  };
  for (size_t i = 0; i < args.size(); i++) {
    const std::string& a = args[i];
    if (a == "--keep") {
      options.keep_dir = true;
      continue;
    }
    if (a == "-h" || a == "--help") {
      usage();
      return kExitOk;
    }
    if (i + 1 >= args.size()) {
      err << "error: unknown flag or missing value: " << a << "\n";
      return usage();
    }
    std::optional<int64_t> v = ParseInt(args[++i]);
    if (!v || *v < 0) {
      err << "error: " << a << " needs a number, not '" << args[i] << "'\n";
      return usage();
    }
    auto small = [&](int lo, int hi, int* field) {
      if (*v < lo || *v > hi) {
        err << "error: " << a << " must be from " << lo << " to " << hi << "\n";
        return false;
      }
      *field = static_cast<int>(*v);
      return true;
    };
    bool ok = true;
    if (a == "--minutes" || a == "--seconds") {
      const int64_t ms = *v * (a == "--minutes" ? 60000 : 1000);
      if (ms < 1000 || ms > int64_t{7} * 24 * 3600 * 1000) {
        err << "error: the run must last from 1 s to a week\n";
        return usage();
      }
      options.duration = std::chrono::milliseconds(ms);
    } else if (a == "--seed") {
      options.seed = static_cast<uint64_t>(*v);
      seeded = true;
    } else if (a == "--coordinators") {
      ok = small(1, 100, &options.coordinators);
    } else if (a == "--participants") {
      ok = small(1, 100, &options.participants);
    } else if (a == "--clients") {
      ok = small(1, 1000, &options.clients);
    } else if (a == "--accounts") {
      ok = small(2, 100000, &options.accounts);
    } else if (a == "--auditors") {
      ok = small(0, 100, &options.auditors);
    } else {
      err << "error: unknown flag " << a << "\n";
      return usage();
    }
    if (!ok) return usage();
  }
  if (!seeded) {
    options.seed = static_cast<uint64_t>(std::chrono::system_clock::now().time_since_epoch() /
                                         std::chrono::microseconds(1) % 1000000000);
  }
  Result<std::string> bin_dir =
      ServerBinDir("build the project first: scripts/chaos.sh builds everything");
  if (!bin_dir.ok()) {
    err << "error: " << bin_dir.status().message() << '\n';
    return kExitError;
  }
  options.bin_dir = *bin_dir;
  out << "kv2pc-chaos: " << options.duration.count() / 1000 << " s, seed " << options.seed
      << " (repeat the kill schedule with --seed " << options.seed << ")\n";
  out.flush();
  ChaosSummary summary = RunChaos(options, &out);
  out << "\n" << summary.text;
  out.flush();
  return summary.invariant_held ? kExitOk : kExitError;
}

}  // namespace kv2pc
