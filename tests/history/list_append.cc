// The list-append checker and the history text format (see list_append.h for the model).
//
// Check() runs in passes, each over the whole history:
//   1. ids and appends are indexed: who appended each (key, element), and whether it was the
//      appender's last append to that key (an earlier one is "intermediate", for G1b);
//   2. the committed set: ok transactions, then, until nothing changes, info transactions
//      with an element read by a committed transaction;
//   3. per committed read: duplicates, unknown elements, G1a, G1b; per committed transaction:
//      internal consistency of its reads with its own earlier ops;
//   4. per key: the version order is the longest committed read, if every other committed
//      read is a prefix of it (else incompatible order, and the key gets no ww/rw edges);
//   5. the graph: ww between consecutive elements of a version order, wr from the appender of
//      a read's last foreign element, rw to the appender of the element after it;
//   6. Tarjan's strongly connected components; in each non-trivial one, the shortest cycle
//      through an edge of each class (BFS from the edge's head back to its tail).
#include "tests/history/list_append.h"

#include <algorithm>
#include <charconv>
#include <cstddef>
#include <deque>
#include <map>
#include <set>
#include <tuple>
#include <unordered_map>
#include <unordered_set>
#include <utility>

namespace kv2pc::history {
namespace {

std::string ListToString(const std::vector<int64_t>& list) {
  std::string out = "[";
  for (size_t i = 0; i < list.size(); i++) {
    if (i > 0) out += ' ';
    out += std::to_string(list[i]);
  }
  return out + "]";
}

bool IsPrefix(const std::vector<int64_t>& prefix, const std::vector<int64_t>& list) {
  return prefix.size() <= list.size() && std::equal(prefix.begin(), prefix.end(), list.begin());
}

std::string_view Trim(std::string_view s) {
  size_t begin = s.find_first_not_of(" \t\r");
  if (begin == std::string_view::npos) return {};
  size_t end = s.find_last_not_of(" \t\r");
  return s.substr(begin, end - begin + 1);
}

// Splits off the first whitespace-delimited word of `s`; `s` keeps the trimmed rest.
std::string_view NextWord(std::string_view& s) {
  s = Trim(s);
  size_t end = s.find_first_of(" \t");
  std::string_view word = s.substr(0, end);
  s = end == std::string_view::npos ? std::string_view() : Trim(s.substr(end));
  return word;
}

template <typename Int>
std::optional<Int> ParseInt(std::string_view s) {
  Int value{};
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc() || end != s.data() + s.size() || s.empty()) return std::nullopt;
  return value;
}

Result<MicroOp> ParseOp(std::string_view text) {
  std::string_view rest = text;
  std::string_view type = NextWord(rest);
  std::string_view key = NextWord(rest);
  if (key.empty()) return Status::InvalidArgument("'" + std::string(text) + "': no key");
  if (key.find_first_of("[]") != std::string_view::npos) {
    return Status::InvalidArgument("key '" + std::string(key) + "' holds '[' or ']'");
  }
  if (type == "append") {
    std::optional<int64_t> value = ParseInt<int64_t>(rest);
    if (!value) {
      return Status::InvalidArgument("'" + std::string(text) + "': append needs one integer");
    }
    return MicroOp::Append(std::string(key), *value);
  }
  if (type != "read") {
    return Status::InvalidArgument("'" + std::string(text) + "': expected append or read");
  }
  if (rest == "?") return MicroOp::Read(std::string(key), std::nullopt);
  if (rest.size() < 2 || rest.front() != '[' || rest.back() != ']') {
    return Status::InvalidArgument("'" + std::string(text) + "': read needs [list] or ?");
  }
  std::string_view inner = rest.substr(1, rest.size() - 2);
  std::vector<int64_t> list;
  for (std::string_view word = NextWord(inner); !word.empty(); word = NextWord(inner)) {
    std::optional<int64_t> value = ParseInt<int64_t>(word);
    if (!value) {
      return Status::InvalidArgument("'" + std::string(text) + "': '" + std::string(word) +
                                     "' is not an integer");
    }
    list.push_back(*value);
  }
  return MicroOp::Read(std::string(key), std::move(list));
}

Result<Txn> ParseTxn(std::string_view line) {
  Txn txn;
  std::string_view rest = line;
  std::string_view status = NextWord(rest);
  if (status == "ok") {
    txn.status = TxnStatus::kOk;
  } else if (status == "fail") {
    txn.status = TxnStatus::kFail;
  } else if (status == "info") {
    txn.status = TxnStatus::kInfo;
  } else {
    return Status::InvalidArgument("status '" + std::string(status) + "' is not ok, fail or info");
  }
  size_t colon = rest.find(':');
  if (colon == std::string_view::npos) return Status::InvalidArgument("no ':' after the name");
  std::string_view name = Trim(rest.substr(0, colon));
  std::optional<int> id;
  if (name.size() > 1 && name[0] == 'T') id = ParseInt<int>(name.substr(1));
  if (!id) return Status::InvalidArgument("name '" + std::string(name) + "' is not T<number>");
  txn.id = *id;
  std::string_view ops = rest.substr(colon + 1);
  while (!ops.empty()) {
    size_t semi = ops.find(';');
    std::string_view op = Trim(ops.substr(0, semi));
    ops = semi == std::string_view::npos ? std::string_view() : ops.substr(semi + 1);
    if (op.empty()) continue;
    KV2PC_ASSIGN_OR_RETURN(MicroOp parsed, ParseOp(op));
    txn.ops.push_back(std::move(parsed));
  }
  return txn;
}

// Where an element came from: transaction and op index into History::txns.
struct Appender {
  size_t txn = 0;
  size_t op = 0;
  bool intermediate = false;  // the same transaction appended to the key again later
};

struct Edge {
  size_t to = 0;
  DepType type = DepType::kWW;
  std::string key;
};

constexpr unsigned Mask(DepType type) { return 1u << static_cast<unsigned>(type); }
constexpr unsigned kAllDeps = Mask(DepType::kWW) | Mask(DepType::kWR) | Mask(DepType::kRW);

// Bounds the work spent looking for a short cycle in one huge component: each try is a BFS.
constexpr int kMaxCycleSearches = 2000;

// One run of Check(). Holds the indexes the passes share; not reused.
class Checker {
 public:
  explicit Checker(const History& history) : h_(history) {}
  Checker(const Checker&) = delete;
  Checker& operator=(const Checker&) = delete;

