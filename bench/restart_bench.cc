// kv2pc-restart-bench: how long a participant takes to restart after a long history.
//
// Builds a participant data directory holding N committed transactions, the way a running
// participant leaves it: every transaction's PREPARE and COMMIT records in the WAL (through
// wal::Log, group-committed), committed data checkpointed into SQLite in batches by the
// participant's own Checkpointer (which trims the WAL below each checkpoint), and the last
// `--tail` transactions not yet checkpointed, as after a crash. Then it starts the real
// kv2pc-participant on that directory several times and measures the time from exec until
// the process answers PING (recovery done, port bound).
//
// The history is written through the same libraries the participant uses, not through N
// network transactions, so that a million transactions take seconds to prepare; the files are
// the same format and shape (docs/wal-format.md, docs/architecture.md "Durability").
//
//   kv2pc-restart-bench [--txns 1000000] [--keys 1000000] [--value-size 100] [--tail 10000]
//                       [--runs 3] [--dir D] [--bin-dir build/bin]
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "client/client.h"
#include "common/flags.h"
#include "participant/checkpointer.h"
#include "participant/sqlite_store.h"
#include "wal/log.h"
#include "wal/record.h"

namespace kv2pc {
namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

int FreePort() {
  // Any port in a high range that nothing listens on; the participant fails loudly if taken.
  for (int attempt = 0; attempt < 100; attempt++) {
    int port = 20000 + static_cast<int>((getpid() * 7919 + attempt * 104729) % 40000);
    if (!Client::Ping("tcp://127.0.0.1:" + std::to_string(port), 50).ok()) return port;
  }
  return 29999;
}

Status Generate(const std::string& dir, uint64_t txns, uint64_t keys, size_t value_size,
                uint64_t tail) {
  auto store = participant::SqliteStore::Open(dir + "/data.sqlite");
  if (!store.ok()) return store.status();
  wal::LogOptions o;
  o.dir = dir + "/wal";
  o.segment_size = 16ull << 20;  // the servers' default
  auto log = wal::Log::Open(o, [](const wal::RecordView&) { return Status::OK(); });
  if (!log.ok()) return log.status();
  participant::Checkpointer checkpointer(std::move(store).value(), log->get());
  const std::string value(value_size, 'v');
  std::vector<wal::WriteOp> batch;
  Lsn last = 0;        // the last record written
  Lsn checkpoint = 0;  // the last COMMIT handed to the checkpointer
  for (uint64_t i = 0; i < txns; i++) {
    TxnId t{0, 1, i + 1};
    std::string key = "key:" + std::to_string((i * 2654435761ULL) % keys);
    auto p = (*log)->Append(wal::kPrepare, wal::PrepareRecord{t, {{key, value}}}.Encode());
    auto c = (*log)->Append(wal::kCommit, wal::CommitRecord{t}.Encode());
    if (!p.ok() || !c.ok()) return p.ok() ? c.status() : p.status();
    last = *c;
    if (i + tail >= txns) continue;  // the tail stays in the WAL only
    batch.push_back({key, value});
    checkpoint = last;
    if (batch.size() == 4096) {
      KV2PC_RETURN_IF_ERROR((*log)->WaitDurable(checkpoint));  // only durable commits (I5)
      checkpointer.Submit(std::move(batch), checkpoint, participant::Checkpointer::kNoPin);
      batch.clear();
    }
    if (i % 100000 == 99999)
      std::fprintf(stderr, "  %llu transactions\n", (unsigned long long)(i + 1));
  }
  if (!batch.empty()) {
    KV2PC_RETURN_IF_ERROR((*log)->WaitDurable(checkpoint));
    checkpointer.Submit(std::move(batch), checkpoint, participant::Checkpointer::kNoPin);
  }
  return (*log)->WaitDurable(last);
}

}  // namespace
}  // namespace kv2pc

