// ZeroMQ framing shared by every kv2pc process (docs/protocol.md, "Framing").
//
// Servers bind a ROUTER socket. A request arrives as [identity, envelope..., payload]: the
// payload is always the last frame; any frames between the identity and the payload (the
// empty delimiter a REQ socket adds, for instance) are the envelope and are echoed back
// unchanged, so REQ, DEALER and ROUTER clients all work. Peers that call servers (the
// coordinator calling participants, participants calling coordinators, the client) use a
// DEALER socket and send just [payload]; replies are matched by request_id, so any number of
// requests can be in flight on one socket.
//
// All sends are non-blocking: a server never waits on a slow or dead peer. Exceptions from
// cppzmq stop here; callers get a Status or a bool.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>
#include <zmq.hpp>

#include "common/messages.h"
#include "common/status.h"

namespace kv2pc {

// Options every kv2pc socket gets: no linger on close, kMaxMessageSize (a peer sending more
// is disconnected by libzmq before the bytes are read), TCP keepalive and ZMTP heartbeats so
// a dead peer is noticed.
void ConfigureSocket(zmq::socket_t& socket);
// For DEALER sockets that call a server: additionally ZMQ_IMMEDIATE, so that while the peer
// is down a send fails at once instead of queueing (RpcClient decides how long to retry), and
// a reconnect interval of 100 ms backing off to 500 ms.
void ConfigureCallerSocket(zmq::socket_t& socket);

// Binds, turning zmq errors into a Status ("cannot listen on X: Address already in use").
Status Bind(zmq::socket_t& socket, const std::string& endpoint);
Status Connect(zmq::socket_t& socket, const std::string& endpoint);

// A request read from a ROUTER socket.
struct RoutedRequest {
  std::vector<zmq::message_t> envelope;  // identity + any delimiter frames
  zmq::message_t payload;
};

// Where to send the reply to one request read from a ROUTER: its envelope and request id.
// Shared, because a reply may be parked (on a lock, on the disk) and answered later.
struct ReplyTo {
  std::vector<zmq::message_t> envelope;
  uint64_t request_id = 0;
};
using ReplyToPtr = std::shared_ptr<ReplyTo>;

// Sends `reply` to `to` (the envelope is copied, so `to` can be answered again).
// `scratch` is a reusable encode buffer. Never blocks; a reply to a gone peer is dropped.
void SendReply(zmq::socket_t& router, const ReplyTo& to, const Reply& reply, std::string* scratch);

// Reads one multipart message without blocking. Returns false when there is none. Messages
// with too many frames or no payload are read whole and dropped (*dropped set to true).
bool RecvRouted(zmq::socket_t& router, RoutedRequest* out, bool* dropped);

// Sends `payload` back along `envelope` (which is consumed). Never blocks: a reply to a peer
// that is gone or not reading is dropped. Returns false if it was dropped.
bool SendRouted(zmq::socket_t& router, std::vector<zmq::message_t>* envelope,
                std::string_view payload);

// Gives replies already queued on `router` a bounded time (up to 200 ms) to leave before the
// process exits: closes the socket with a linger and waits. For fail-stop exits, which skip
// every destructor, so that parked requests answered just before still get their answers.
void FlushRepliesBeforeExit(zmq::socket_t& router);

// Reads up to `max_batch` requests from a server's ROUTER without blocking, decodes each and
// hands it to `dispatch` with where to reply. Bad framing is dropped; undecodable payloads get
// the error reply (MALFORMED_REQUEST or UNSUPPORTED_VERSION) here, so dispatch only ever sees
// well-formed messages. Both go to the log as warnings.
void ServeRequests(zmq::socket_t& router, int max_batch,
                   const std::function<void(Message, ReplyToPtr)>& dispatch, std::string* scratch);

// Sends one frame on a DEALER socket without blocking. Unavailable if the peer is not
// connected (ZMQ_IMMEDIATE) or its queue is full.
Status SendDealer(zmq::socket_t& dealer, std::string_view payload);

// Reads one whole message from a DEALER without blocking into *payload (the last frame).
// Returns false when none is waiting.
bool RecvDealer(zmq::socket_t& dealer, zmq::message_t* payload);

inline std::string_view View(const zmq::message_t& m) {
  return std::string_view(static_cast<const char*>(m.data()), m.size());
}

}  // namespace kv2pc