  CheckResult Run() {
    IndexTxns();
    FindCommitted();
    CheckInternal();
    CheckReads();
    InferOrders();
    BuildGraph();
    FindCycles();
    return std::move(result_);
  }

 private:
  std::string Name(size_t txn) const { return h_.txns[txn].name(); }

  using KeyAppenders = std::unordered_map<int64_t, Appender>;

  // Who appended each element of `key`; nullptr when nobody appended to it. Loops over a
  // list look the key up once and each element in the result (Find).
  const KeyAppenders* AppendersOf(const std::string& key) const {
    auto k = appenders_.find(key);
    return k == appenders_.end() ? nullptr : &k->second;
  }
  static const Appender* Find(const KeyAppenders* appenders, int64_t element) {
    if (appenders == nullptr) return nullptr;
    auto e = appenders->find(element);
    return e == appenders->end() ? nullptr : &e->second;
  }
  const Appender* Writer(const std::string& key, int64_t element) const {
    return Find(AppendersOf(key), element);
  }

  void Report(AnomalyKind kind, const std::vector<size_t>& txns, std::string explanation,
              std::vector<Dependency> cycle = {}) {
    Anomaly anomaly;
    anomaly.kind = kind;
    for (size_t t : txns) {
      anomaly.txns.push_back(h_.txns[t].id);
      if (involved_.insert(t).second) result_.involved.push_back(h_.txns[t].ToString());
    }
    anomaly.cycle = std::move(cycle);
    anomaly.explanation = std::move(explanation);
    result_.anomalies.push_back(std::move(anomaly));
  }

