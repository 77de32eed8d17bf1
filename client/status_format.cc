// See status_format.h.
#include "client/status_format.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <sstream>

#include "client/safe_text.h"

namespace kv2pc {
namespace {

// Pads `s` to `width` columns, or adds one space when it is longer (never cut: a cut could
// split a character or make two keys look alike).
std::string Cell(std::string s, size_t width) {
  s.resize(std::max(width, s.size() + 1), ' ');
  return s;
}

std::string TxnList(const std::vector<TxnId>& ids) {
  std::string out;
  for (const TxnId& id : ids) out += (out.empty() ? "" : ", ") + id.ToString();
  return out;
}

}  // namespace

std::string FormatDuration(uint64_t ms) {
  char buf[32];
  if (ms < 1000) {
    std::snprintf(buf, sizeof buf, "%llums", static_cast<unsigned long long>(ms));
  } else if (ms < 60'000) {
    std::snprintf(buf, sizeof buf, "%.1fs", static_cast<double>(ms) / 1000.0);
  } else if (ms < 3'600'000) {
    std::snprintf(buf, sizeof buf, "%llum%02llus", static_cast<unsigned long long>(ms / 60'000),
                  static_cast<unsigned long long>(ms / 1000 % 60));
  } else {
    std::snprintf(buf, sizeof buf, "%lluh%02llum", static_cast<unsigned long long>(ms / 3'600'000),
                  static_cast<unsigned long long>(ms / 60'000 % 60));
  }
  return buf;
}

std::string FormatNodeStatus(const Reply& reply, const std::string& endpoint) {
  std::ostringstream out;
  const NodeStatus empty;
  const NodeStatus& st = reply.status ? *reply.status : empty;
  out << SafeText(reply.node) << " (" << SafeText(reply.role) << ") at " << endpoint << ", up "
      << FormatDuration(st.uptime_ms) << '\n';

  std::map<std::string, uint64_t> c(st.counters.begin(), st.counters.end());
  auto take = [&c](const std::string& name) -> std::optional<uint64_t> {
    auto it = c.find(name);
    if (it == c.end()) return std::nullopt;
    uint64_t v = it->second;
    c.erase(it);
    return v;
  };
  // Transactions by state: every txns_* counter, in the order the node sent them.
  std::string states;
  for (const auto& [name, value] : st.counters) {
    if (name.rfind("txns_", 0) != 0 || name == "txns_in_doubt") continue;
    states += (states.empty() ? "" : ", ") + std::to_string(value) + " " + name.substr(5);
    if (name == "txns_prepared") {
      if (auto d = c.find("txns_in_doubt"); d != c.end() && d->second > 0) {
        states += " (" + std::to_string(d->second) + " in doubt)";
      }
    }
  }
  for (auto it = c.begin(); it != c.end();) {
    it = it->first.rfind("txns_", 0) == 0 ? c.erase(it) : std::next(it);
  }
  out << "  transactions: " << (states.empty() ? "none" : states) << '\n';
  auto locked = take("locked_keys");
  auto waits = take("lock_waits");
  if (locked || waits) {
    out << "  locks: " << locked.value_or(0) << " key(s) locked, " << waits.value_or(0)
        << " request(s) waiting\n";
  }
  std::string since;
  if (auto v = take("committed")) since += std::to_string(*v) + " committed";
  if (auto v = take("read_only")) since += ", " + std::to_string(*v) + " read-only";
  if (auto v = take("aborted")) {
    since += ", " + std::to_string(*v) + " aborted";
    std::string reasons;
    for (auto it = c.begin(); it != c.end();) {
      if (it->first.rfind("aborted.", 0) == 0) {
        reasons +=
            (reasons.empty() ? "" : ", ") + it->first.substr(8) + " " + std::to_string(it->second);
        it = c.erase(it);
      } else {
        ++it;
      }
    }
    if (!reasons.empty()) since += " (" + reasons + ")";
  }
  if (!since.empty()) out << "  since start: " << since << '\n';
  if (!c.empty()) {
    out << "  ";
    bool first = true;
    for (const auto& [name, value] : c) {
      out << (first ? "" : ", ") << SafeText(name) << " " << value;
      first = false;
    }
    out << '\n';
  }

  if (!st.txns.empty()) {
    out << "\n  " << Cell("TRANSACTION", 14) << Cell("STATE", 11) << Cell("AGE", 8)
        << Cell("LOCKS", 6) << Cell("WAITING FOR", 16) << "DETAIL\n";
    for (const TxnStatus& t : st.txns) {
      out << "  " << Cell(t.txn.ToString(), 14) << Cell(SafeText(t.state), 11)
          << Cell(FormatDuration(t.age_ms), 8)
          << Cell(reply.role == "participant" ? std::to_string(t.locks) : "-", 6)
          << Cell(t.waiting_for ? SafeText(*t.waiting_for) : "-", 16) << SafeText(t.detail) << '\n';
    }
  }
  if (st.txns_total > st.txns.size()) {
    out << "  (" << st.txns.size() << " of " << st.txns_total << " transactions shown)\n";
  }
  if (!st.locks.empty()) {
    out << "\n  " << Cell("LOCKED KEY", 20) << Cell("MODE", 6) << Cell("HELD BY", 30)
        << "WAITING (queue order)\n";
    for (const LockStatus& l : st.locks) {
      std::string waiters;
      for (const LockWaiter& w : l.waiters) {
        waiters += (waiters.empty() ? "" : ", ") + w.txn.ToString() + " (" + SafeText(w.mode) + ")";
      }
      out << "  " << Cell(SafeText(l.key), 20) << Cell(SafeText(l.mode), 6)
          << Cell(TxnList(l.holders), 30) << (waiters.empty() ? "-" : waiters) << '\n';
    }
  }
  if (st.locks_total > st.locks.size()) {
    out << "  (" << st.locks.size() << " of " << st.locks_total << " locked keys shown)\n";
  }
  return out.str();
}

}  // namespace kv2pc
