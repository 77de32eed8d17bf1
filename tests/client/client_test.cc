// Tests of the client library (client/client.h) against a fake coordinator.
#include "client/client.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "common/codec.h"
#include "tests/client/fake_coordinator.h"

namespace kv2pc {
namespace {

using Payloads = std::vector<std::string>;

constexpr TxnId kTxn{0, 1, 5};

Reply Ok() { return Reply{}; }

std::unique_ptr<Client> ConnectTo(const std::string& endpoint, int timeout_ms = 10000) {
  Result<std::unique_ptr<Client>> client = Client::Connect({endpoint, timeout_ms});
  EXPECT_TRUE(client.ok()) << client.status().ToString();
  return client.ok() ? std::move(*client) : nullptr;
}

class ClientTest : public ::testing::Test {
 protected:
  // Starts the fake with `handler`; client_ talks to it.
  void Serve(FakeCoordinator::Handler handler, int timeout_ms = 10000) {
    fake_ = std::make_unique<FakeCoordinator>(std::move(handler));
    client_ = ConnectTo(fake_->endpoint(), timeout_ms);
    ASSERT_NE(client_, nullptr);
  }
  // Answers every request with `reply`.
  void ServeReply(const Reply& reply) {
    Serve([reply](const Message& m) { return Payloads{FakeCoordinator::Answer(m, reply)}; });
  }