  // Pass 1: ids, appenders, statuses.
  void IndexTxns() {
    for (size_t t = 0; t < h_.txns.size(); t++) {
      const Txn& txn = h_.txns[t];
      switch (txn.status) {
        case TxnStatus::kOk:
          result_.ok_txns++;
          break;
        case TxnStatus::kFail:
          result_.failed_txns++;
          break;
        case TxnStatus::kInfo:
          result_.info_txns++;
          break;
      }
      auto [first, fresh] = by_id_.emplace(txn.id, t);
      if (!fresh) {
        Report(AnomalyKind::kMalformed, {first->second, t}, "two transactions are " + Name(t));
      }
      for (size_t o = 0; o < txn.ops.size(); o++) {
        const MicroOp& op = txn.ops[o];
        keys_.insert(op.key);
        if (op.type != MicroOp::Type::kAppend) continue;
        auto [at, added] = appenders_[op.key].emplace(op.value, Appender{t, o, false});
        if (!added) {
          Report(AnomalyKind::kMalformed, {at->second.txn, t},
                 "element " + std::to_string(op.value) + " appended to " + op.key + " twice, by " +
                     Name(at->second.txn) + " and " + Name(t));
        }
      }
      // An append is intermediate when its transaction appends to the same key again.
      std::map<std::string, const MicroOp*> last;
      for (const MicroOp& op : txn.ops) {
        if (op.type != MicroOp::Type::kAppend) continue;
        auto [previous, first_append] = last.emplace(op.key, &op);
        if (!first_append) {
          Appender& prev = appenders_[op.key][previous->second->value];
          if (prev.txn == t) prev.intermediate = true;
          previous->second = &op;
        }
      }
    }
    result_.keys = static_cast<int>(keys_.size());
  }

  // Pass 2: ok transactions, and info transactions whose effects a committed one read.
  void FindCommitted() {
    committed_.assign(h_.txns.size(), false);
    std::deque<size_t> scan;
    for (size_t t = 0; t < h_.txns.size(); t++) {
      if (h_.txns[t].status == TxnStatus::kOk) {
        committed_[t] = true;
        scan.push_back(t);
      }
    }
    while (!scan.empty()) {
      size_t t = scan.front();
      scan.pop_front();
      for (const MicroOp& op : h_.txns[t].ops) {
        if (op.type != MicroOp::Type::kRead || !op.list) continue;
        const KeyAppenders* appenders = AppendersOf(op.key);
        for (int64_t e : *op.list) {
          const Appender* w = Find(appenders, e);
          if (w == nullptr || committed_[w->txn] || h_.txns[w->txn].status != TxnStatus::kInfo) {
            continue;
          }
          committed_[w->txn] = true;
          result_.info_observed++;
          scan.push_back(w->txn);
        }
      }
    }
  }

  // Pass 3a: each committed transaction's reads agree with its own earlier reads and appends
  // of that key: after reading L and appending a, b it must read L + [a b]; after appending a,
  // b without reading, a list ending in [a b]; and never an element it appends only later.
  void CheckInternal() {
    for (size_t t = 0; t < h_.txns.size(); t++) {
      if (!committed_[t]) continue;
      const Txn& txn = h_.txns[t];
      std::map<std::string, std::optional<std::vector<int64_t>>> known;
      std::map<std::string, std::vector<int64_t>> own;
      for (size_t o = 0; o < txn.ops.size(); o++) {
        const MicroOp& op = txn.ops[o];
        std::optional<std::vector<int64_t>>& expected = known[op.key];
        std::vector<int64_t>& mine = own[op.key];
        if (op.type == MicroOp::Type::kAppend) {
          if (expected) expected->push_back(op.value);
          mine.push_back(op.value);
          continue;
        }
        if (!op.list) continue;
        const std::vector<int64_t>& list = *op.list;
        auto what = [&] { return txn.name() + " read " + op.key + " " + ListToString(list); };
        if (expected && list != *expected) {
          Report(AnomalyKind::kInternal, {t},
                 what() + " but its own earlier ops on " + op.key + " imply " +
                     ListToString(*expected));
        } else if (!expected && !mine.empty() &&
                   (list.size() < mine.size() ||
                    !std::equal(mine.begin(), mine.end(), list.end() - mine.size()))) {
          Report(
              AnomalyKind::kInternal, {t},
              what() + ", which does not end with its own earlier appends " + ListToString(mine));
        } else {
          const KeyAppenders* appenders = AppendersOf(op.key);
          for (int64_t e : list) {
            const Appender* w = Find(appenders, e);
            if (w != nullptr && w->txn == t && w->op > o) {
              Report(AnomalyKind::kInternal, {t},
                     what() + ", holding " + std::to_string(e) + " which it appends only later");
              break;
            }
          }
        }
        expected = list;
      }
    }
  }

