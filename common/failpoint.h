// Fail points: named places in the protocol where a test, a teacher or an operator can make a
// server crash, stop, slow down or fail on purpose (docs/fail-points.md has the catalogue and
// what each action does at each point). In the spirit of FreeBSD's fail(9), TiKV's fail-rs and
// MySQL's DBUG_EXECUTE_IF, but asynchronous, because kv2pc servers are event loops:
//
//   failpoints_.At("participant.after_prepare_logged",
//                  [=] { SendVote(...); },        // what the protocol does next
//                  [=] { /* error: drop it */ });  // only where `error` has a meaning
//
// Off (the normal case) At() runs `go` inline after one test of a bool: no allocation, no
// lookup. Armed:
//   crash       writes one line to stderr and SIGKILLs its own process: nothing is flushed,
//               exactly as `kill -9` at that point would (unsynced WAL bytes stay in the OS).
//   pause       holds `go` (the loop keeps serving everything else: STATUS shows the point
//               held, other transactions go on) until the point is set again (e.g. `off`),
//               which runs every held continuation in arrival order.
//   sleep(MS)   runs `go` MS milliseconds later, from a timer (the loop does not block).
//   error       runs `on_error` instead of `go`: a NO vote, a dropped message, ...
// Any action may be limited to the next N hits as "N*action" (e.g. "1*crash"); after that the
// point is off again.
//
// Thread-safety: a FailPoints object belongs to one event loop; call everything on its thread.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/event_loop.h"
#include "common/messages.h"
#include "common/status.h"

namespace kv2pc {

struct FailPointInfo {
  const char* name;   // "<role>.<where>", e.g. "participant.after_prepare_logged"
  const char* when;   // the moment it marks, in protocol terms
  const char* error;  // what `error` does there; nullptr: `error` is refused at this point
};

// Every fail point of both roles, in protocol order (docs/fail-points.md shows the same).
const std::vector<FailPointInfo>& FailPointCatalogue();
const FailPointInfo* FindFailPoint(std::string_view name);

struct FailAction {
  enum class Kind : uint8_t { kOff, kCrash, kPause, kSleep, kError };
  Kind kind = Kind::kOff;
  uint32_t sleep_ms = 0;          // kSleep
  std::optional<uint32_t> count;  // hits left; nullopt = every hit

  // "off" | "crash" | "pause" | "sleep(MS)" | "error", optionally prefixed "N*" (N >= 1).
  static Result<FailAction> Parse(std::string_view text);
  std::string ToString() const;
};

class FailPoints {
 public:
  // `role`: "coordinator" or "participant"; the points of the other role are accepted by
  // Configure (one environment string may serve a whole cluster) but have no effect here.
  FailPoints(EventLoop* loop, std::string role);
  FailPoints(const FailPoints&) = delete;
  FailPoints& operator=(const FailPoints&) = delete;

  // Arms points from "name=action;name=action" (KV2PC_FAILPOINTS). InvalidArgument naming the
  // first bad entry (unknown point, bad action, `error` where it has no meaning); nothing is
  // armed then.
  Status Configure(std::string_view spec);
  // Arms (or with kOff disarms) one point of this role. Continuations held by a paused point
  // run now, before the new action applies to later hits.
  Status Set(std::string_view name, const FailAction& action);

  template <typename Go>
  void At(const char* name, Go&& go) {
    if (!armed_) {
      go();
      return;
    }
    Hit(name, std::function<void()>(std::forward<Go>(go)), nullptr);
  }
  template <typename Go, typename OnError>
  void At(const char* name, Go&& go, OnError&& on_error) {
    if (!armed_) {
      go();
      return;
    }
    Hit(name, std::function<void()>(std::forward<Go>(go)),
        std::function<void()>(std::forward<OnError>(on_error)));
  }

  struct PointState {
    std::string name;
    FailAction action;
    uint64_t hits = 0;  // times the armed point was reached
    size_t held = 0;    // continuations waiting for release (pause)
  };
  // Armed points and points still holding continuations, by name.
  std::vector<PointState> Armed() const;
  const std::string& role() const { return role_; }

 private:
  struct Point {
    FailAction action;
    uint64_t hits = 0;
    std::deque<std::function<void()>> held;
  };
  void Hit(const char* name, std::function<void()> go, std::function<void()> on_error);
  void Rearm();

  EventLoop* const loop_;
  const std::string role_;
  bool armed_ = false;  // any point armed or holding: the only thing At() tests when off
  std::map<std::string, Point, std::less<>> points_;
};

// Serves a FAILPOINT request (both roles): sets the point if one is named, and answers with the
// armed points; MALFORMED_REQUEST with the reason for a bad name or action.
Reply ServeFailPointRequest(FailPoints* points, const FailPointRequest& req);

// Arms the points named in the environment variable KV2PC_FAILPOINTS, if set.
Status ConfigureFromEnvironment(FailPoints* points);

}  // namespace kv2pc