int main(int argc, char** argv) {
  using namespace kv2pc;
  Flags flags;
  flags.Define("txns", "1000000", "committed transactions in the history");
  flags.Define("keys", "1000000", "distinct keys they write");
  flags.Define("value-size", "100", "bytes per value");
  flags.Define("tail", "10000", "last transactions left out of the checkpoint (WAL only)");
  flags.Define("runs", "3", "restarts to time");
  flags.Define("dir", "", "where to build the data dir (default: a temp dir in the cwd)");
  flags.Define("bin-dir", "build/bin", "where kv2pc-participant is");
  flags.Define("help", "", "show this help", true);
  Status s = flags.Parse(argc, argv);
  if (!s.ok() || flags.GetBool("help")) {
    std::fprintf(stderr, "%s%s\n", s.ok() ? "" : ("error: " + s.message() + "\n").c_str(),
                 flags.Usage().c_str());
    return s.ok() ? 0 : 2;
  }
  auto txns = flags.GetInt("txns", 1, 1LL << 40);
  auto keys = flags.GetInt("keys", 1, 1LL << 40);
  auto vsize = flags.GetInt("value-size", 0, 1 << 20);
  auto tail = flags.GetInt("tail", 0, 1LL << 40);
  auto runs = flags.GetInt("runs", 1, 100);
  for (const auto* r : {&txns, &keys, &vsize, &tail, &runs}) {
    if (!r->ok()) {
      std::fprintf(stderr, "error: %s\n", r->status().message().c_str());
      return 2;
    }
  }
  std::string dir = flags.Get("dir");
  bool temp = dir.empty();
  if (temp) {
    char tmpl[] = "./kv2pc-restart-bench-XXXXXX";
    if (mkdtemp(tmpl) == nullptr) return 1;
    dir = std::filesystem::absolute(tmpl).string();
  }
  // The history is built once in `orig`; every run restarts from a fresh copy of it, so each
  // one recovers from the same crash state (a clean shutdown would checkpoint the tail).
  std::string orig = dir + "/history";
  std::string data = dir + "/participant-0";
  std::filesystem::create_directories(orig);
  std::printf(
      "history: %lld transactions over %lld keys, %lld-byte values, last %lld not "
      "checkpointed; in %s\n",
      (long long)*txns, (long long)*keys, (long long)*vsize, (long long)*tail, dir.c_str());
  auto t0 = Clock::now();
  s = Generate(orig, static_cast<uint64_t>(*txns), static_cast<uint64_t>(*keys),
               static_cast<size_t>(*vsize), static_cast<uint64_t>(*tail));
  if (!s.ok()) {
    std::fprintf(stderr, "error: %s\n", s.ToString().c_str());
    return 1;
  }
  uint64_t wal_bytes = 0, segments = 0;
  for (const auto& e : std::filesystem::directory_iterator(orig + "/wal")) {
    if (e.path().extension() == ".log") {
      wal_bytes += e.file_size();
      segments++;
    }
  }
  std::printf("built in %.1f s: data.sqlite %.1f MB, WAL %llu segment(s) (%.1f MB)\n",
              Seconds(Clock::now() - t0), std::filesystem::file_size(orig + "/data.sqlite") / 1e6,
              (unsigned long long)segments, wal_bytes / 1e6);

  int port = FreePort();
  std::string endpoint = "tcp://127.0.0.1:" + std::to_string(port);
  std::ofstream(dir + "/cluster.conf")
      << "version 1\nnode coordinator-0 coordinator tcp://127.0.0.1:" << port + 1
      << "\nnode participant-0 participant " << endpoint << "\n";
  std::string bin = flags.Get("bin-dir") + "/kv2pc-participant";
  std::vector<double> times;
  for (int run = 0; run < *runs; run++) {
    std::filesystem::remove_all(data);
    std::filesystem::copy(orig, data, std::filesystem::copy_options::recursive);
    sync();  // the copy's dirty pages must not be flushed inside the timed window
    auto start = Clock::now();
    pid_t pid = fork();
    if (pid == 0) {
      freopen((dir + "/participant.log").c_str(), "a", stderr);
      execl(bin.c_str(), bin.c_str(), "--config", (dir + "/cluster.conf").c_str(), "--node",
            "participant-0", "--data-dir", data.c_str(), (char*)nullptr);
      _exit(127);
    }
    bool up = false;
    while (Seconds(Clock::now() - start) < 120) {
      if (waitpid(pid, nullptr, WNOHANG) == pid) break;
      if (Client::Ping(endpoint, 20).ok()) {
        up = true;
        break;
      }
    }
    double secs = Seconds(Clock::now() - start);
    kill(pid, SIGTERM);
    waitpid(pid, nullptr, 0);
    if (!up) {
      std::fprintf(stderr, "error: the participant did not come up; see %s/participant.log\n",
                   dir.c_str());
      return 1;
    }
    times.push_back(secs);
    std::printf("restart %d: ready (answers PING) after %.3f s\n", run + 1, secs);
  }
  std::sort(times.begin(), times.end());
  std::printf("median restart: %.3f s (target: under 2 s)\n", times[times.size() / 2]);
  std::ifstream logf(dir + "/participant.log");
  std::string line, recovered;
  while (std::getline(logf, line)) {
    if (line.find("recovered:") != std::string::npos) recovered = line;
  }
  std::printf("participant says: %s\n", recovered.c_str());
  if (temp) std::filesystem::remove_all(dir);
  return 0;
}