  // Pass 3b: what a single committed read can show on its own.
  void CheckReads() {
    for (size_t t = 0; t < h_.txns.size(); t++) {
      if (!committed_[t]) continue;
      for (const MicroOp& op : h_.txns[t].ops) {
        if (op.type != MicroOp::Type::kRead || !op.list) continue;
        const std::vector<int64_t>& list = *op.list;
        auto what = [&] { return Name(t) + " read " + op.key + " " + ListToString(list); };
        std::unordered_set<int64_t> seen;
        std::vector<int64_t> duplicates, unknown;
        std::set<size_t> aborted_writers;
        const KeyAppenders* appenders = AppendersOf(op.key);
        for (int64_t e : list) {
          if (!seen.insert(e).second) duplicates.push_back(e);
          const Appender* w = Find(appenders, e);
          if (w == nullptr) {
            unknown.push_back(e);
          } else if (h_.txns[w->txn].status == TxnStatus::kFail) {
            aborted_writers.insert(w->txn);
          }
        }
        if (!duplicates.empty()) {
          Report(AnomalyKind::kDuplicateElements, {t},
                 what() + ": elements " + ListToString(duplicates) + " appear more than once");
        }
        if (!unknown.empty()) {
          Report(AnomalyKind::kUnknownElement, {t},
                 what() + ": no transaction appended " + ListToString(unknown));
        }
        for (size_t w : aborted_writers) {
          Report(AnomalyKind::kG1a, {t, w},
                 "G1a (aborted read): " + what() + ", which holds elements of failed " + Name(w));
        }
        // G1b looks at the last element not appended by the reader itself.
        std::vector<int64_t> external = ExternalPrefix(t, op.key, list);
        if (external.empty()) continue;
        const Appender* last = Writer(op.key, external.back());
        if (last != nullptr && last->intermediate &&
            h_.txns[last->txn].status != TxnStatus::kFail) {
          Report(AnomalyKind::kG1b, {t, last->txn},
                 "G1b (intermediate read): " + what() + ", ending in " +
                     std::to_string(external.back()) + ", which " + Name(last->txn) +
                     " followed with another append to " + op.key);
        }
      }
    }
  }

  // `list` without the trailing elements that `reader` appended itself.
  std::vector<int64_t> ExternalPrefix(size_t reader, const std::string& key,
                                      const std::vector<int64_t>& list) const {
    const KeyAppenders* appenders = AppendersOf(key);
    size_t n = list.size();
    while (n > 0) {
      const Appender* w = Find(appenders, list[n - 1]);
      if (w == nullptr || w->txn != reader) break;
      n--;
    }
    return std::vector<int64_t>(list.begin(), list.begin() + static_cast<ptrdiff_t>(n));
  }

  // Pass 4: each key's version order, from the committed reads.
  void InferOrders() {
    std::map<std::string, std::vector<std::pair<size_t, const std::vector<int64_t>*>>> reads;
    for (size_t t = 0; t < h_.txns.size(); t++) {
      if (!committed_[t]) continue;
      for (const MicroOp& op : h_.txns[t].ops) {
        if (op.type == MicroOp::Type::kRead && op.list) reads[op.key].push_back({t, &*op.list});
      }
    }
    for (const auto& [key, key_reads] : reads) {
      const auto* longest = &key_reads.front();
      for (const auto& r : key_reads) {
        if (r.second->size() > longest->second->size()) longest = &r;
      }
      bool compatible = true;
      std::set<std::vector<int64_t>> reported;
      for (const auto& [t, list] : key_reads) {
        if (IsPrefix(*list, *longest->second) || !reported.insert(*list).second) continue;
        compatible = false;
        Report(AnomalyKind::kIncompatibleOrder, {t, longest->first},
               "incompatible order of " + key + ": " + Name(t) + " read " + ListToString(*list) +
                   " and " + Name(longest->first) + " read " + ListToString(*longest->second) +
                   "; neither is a prefix of the other");
      }
      std::unordered_set<int64_t> distinct(longest->second->begin(), longest->second->end());
      if (compatible && distinct.size() == longest->second->size()) {
        orders_[key] = *longest->second;
      }
    }
  }