  std::unique_ptr<FakeCoordinator> fake_;
  std::unique_ptr<Client> client_;
};

TEST_F(ClientTest, BeginReturnsTheCoordinatorsTxnId) {
  Reply reply;
  reply.txn = kTxn;
  ServeReply(reply);
  Result<TxnId> txn = client_->Begin();
  ASSERT_TRUE(txn.ok()) << txn.status().ToString();
  EXPECT_EQ(*txn, kTxn);
  ASSERT_EQ(fake_->requests().size(), 1u);
  EXPECT_EQ(fake_->requests()[0].type(), MsgType::kBegin);
  EXPECT_EQ(client_->last_error_code(), ErrorCode::kOk);
}

TEST_F(ClientTest, PutInTransactionSendsTxnKeyAndValue) {
  ServeReply(Ok());
  ASSERT_TRUE(client_->Put(kTxn, "k", std::string("v\0w", 3)).ok());
  std::vector<Message> requests = fake_->requests();
  ASSERT_EQ(requests.size(), 1u);
  const auto* put = std::get_if<PutRequest>(&requests[0].body);
  ASSERT_NE(put, nullptr);
  EXPECT_EQ(put->txn, kTxn);
  EXPECT_EQ(put->key, "k");
  EXPECT_EQ(put->value, std::string("v\0w", 3));
}

TEST_F(ClientTest, OneShotOperationsSendNoTxn) {
  Reply found;
  found.found = true;
  found.value = "1";
  ServeReply(found);
  ASSERT_TRUE(client_->Put("a", "1").ok());
  ASSERT_TRUE(client_->Del("a").ok());
  ASSERT_TRUE(client_->Get("a").ok());
  std::vector<Message> requests = fake_->requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_FALSE(std::get<PutRequest>(requests[0].body).txn.has_value());
  EXPECT_FALSE(std::get<DeleteRequest>(requests[1].body).txn.has_value());
  EXPECT_FALSE(std::get<GetRequest>(requests[2].body).txn.has_value());
}

TEST_F(ClientTest, GetFoundAndNotFound) {
  Serve([](const Message& m) {
    Reply r;
    if (std::get<GetRequest>(m.body).key == "present") {
      r.found = true;
      r.value = "value";
    }
    return Payloads{FakeCoordinator::Answer(m, r)};
  });
  Result<std::optional<std::string>> present = client_->Get(kTxn, "present");
  ASSERT_TRUE(present.ok());
  EXPECT_EQ(*present, std::optional<std::string>("value"));
  Result<std::optional<std::string>> absent = client_->Get(kTxn, "absent");
  ASSERT_TRUE(absent.ok());
  EXPECT_FALSE(absent->has_value());
}

TEST_F(ClientTest, CommitAndAbortSendTheTxn) {
  ServeReply(Ok());
  EXPECT_TRUE(client_->Commit(kTxn).ok());
  EXPECT_TRUE(client_->Abort(kTxn).ok());
  std::vector<Message> requests = fake_->requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(std::get<CommitRequest>(requests[0].body).txn, kTxn);
  EXPECT_EQ(std::get<AbortRequest>(requests[1].body).txn, kTxn);
}

TEST_F(ClientTest, ReplyWithAnotherRequestIdIsIgnored) {
  Serve([](const Message& m) {
    Reply stale;
    stale.found = true;
    stale.value = "stale";
    Reply fresh;
    fresh.found = true;
    fresh.value = "fresh";
    return Payloads{FakeCoordinator::Answer(m.request_id + 1000, stale),
                    FakeCoordinator::Answer(m, fresh)};
  });
  Result<std::optional<std::string>> value = client_->Get("k");
  ASSERT_TRUE(value.ok()) << value.status().ToString();
  EXPECT_EQ(*value, std::optional<std::string>("fresh"));
}

TEST_F(ClientTest, RequestIdsIncrease) {
  ServeReply(Ok());
  ASSERT_TRUE(client_->Put("a", "1").ok());
  ASSERT_TRUE(client_->Put("b", "2").ok());
  std::vector<Message> requests = fake_->requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_LT(requests[0].request_id, requests[1].request_id);
}

TEST(ClientPingTest, PingReturnsNameAndRole) {
  FakeCoordinator fake([](const Message& m) {
    EXPECT_EQ(m.type(), MsgType::kPing);
    Reply r;
    r.node = "participant-0";
    r.role = "participant";
    return Payloads{FakeCoordinator::Answer(m, r)};
  });
  Result<std::string> pong = Client::Ping(fake.endpoint(), 10000);
  ASSERT_TRUE(pong.ok()) << pong.status().ToString();
  EXPECT_EQ(*pong, "participant-0 (participant)");
}

TEST(StatusFromReplyTest, MapsEveryWireCode) {
  struct Case {
    ErrorCode code;
    Status::Code status;
  };
  const Case cases[] = {
      {ErrorCode::kTxnNotFound, Status::Code::kNotFound},
      {ErrorCode::kTxnAlreadyCommitted, Status::Code::kFailedPrecondition},
      {ErrorCode::kTxnAlreadyAborted, Status::Code::kFailedPrecondition},
      {ErrorCode::kTxnBusy, Status::Code::kFailedPrecondition},
      {ErrorCode::kKeyTooLarge, Status::Code::kInvalidArgument},
      {ErrorCode::kValueTooLarge, Status::Code::kInvalidArgument},
      {ErrorCode::kMalformedRequest, Status::Code::kInvalidArgument},
      {ErrorCode::kUnsupportedVersion, Status::Code::kInvalidArgument},
      {ErrorCode::kParticipantUnavailable, Status::Code::kUnavailable},
      {ErrorCode::kTimeout, Status::Code::kTimedOut},
      {ErrorCode::kOutcomeUnknown, Status::Code::kTimedOut},
      {ErrorCode::kAborted, Status::Code::kAborted},
      {ErrorCode::kInternalError, Status::Code::kInternal},
  };
  for (const Case& c : cases) {
    Status s = StatusFromReply(Reply::Error(c.code, "details"));
    EXPECT_EQ(s.code(), c.status) << ErrorCodeName(c.code);
    EXPECT_EQ(s.message(), std::string(ErrorCodeName(c.code)) + ": details");
  }
  EXPECT_TRUE(StatusFromReply(Reply{}).ok());
}

// ---- Errors ----

TEST_F(ClientTest, ErrorReplyBecomesStatusWithWireName) {
  ServeReply(Reply::Error(ErrorCode::kTxnNotFound, "no transaction T0.1.5"));
  Status s = client_->Commit(kTxn);
  EXPECT_TRUE(s.IsNotFound());
  EXPECT_EQ(s.message(), "TXN_NOT_FOUND: no transaction T0.1.5");
  EXPECT_EQ(client_->last_error_code(), ErrorCode::kTxnNotFound);
  EXPECT_EQ(client_->last_abort_reason(), AbortReason::kNone);
}

TEST_F(ClientTest, AbortedReplyCarriesItsReason) {
  ServeReply(Reply::AbortedBecause(AbortReason::kLockTimeout, "lock wait on key 'x' timed out"));
  Status s = client_->Put(kTxn, "x", "1");
  EXPECT_TRUE(s.IsAborted());
  EXPECT_EQ(s.message(), "ABORTED (LOCK_TIMEOUT): lock wait on key 'x' timed out");
  EXPECT_EQ(client_->last_error_code(), ErrorCode::kAborted);
  EXPECT_EQ(client_->last_abort_reason(), AbortReason::kLockTimeout);
}

TEST_F(ClientTest, SuccessClearsTheLastError) {
  auto calls = std::make_shared<int>(0);  // shared: the handler runs on the fake's thread
  Serve([calls](const Message& m) {
    Reply r = (*calls)++ == 0 ? Reply::Error(ErrorCode::kTxnBusy, "busy") : Reply{};
    return Payloads{FakeCoordinator::Answer(m, r)};
  });
  EXPECT_FALSE(client_->Del(kTxn, "k").ok());
  EXPECT_EQ(client_->last_error_code(), ErrorCode::kTxnBusy);
  EXPECT_TRUE(client_->Del(kTxn, "k").ok());
  EXPECT_EQ(client_->last_error_code(), ErrorCode::kOk);
}

TEST_F(ClientTest, NoReplyTimesOutThenTheClientWorksAgain) {
  auto calls = std::make_shared<int>(0);
  Serve(
      [calls](const Message& m) {
        if ((*calls)++ == 0) return Payloads{};  // swallow the first request
        return Payloads{FakeCoordinator::Answer(m, Reply{})};
      },
      /*timeout_ms=*/200);
  Status s = client_->Commit(kTxn);
  EXPECT_TRUE(s.IsTimedOut()) << s.ToString();
  EXPECT_EQ(s.message().rfind("OUTCOME_UNKNOWN: no reply to COMMIT from " + fake_->endpoint(), 0),
            0u)
      << s.message();
  EXPECT_NE(s.message().find("outcome is unknown"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("kv2pc outcome " + kTxn.ToString()), std::string::npos) << s.message();
  EXPECT_EQ(client_->last_error_code(), ErrorCode::kOutcomeUnknown);
  // The client reconnected; a bounded number of attempts absorbs a slow reconnect.
  Status again;
  for (int attempt = 0; attempt < 10; attempt++) {
    again = client_->Abort(kTxn);
    if (again.ok()) break;
  }
  EXPECT_TRUE(again.ok()) << again.ToString();
}

TEST(ClientUnreachableTest, NoCoordinatorIsUnavailableAndNotSent) {
  std::unique_ptr<Client> client = ConnectTo(DeadEndpoint(), /*timeout_ms=*/100);
  ASSERT_NE(client, nullptr);
  Status s = client->Commit(kTxn);
  EXPECT_TRUE(s.IsUnavailable()) << s.ToString();
  EXPECT_NE(s.message().find("was not sent"), std::string::npos) << s.message();
  EXPECT_EQ(client->last_error_code(), ErrorCode::kTimeout);
  Result<std::string> pong = Client::Ping(DeadEndpoint(), 100);
  EXPECT_FALSE(pong.ok());
}

TEST_F(ClientTest, OversizedKeyOrValueIsRefusedBeforeSending) {
  ServeReply(Ok());
  Status key = client_->Put(std::string(kMaxKeySize + 44, 'k'), "v");
  EXPECT_TRUE(key.IsInvalidArgument());
  EXPECT_EQ(key.message(), "KEY_TOO_LARGE: key is 300 bytes; the limit is 256");
  EXPECT_EQ(client_->last_error_code(), ErrorCode::kKeyTooLarge);
  Status value = client_->Put(kTxn, "k", std::string(kMaxValueSize + 1, 'v'));
  EXPECT_TRUE(value.IsInvalidArgument());
  EXPECT_EQ(value.message().rfind("VALUE_TOO_LARGE: value is 1048577 bytes", 0), 0u);
  EXPECT_TRUE(client_->Get(std::string(kMaxKeySize, 'k')).ok());  // the limit itself is fine
  EXPECT_EQ(fake_->requests().size(), 1u);
}

TEST_F(ClientTest, InvalidTxnIdIsRefusedBeforeSending) {
  ServeReply(Ok());
  Status s = client_->Commit(TxnId{});
  EXPECT_TRUE(s.IsInvalidArgument());
  EXPECT_TRUE(fake_->requests().empty());
}

TEST_F(ClientTest, ReplyOfTheWrongTypeIsInternal) {
  Serve([](const Message& m) {
    return Payloads{EncodeMessage(Message{m.request_id, PingRequest{}})};
  });
  Status s = client_->Put("k", "v");
  EXPECT_EQ(s.code(), Status::Code::kInternal) << s.ToString();
  EXPECT_EQ(client_->last_error_code(), ErrorCode::kInternalError);
}

TEST_F(ClientTest, BeginReplyWithoutTxnIsInternal) {
  ServeReply(Ok());
  Result<TxnId> txn = client_->Begin();
  ASSERT_FALSE(txn.ok());
  EXPECT_EQ(txn.status().code(), Status::Code::kInternal);
}

TEST(ClientConnectTest, BadEndpointOrTimeoutIsInvalidArgument) {
  EXPECT_TRUE(Client::Connect({"not an endpoint", 100}).status().IsInvalidArgument());
  EXPECT_TRUE(Client::Connect({"", 100}).status().IsInvalidArgument());
  EXPECT_TRUE(Client::Connect({"tcp://127.0.0.1:1", 0}).status().IsInvalidArgument());
}

}  // namespace
}  // namespace kv2pc
