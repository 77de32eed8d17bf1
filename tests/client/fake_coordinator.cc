// See fake_coordinator.h.
#include "tests/client/fake_coordinator.h"

#include <future>
#include <map>
#include <memory>
#include <set>
#include <zmq.hpp>

#include "common/codec.h"
#include "common/transport.h"

namespace kv2pc {

FakeCoordinator::FakeCoordinator(Handler handler) : handler_(std::move(handler)) {
  std::promise<std::string> bound;
  std::future<std::string> endpoint = bound.get_future();
  thread_ = std::thread([this, &bound] { Serve(&bound); });
  endpoint_ = endpoint.get();
}

FakeCoordinator::~FakeCoordinator() {
  stop_ = true;
  thread_.join();
}

std::vector<Message> FakeCoordinator::requests() const {
  std::lock_guard<std::mutex> lock(mu_);
  return requests_;
}

std::string FakeCoordinator::Answer(uint64_t request_id, const Reply& reply) {
  return EncodeMessage(Message{request_id, reply});
}

void FakeCoordinator::Serve(std::promise<std::string>* bound) {
  // The socket lives and dies on this thread (STYLE.md, Concurrency).
  zmq::context_t context;
  zmq::socket_t router(context, zmq::socket_type::router);
  ConfigureSocket(router);
  router.bind("tcp://127.0.0.1:*");
  bound->set_value(router.get(zmq::sockopt::last_endpoint));

  while (!stop_) {
    zmq_pollitem_t item{router.handle(), 0, ZMQ_POLLIN, 0};
    if (zmq::poll(&item, 1, std::chrono::milliseconds(20)) <= 0) continue;
    RoutedRequest routed;
    bool dropped = false;
    while (RecvRouted(router, &routed, &dropped)) {
      if (dropped) continue;
      Result<Message> request = DecodeMessage(View(routed.payload));
      if (!request.ok()) continue;
      {
        std::lock_guard<std::mutex> lock(mu_);
        requests_.push_back(*request);
      }
      for (const std::string& payload : handler_(*request)) {
        std::vector<zmq::message_t> envelope;
        for (const auto& frame : routed.envelope) envelope.emplace_back(frame.data(), frame.size());
        SendRouted(router, &envelope, payload);
      }
    }
  }
}

FakeCoordinator::Handler TinyStore() {
  struct State {
    std::map<std::string, std::string> data;
    std::set<TxnId> open;
    uint64_t next_seq = 1;
  };
  auto state = std::make_shared<State>();
  return [state](const Message& m) -> std::vector<std::string> {
    // Checks the transaction of an operation; returns false after filling *error.
    auto in_txn = [&](const std::optional<TxnId>& txn, Reply* error) {
      if (!txn.has_value() || state->open.count(*txn) > 0) return true;
      *error = Reply::Error(ErrorCode::kTxnNotFound, "no transaction " + txn->ToString());
      return false;
    };
    auto locked = [&](const std::optional<TxnId>& txn, Reply* error) {
      if (txn.has_value()) state->open.erase(*txn);
      *error =
          Reply::AbortedBecause(AbortReason::kLockTimeout, "lock wait on key 'locked' timed out");
    };
    Reply r;
    if (std::holds_alternative<BeginRequest>(m.body)) {
      TxnId txn{0, 1, state->next_seq++};
      state->open.insert(txn);
      r.txn = txn;
    } else if (const auto* get = std::get_if<GetRequest>(&m.body)) {
      if (get->key == "silent") return {};
      if (get->key == "locked") {
        locked(get->txn, &r);
      } else if (in_txn(get->txn, &r)) {
        auto it = state->data.find(get->key);
        r.found = it != state->data.end();
        if (*r.found) r.value = it->second;
      }
    } else if (const auto* put = std::get_if<PutRequest>(&m.body)) {
      if (put->key == "silent") return {};
      if (put->key == "locked") {
        locked(put->txn, &r);
      } else if (in_txn(put->txn, &r)) {
        state->data[put->key] = put->value;
      }
    } else if (const auto* del = std::get_if<DeleteRequest>(&m.body)) {
      if (del->key == "silent") return {};
      if (del->key == "locked") {
        locked(del->txn, &r);
      } else if (in_txn(del->txn, &r)) {
        state->data.erase(del->key);
      }
    } else if (const auto* commit = std::get_if<CommitRequest>(&m.body)) {
      if (in_txn(commit->txn, &r)) state->open.erase(commit->txn);
    } else if (const auto* abort = std::get_if<AbortRequest>(&m.body)) {
      if (in_txn(abort->txn, &r)) state->open.erase(abort->txn);
    } else if (std::holds_alternative<PingRequest>(m.body)) {
      r.node = "coordinator-0";
      r.role = "coordinator";
    } else {
      r = Reply::Error(ErrorCode::kMalformedRequest, "not a client request");
    }
    return {FakeCoordinator::Answer(m, r)};
  };
}

std::string DeadEndpoint() {
  zmq::context_t context;
  zmq::socket_t router(context, zmq::socket_type::router);
  router.set(zmq::sockopt::linger, 0);
  router.bind("tcp://127.0.0.1:*");
  std::string endpoint = router.get(zmq::sockopt::last_endpoint);
  router.close();
  return endpoint;
}

}  // namespace kv2pc