  // Pass 5: the dependency graph over committed transactions.
  void BuildGraph() {
    std::set<std::tuple<size_t, size_t, DepType, std::string>> edges;
    auto add = [&](size_t from, size_t to, DepType type, const std::string& key) {
      if (from != to && committed_[from] && committed_[to]) edges.emplace(from, to, type, key);
    };
    for (const auto& [key, order] : orders_) {
      const KeyAppenders* appenders = AppendersOf(key);
      for (size_t i = 1; i < order.size(); i++) {
        const Appender* a = Find(appenders, order[i - 1]);
        const Appender* b = Find(appenders, order[i]);
        if (a != nullptr && b != nullptr) add(a->txn, b->txn, DepType::kWW, key);
      }
    }
    for (size_t t = 0; t < h_.txns.size(); t++) {
      if (!committed_[t]) continue;
      for (const MicroOp& op : h_.txns[t].ops) {
        if (op.type != MicroOp::Type::kRead || !op.list) continue;
        std::vector<int64_t> external = ExternalPrefix(t, op.key, *op.list);
        if (!external.empty()) {
          const Appender* w = Writer(op.key, external.back());
          if (w != nullptr) add(w->txn, t, DepType::kWR, op.key);
        }
        auto order = orders_.find(op.key);
        if (order == orders_.end() || external.size() >= order->second.size()) continue;
        // The read is a prefix of the order (pass 4), so the next version is at this index.
        const Appender* next = Writer(op.key, order->second[external.size()]);
        if (next != nullptr) add(t, next->txn, DepType::kRW, op.key);
      }
    }
    out_.assign(h_.txns.size(), {});
    for (const auto& [from, to, type, key] : edges) {
      out_[from].push_back(Edge{to, type, key});
      switch (type) {
        case DepType::kWW:
          result_.ww_edges++;
          break;
        case DepType::kWR:
          result_.wr_edges++;
          break;
        case DepType::kRW:
          result_.rw_edges++;
          break;
      }
    }
  }

  // Pass 6: strongly connected components (Tarjan, iterative), then cycles in each.
  void FindCycles() {
    const size_t n = h_.txns.size();
    std::vector<int> index(n, -1), low(n, 0);
    std::vector<bool> on_stack(n, false);
    std::vector<size_t> stack;
    std::vector<std::vector<size_t>> components;
    component_.assign(n, -1);
    int next_index = 0;
    struct Frame {
      size_t node;
      size_t edge;
    };
    for (size_t root = 0; root < n; root++) {
      if (!committed_[root] || index[root] >= 0) continue;
      std::vector<Frame> calls;
      auto visit = [&](size_t v) {
        index[v] = low[v] = next_index++;
        stack.push_back(v);
        on_stack[v] = true;
        calls.push_back({v, 0});
      };
      visit(root);
      while (!calls.empty()) {
        size_t v = calls.back().node;
        if (calls.back().edge < out_[v].size()) {
          size_t w = out_[v][calls.back().edge++].to;
          if (index[w] < 0) {
            visit(w);
          } else if (on_stack[w]) {
            low[v] = std::min(low[v], index[w]);
          }
          continue;
        }
        calls.pop_back();
        if (!calls.empty()) low[calls.back().node] = std::min(low[calls.back().node], low[v]);
        if (low[v] != index[v]) continue;
        std::vector<size_t> members;
        size_t w;
        do {
          w = stack.back();
          stack.pop_back();
          on_stack[w] = false;
          component_[w] = static_cast<int>(components.size());
          members.push_back(w);
        } while (w != v);
        std::sort(members.begin(), members.end());
        components.push_back(std::move(members));
      }
    }
    std::sort(components.begin(), components.end());
    for (const std::vector<size_t>& members : components) {
      if (members.size() < 2) continue;  // no self edges are ever added
      ReportCycle(AnomalyKind::kG0, ShortestCycle(members, Mask(DepType::kWW), Mask(DepType::kWW)));
      unsigned ww_wr = Mask(DepType::kWW) | Mask(DepType::kWR);
      ReportCycle(AnomalyKind::kG1c, ShortestCycle(members, Mask(DepType::kWR), ww_wr));
      std::vector<Dependency> single = ShortestCycle(members, Mask(DepType::kRW), ww_wr);
      if (!single.empty()) {
        ReportCycle(AnomalyKind::kGSingle, std::move(single));
      } else {
        ReportCycle(AnomalyKind::kG2, ShortestCycle(members, Mask(DepType::kRW), kAllDeps));
      }
    }
  }

