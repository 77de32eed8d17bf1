// See failpoint.h.
#include "common/failpoint.h"

#include <signal.h>
#include <unistd.h>

#include <cstdlib>

#include "common/logging.h"

namespace kv2pc {

const std::vector<FailPointInfo>& FailPointCatalogue() {
  // Protocol order. docs/fail-points.md repeats this table; keep them in step.
  static const std::vector<FailPointInfo> catalogue = {
      {"coordinator.before_prepare_sent",
       "COMMIT received from the client; no PREPARE sent yet (every participant is still ACTIVE)",
       nullptr},
      {"coordinator.after_prepare_sent",
       "PREPARE sent to every participant; no vote counted yet (pause keeps the votes "
       "uncounted; one not received within --vote-timeout-ms counts as a timeout)",
       nullptr},
      {"coordinator.before_decision_logged",
       "every vote is YES (or READ_ONLY); the COMMIT decision is not logged yet",
       "aborts the transaction as if the decision log had failed (LOG_FAILURE)"},
      {"coordinator.after_decision_logged",
       "the COMMIT decision is durable; nobody has been told (no DECIDE_COMMIT sent, the client "
       "not answered)",
       nullptr},
      {"coordinator.after_commit_sent_to_some",
       "DECIDE_COMMIT sent to the first participant that voted YES only; the other participants "
       "and the client not told yet",
       nullptr},
      {"coordinator.after_commit_sent",
       "DECIDE_COMMIT sent to every participant that voted YES; the client not answered yet",
       "drops the client's answer (the client times out: OUTCOME_UNKNOWN)"},
      {"coordinator.before_end_logged",
       "every participant acknowledged COMMIT; END not logged yet (the decision is still kept)",
       nullptr},
      {"coordinator.before_abort_sent",
       "the transaction is decided ABORT after its PREPAREs were sent (a NO vote, a vote "
       "timeout, a lost participant); no DECIDE_ABORT sent, the client not answered",
       "drops the DECIDE_ABORT messages (participants learn the outcome by asking: presumed "
       "abort)"},
      {"coordinator.after_one_phase_sent",
       "the one-phase PREPARE sent to the transaction's only participant (which commits on its "
       "own); no vote counted, the client not answered",
       nullptr},
      {"participant.before_prepare_logged",
       "PREPARE received for an ACTIVE transaction that wrote here; nothing logged, no vote",
       "votes NO"},
      {"participant.after_prepare_logged",
       "the PREPARE record is durable (state PREPARED); the YES vote not sent yet", nullptr},
      {"participant.before_one_phase_logged",
       "a one-phase PREPARE received (this participant is the transaction's only one, and it "
       "wrote here); nothing logged, no vote",
       "votes NO (the transaction aborts)"},
      {"participant.after_one_phase_logged",
       "the ONE_PHASE_COMMIT record is durable, the writes applied and the locks released; the "
       "COMMITTED vote not sent yet",
       nullptr},
      {"participant.before_read_only_vote",
       "PREPARE found no writes here: the S locks are still held, the READ_ONLY vote not sent "
       "(the read-only path: no log record, no phase 2)",
       "votes NO instead of READ_ONLY (the transaction aborts)"},
      {"participant.before_vote_sent",
       "a vote (YES, NO or READ_ONLY, first or repeated) is about to leave",
       "drops the vote (the coordinator's --vote-timeout-ms aborts the transaction)"},
      {"participant.before_commit_logged",
       "the decision COMMIT arrived (DECIDE_COMMIT, or an answer while in doubt) for a PREPARED "
       "transaction; nothing logged, its locks held",
       "refuses DECIDE_COMMIT with INTERNAL_ERROR (the coordinator re-sends it)"},
      {"participant.after_commit_logged_before_ack",
       "the COMMIT record is durable, the writes applied and the locks released; the "
       "acknowledgement not sent yet",
       "drops the acknowledgement (the coordinator re-sends DECIDE_COMMIT)"},
      {"participant.before_abort_logged",
       "the decision ABORT arrived for a transaction whose PREPARE is logged (PREPARING or "
       "PREPARED); no ABORT logged, its locks held",
       nullptr},
  };
  return catalogue;
}

const FailPointInfo* FindFailPoint(std::string_view name) {
  for (const FailPointInfo& p : FailPointCatalogue()) {
    if (name == p.name) return &p;
  }
  return nullptr;
}

Result<FailAction> FailAction::Parse(std::string_view text) {
  FailAction a;
  std::string_view rest = text;
  if (size_t star = rest.find('*'); star != std::string_view::npos) {
    std::string_view n = rest.substr(0, star);
    uint64_t count = 0;
    if (n.empty() || n.size() > 9)
      return Status::InvalidArgument("bad count in '" + std::string(text) + "'");
    for (char c : n) {
      if (c < '0' || c > '9')
        return Status::InvalidArgument("bad count in '" + std::string(text) + "'");
      count = count * 10 + static_cast<uint64_t>(c - '0');
    }
    if (count == 0)
      return Status::InvalidArgument("count must be at least 1 in '" + std::string(text) + "'");
    a.count = static_cast<uint32_t>(count);
    rest = rest.substr(star + 1);
  }
  if (rest == "off") {
    a.kind = Kind::kOff;
    a.count.reset();
  } else if (rest == "crash") {
    a.kind = Kind::kCrash;
  } else if (rest == "pause") {
    a.kind = Kind::kPause;
  } else if (rest == "error") {
    a.kind = Kind::kError;
  } else if (rest.size() > 7 && rest.substr(0, 6) == "sleep(" && rest.back() == ')') {
    std::string_view ms = rest.substr(6, rest.size() - 7);
    uint64_t v = 0;
    if (ms.empty() || ms.size() > 7) {
      return Status::InvalidArgument("sleep takes 0 to 3600000 ms, not '" + std::string(ms) + "'");
    }
    for (char c : ms) {
      if (c < '0' || c > '9') {
        return Status::InvalidArgument("sleep takes milliseconds, not '" + std::string(ms) + "'");
      }
      v = v * 10 + static_cast<uint64_t>(c - '0');
    }
    if (v > 3600000) return Status::InvalidArgument("sleep is limited to 3600000 ms (an hour)");
    a.kind = Kind::kSleep;
    a.sleep_ms = static_cast<uint32_t>(v);
  } else {
    return Status::InvalidArgument("unknown fail point action '" + std::string(text) +
                                   "' (off, crash, pause, sleep(MS), error, each optionally "
                                   "prefixed N*)");
  }
  return a;
}

std::string FailAction::ToString() const {
  std::string out = count ? std::to_string(*count) + "*" : "";
  switch (kind) {
    case Kind::kOff:
      return "off";
    case Kind::kCrash:
      return out + "crash";
    case Kind::kPause:
      return out + "pause";
    case Kind::kSleep:
      return out + "sleep(" + std::to_string(sleep_ms) + ")";
    case Kind::kError:
      return out + "error";
  }
  return "?";
}

FailPoints::FailPoints(EventLoop* loop, std::string role) : loop_(loop), role_(std::move(role)) {}

Status FailPoints::Configure(std::string_view spec) {
  // Parse everything first: a bad entry arms nothing.
  std::vector<std::pair<std::string, FailAction>> parsed;
  while (!spec.empty()) {
    size_t semi = spec.find(';');
    std::string_view entry = spec.substr(0, semi);
    spec = semi == std::string_view::npos ? std::string_view() : spec.substr(semi + 1);
    while (!entry.empty() && (entry.front() == ' ' || entry.front() == '\t'))
      entry.remove_prefix(1);
    while (!entry.empty() && (entry.back() == ' ' || entry.back() == '\t')) entry.remove_suffix(1);
    if (entry.empty()) continue;
    size_t eq = entry.find('=');
    if (eq == std::string_view::npos) {
      return Status::InvalidArgument("fail point entry '" + std::string(entry) +
                                     "' is not name=action");
    }
    std::string name(entry.substr(0, eq));
    const FailPointInfo* info = FindFailPoint(name);
    if (info == nullptr) {
      return Status::InvalidArgument("unknown fail point '" + name +
                                     "' (`kv2pc failpoint list` prints them)");
    }
    Result<FailAction> a = FailAction::Parse(entry.substr(eq + 1));
    if (!a.ok()) return a.status().WithContext("fail point " + name);
    if (a->kind == FailAction::Kind::kError && info->error == nullptr) {
      return Status::InvalidArgument("fail point " + name + " has no `error` action");
    }
    parsed.emplace_back(std::move(name), *a);
  }
  for (auto& [name, action] : parsed) {
    if (name.rfind(role_ + ".", 0) != 0) continue;  // the other role's point
    KV2PC_RETURN_IF_ERROR(Set(name, action));
  }
  return Status::OK();
}

Status FailPoints::Set(std::string_view name, const FailAction& action) {
  const FailPointInfo* info = FindFailPoint(name);
  if (info == nullptr) {
    return Status::InvalidArgument("unknown fail point '" + std::string(name) +
                                   "' (`kv2pc failpoint list` prints them)");
  }
  if (name.rfind(role_ + ".", 0) != 0) {
    return Status::InvalidArgument("fail point " + std::string(name) + " is not a " + role_ +
                                   " fail point");
  }
  if (action.kind == FailAction::Kind::kError && info->error == nullptr) {
    return Status::InvalidArgument("fail point " + std::string(name) + " has no `error` action");
  }
  Point& p = points_[std::string(name)];
  std::deque<std::function<void()>> held = std::move(p.held);
  p.held.clear();
  p.action = action;
  if (action.kind == FailAction::Kind::kOff) p.hits = 0;
  Rearm();
  if (action.kind == FailAction::Kind::kOff) {
    spdlog::warn("fail point {} off{}", name,
                 held.empty() ? "" : "; releasing " + std::to_string(held.size()) + " held");
  } else {
    spdlog::warn("fail point {} armed: {}{}", name, action.ToString(),
                 held.empty() ? "" : "; releasing " + std::to_string(held.size()) + " held");
  }
  for (auto& go : held) go();
  return Status::OK();
}

void FailPoints::Rearm() {
  armed_ = false;
  for (const auto& [name, p] : points_) {
    if (p.action.kind != FailAction::Kind::kOff || !p.held.empty()) armed_ = true;
  }
}

std::vector<FailPoints::PointState> FailPoints::Armed() const {
  std::vector<PointState> out;
  for (const auto& [name, p] : points_) {
    if (p.action.kind == FailAction::Kind::kOff && p.held.empty()) continue;
    out.push_back(PointState{name, p.action, p.hits, p.held.size()});
  }
  return out;
}

void FailPoints::Hit(const char* name, std::function<void()> go, std::function<void()> on_error) {
  auto it = points_.find(std::string_view(name));
  if (it == points_.end() || it->second.action.kind == FailAction::Kind::kOff) {
    go();
    return;
  }
  Point& p = it->second;
  p.hits++;
  const FailAction a = p.action;
  if (p.action.count && --*p.action.count == 0) p.action = FailAction{};
  switch (a.kind) {
    case FailAction::Kind::kOff:
      break;
    case FailAction::Kind::kCrash: {
      // As kill -9: no log flush, no destructor, no fsync. One line straight to stderr so the
      // node's log says why it ended. Messages the steps before this point sent are handed to
      // ZeroMQ first (they were batched for the iteration's end): "sent" in a point's name
      // means that much, as it did before batching. Whether libzmq's I/O thread gets them out
      // before the kill is still a race.
      loop_->RunIterationEndHooks();
      std::string line = std::string("FAIL POINT ") + name + ": crash (SIGKILL)\n";
      ssize_t ignored = write(STDERR_FILENO, line.data(), line.size());
      (void)ignored;
      kill(getpid(), SIGKILL);
      std::abort();  // not reached
    }
    case FailAction::Kind::kPause:
      p.held.push_back(std::move(go));
      spdlog::warn("fail point {}: paused ({} held); `kv2pc failpoint NODE {} off` releases it",
                   name, p.held.size(), name);
      break;
    case FailAction::Kind::kSleep:
      loop_->RunAfter(std::chrono::milliseconds(a.sleep_ms), std::move(go));
      break;
    case FailAction::Kind::kError:
      spdlog::warn("fail point {}: error", name);
      if (on_error) {
        on_error();
      } else {
        go();
      }
      break;
  }
  Rearm();
}

Reply ServeFailPointRequest(FailPoints* points, const FailPointRequest& req) {
  if (!req.name.empty() || !req.action.empty()) {
    if (req.name.empty() || req.action.empty()) {
      return Reply::Error(ErrorCode::kMalformedRequest,
                          "FAILPOINT needs both a name and an action (or neither, to list)");
    }
    Result<FailAction> action = FailAction::Parse(req.action);
    Status s = action.ok() ? points->Set(req.name, *action) : action.status();
    if (!s.ok()) return Reply::Error(ErrorCode::kMalformedRequest, s.message());
  }
  Reply r;
  for (const FailPoints::PointState& p : points->Armed()) {
    r.failpoints.push_back(FailPointState{p.name, p.action.ToString(), p.hits, p.held});
  }
  return r;
}

Status ConfigureFromEnvironment(FailPoints* points) {
  const char* spec = std::getenv("KV2PC_FAILPOINTS");
  if (spec == nullptr || *spec == '\0') return Status::OK();
  Status s = points->Configure(spec);
  if (!s.ok()) return s.WithContext("KV2PC_FAILPOINTS");
  return Status::OK();
}

}  // namespace kv2pc
