// Cluster layout file parser. See config.h.
#include "common/config.h"

#include <charconv>
#include <fstream>
#include <set>
#include <sstream>

namespace kv2pc {

std::string_view RoleName(Role role) {
  return role == Role::kCoordinator ? "coordinator" : "participant";
}

namespace {
std::vector<std::string_view> Words(std::string_view line) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r')) i++;
    size_t j = i;
    while (j < line.size() && line[j] != ' ' && line[j] != '\t' && line[j] != '\r') j++;
    if (j > i) out.push_back(line.substr(i, j - i));
    i = j;
  }
  return out;
}

bool ValidEndpoint(std::string_view e) {
  // tcp://host:port with a numeric port, or ipc:// for local experiments.
  if (e.rfind("ipc://", 0) == 0) return e.size() > 6;
  if (e.rfind("tcp://", 0) != 0) return false;
  size_t colon = e.rfind(':');
  if (colon == std::string_view::npos || colon <= 6 || colon + 1 >= e.size()) return false;
  int port = 0;
  auto [p, ec] = std::from_chars(e.data() + colon + 1, e.data() + e.size(), port);
  return ec == std::errc() && p == e.data() + e.size() && port > 0 && port < 65536;
}
}  // namespace

int64_t ClusterConfig::CoordinatorIndex(std::string_view name) {
  constexpr std::string_view kPrefix = "coordinator-";
  if (name.substr(0, kPrefix.size()) != kPrefix || name.size() == kPrefix.size()) return -1;
  int64_t idx = 0;
  auto digits = name.substr(kPrefix.size());
  auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), idx);
  if (ec != std::errc() || p != digits.data() + digits.size() || idx < 0 || idx > UINT32_MAX) {
    return -1;
  }
  if (digits.size() > 1 && digits[0] == '0') return -1;  // one spelling per index
  return idx;
}

Result<ClusterConfig> ClusterConfig::Parse(std::string_view text) {
  ClusterConfig cfg;
  std::set<std::string, std::less<>> names, endpoints;
  int line_no = 0;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t eol = text.find('\n', pos);
    if (eol == std::string_view::npos) eol = text.size();
    std::string_view line = text.substr(pos, eol - pos);
    pos = eol + 1;
    line_no++;
    if (size_t hash = line.find('#'); hash != std::string_view::npos) line = line.substr(0, hash);
    auto w = Words(line);
    if (w.empty()) continue;
    auto err = [&](const std::string& m) {
      return Status::InvalidArgument("cluster config line " + std::to_string(line_no) + ": " + m);
    };
    if (w[0] == "version") {
      if (w.size() != 2 || w[1] != "1") return err("unsupported version (this build reads 1)");
    } else if (w[0] == "vnodes") {
      int v = 0;
      if (w.size() != 2) return err("vnodes takes one number");
      auto [p, ec] = std::from_chars(w[1].data(), w[1].data() + w[1].size(), v);
      if (ec != std::errc() || p != w[1].data() + w[1].size() || v < 1 || v > 4096) {
        return err("vnodes must be a number from 1 to 4096");
      }
      cfg.vnodes_ = v;
    } else if (w[0] == "node") {
      if (w.size() != 4) return err("expected: node <name> <role> <endpoint>");
      NodeInfo n;
      n.name = std::string(w[1]);
      if (w[2] == "coordinator") {
        n.role = Role::kCoordinator;
        if (CoordinatorIndex(n.name) < 0) {
          return err("a coordinator must be named coordinator-<N>, not '" + n.name + "'");
        }
      } else if (w[2] == "participant") {
        n.role = Role::kParticipant;
      } else {
        return err("role must be coordinator or participant, not '" + std::string(w[2]) + "'");
      }
      n.endpoint = std::string(w[3]);
      if (!ValidEndpoint(n.endpoint)) return err("bad endpoint '" + n.endpoint + "'");
      if (!names.insert(n.name).second) return err("duplicate node name " + n.name);
      if (!endpoints.insert(n.endpoint).second) return err("duplicate endpoint " + n.endpoint);
      cfg.nodes_.push_back(std::move(n));
    } else {
      return err("unknown directive '" + std::string(w[0]) + "'");
    }
  }
  if (cfg.participants().empty())
    return Status::InvalidArgument("cluster config has no participant");
  if (cfg.coordinators().empty())
    return Status::InvalidArgument("cluster config has no coordinator");
  return cfg;
}

Result<ClusterConfig> ClusterConfig::Load(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::IOError("cannot read cluster config " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  auto r = Parse(ss.str());
  if (!r.ok()) return r.status().WithContext(path);
  return r;
}

std::vector<const NodeInfo*> ClusterConfig::participants() const {
  std::vector<const NodeInfo*> out;
  for (const auto& n : nodes_) {
    if (n.role == Role::kParticipant) out.push_back(&n);
  }
  return out;
}

std::vector<const NodeInfo*> ClusterConfig::coordinators() const {
  std::vector<const NodeInfo*> out;
  for (const auto& n : nodes_) {
    if (n.role == Role::kCoordinator) out.push_back(&n);
  }
  return out;
}

const NodeInfo* ClusterConfig::Find(std::string_view name) const {
  for (const auto& n : nodes_) {
    if (n.name == name) return &n;
  }
  return nullptr;
}

}  // namespace kv2pc