  // The shortest cycle inside one component that starts with an edge whose type is in
  // `first` and continues over edges whose types are in `rest`; empty if there is none.
  std::vector<Dependency> ShortestCycle(const std::vector<size_t>& members, unsigned first,
                                        unsigned rest) const {
    std::vector<Dependency> best;
    int searches = 0;
    const int component = component_[members.front()];
    std::vector<const Edge*> via(h_.txns.size(), nullptr);  // BFS tree: edge into a node
    std::vector<size_t> via_from(h_.txns.size(), 0);
    std::vector<int> seen_in(h_.txns.size(), -1);  // the search that reached a node
    for (size_t a : members) {
      for (const Edge& e : out_[a]) {
        if ((Mask(e.type) & first) == 0 || component_[e.to] != component) continue;
        if (searches >= kMaxCycleSearches) return best;
        const int search = searches++;
        // BFS from e.to back to a.
        std::deque<size_t> queue{e.to};
        seen_in[e.to] = search;
        bool found = a == e.to;
        while (!queue.empty() && !found) {
          size_t v = queue.front();
          queue.pop_front();
          for (const Edge& f : out_[v]) {
            if ((Mask(f.type) & rest) == 0 || component_[f.to] != component ||
                seen_in[f.to] == search) {
              continue;
            }
            seen_in[f.to] = search;
            via[f.to] = &f;
            via_from[f.to] = v;
            if (f.to == a) {
              found = true;
              break;
            }
            queue.push_back(f.to);
          }
        }
        if (!found) continue;
        std::vector<Dependency> path;
        for (size_t v = a; v != e.to; v = via_from[v]) {
          path.push_back({h_.txns[via_from[v]].id, h_.txns[v].id, via[v]->type, via[v]->key});
        }
        path.push_back({h_.txns[a].id, h_.txns[e.to].id, e.type, e.key});
        std::reverse(path.begin(), path.end());
        if (best.empty() || path.size() < best.size()) best = std::move(path);
      }
    }
    return best;
  }

  void ReportCycle(AnomalyKind kind, std::vector<Dependency> cycle) {
    if (cycle.empty()) return;
    // Start at the lowest id, so a cycle reads the same however it was found.
    auto lowest = std::min_element(cycle.begin(), cycle.end(),
                                   [](const auto& x, const auto& y) { return x.from < y.from; });
    std::rotate(cycle.begin(), lowest, cycle.end());
    std::vector<size_t> txns;
    std::string text =
        std::string(AnomalyKindName(kind)) + " cycle: T" + std::to_string(cycle.front().from);
    for (const Dependency& d : cycle) {
      txns.push_back(by_id_.at(d.from));
      text +=
          " -" + std::string(DepTypeName(d.type)) + "(" + d.key + ")-> T" + std::to_string(d.to);
    }
    Report(kind, txns, std::move(text), std::move(cycle));
  }

  const History& h_;
  CheckResult result_;
  std::set<std::string> keys_;
  std::unordered_map<int, size_t> by_id_;  // id -> index into h_.txns (the first, if repeated)
  // key -> element -> who appended it.
  std::map<std::string, KeyAppenders> appenders_;
  std::vector<bool> committed_;                         // by index into h_.txns
  std::map<std::string, std::vector<int64_t>> orders_;  // keys with a known version order
  std::vector<std::vector<Edge>> out_;                  // the graph, by index into h_.txns
  std::vector<int> component_;                          // strongly connected component
  std::set<size_t> involved_;                           // txns already in result_.involved
};

}  // namespace

std::string_view TxnStatusName(TxnStatus status) {
  switch (status) {
    case TxnStatus::kOk:
      return "ok";
    case TxnStatus::kFail:
      return "fail";
    case TxnStatus::kInfo:
      return "info";
  }
  return "?";
}

std::string_view AnomalyKindName(AnomalyKind kind) {
  switch (kind) {
    case AnomalyKind::kG0:
      return "G0";
    case AnomalyKind::kG1a:
      return "G1a";
    case AnomalyKind::kG1b:
      return "G1b";
    case AnomalyKind::kG1c:
      return "G1c";
    case AnomalyKind::kGSingle:
      return "G-single";
    case AnomalyKind::kG2:
      return "G2";
    case AnomalyKind::kIncompatibleOrder:
      return "incompatible-order";
    case AnomalyKind::kDuplicateElements:
      return "duplicate-elements";
    case AnomalyKind::kUnknownElement:
      return "unknown-element";
    case AnomalyKind::kInternal:
      return "internal";
    case AnomalyKind::kMalformed:
      return "malformed";
  }
  return "?";
}

std::string_view DepTypeName(DepType type) {
  switch (type) {
    case DepType::kWW:
      return "ww";
    case DepType::kWR:
      return "wr";
    case DepType::kRW:
      return "rw";
  }
  return "?";
}

std::string Txn::ToString() const {
  std::string out = std::string(TxnStatusName(status)) + " " + name() + ":";
  for (size_t i = 0; i < ops.size(); i++) {
    const MicroOp& op = ops[i];
    out += i == 0 ? " " : "; ";
    if (op.type == MicroOp::Type::kAppend) {
      out += "append " + op.key + " " + std::to_string(op.value);
    } else {
      out += "read " + op.key + " " + (op.list ? ListToString(*op.list) : "?");
    }
  }
  return out;
}

std::string History::ToString() const {
  std::string out;
  for (const Txn& txn : txns) out += txn.ToString() + "\n";
  return out;
}

Result<History> ParseHistory(std::string_view text) {
  History history;
  std::set<int> ids;
  int line_number = 0;
  while (!text.empty()) {
    line_number++;
    size_t end = text.find('\n');
    std::string_view line = Trim(text.substr(0, end));
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
    if (line.empty() || line[0] == '#') continue;
    Result<Txn> txn = ParseTxn(line);
    if (!txn.ok()) return txn.status().WithContext("line " + std::to_string(line_number));
    if (!ids.insert(txn->id).second) {
      return Status::InvalidArgument("line " + std::to_string(line_number) + ": " + txn->name() +
                                     " appears twice");
    }
    history.txns.push_back(std::move(txn).value());
  }
  return history;
}

std::vector<Anomaly> CheckResult::Of(AnomalyKind kind) const {
  std::vector<Anomaly> out;
  for (const Anomaly& a : anomalies) {
    if (a.kind == kind) out.push_back(a);
  }
  return out;
}

std::string CheckResult::ToString() const {
  constexpr size_t kMaxLines = 50;  // a broken store can produce thousands
  std::string out = std::to_string(ok_txns + failed_txns + info_txns) + " txns (" +
                    std::to_string(ok_txns) + " ok, " + std::to_string(failed_txns) + " fail, " +
                    std::to_string(info_txns) + " info of which " + std::to_string(info_observed) +
                    " observed), " + std::to_string(keys) +
                    " keys, edges: " + std::to_string(ww_edges) + " ww, " +
                    std::to_string(wr_edges) + " wr, " + std::to_string(rw_edges) + " rw; ";
  if (anomalies.empty()) return out + "no anomalies";
  out += std::to_string(anomalies.size()) + (anomalies.size() == 1 ? " anomaly:" : " anomalies:");
  for (size_t i = 0; i < anomalies.size() && i < kMaxLines; i++) {
    out += "\n  " + anomalies[i].explanation;
  }
  if (anomalies.size() > kMaxLines) {
    out += "\n  ... and " + std::to_string(anomalies.size() - kMaxLines) + " more";
  }
  out += "\ninvolved transactions:";
  for (size_t i = 0; i < involved.size() && i < kMaxLines; i++) out += "\n  " + involved[i];
  if (involved.size() > kMaxLines) {
    out += "\n  ... and " + std::to_string(involved.size() - kMaxLines) + " more";
  }
  return out;
}

CheckResult Check(const History& history) { return Checker(history).Run(); }

}  // namespace kv2pc::history
