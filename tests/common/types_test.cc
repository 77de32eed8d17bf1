// TxnId text form and Status/Result basics.
#include "common/types.h"

#include <gtest/gtest.h>

#include "common/status.h"

namespace kv2pc {
namespace {

TEST(TxnIdTest, TextRoundTrip) {
  TxnId t{3, 17, 123456};
  EXPECT_EQ(t.ToString(), "T3.17.123456");
  EXPECT_EQ(TxnId::Parse("T3.17.123456"), t);
  EXPECT_EQ(TxnId::Parse("t0.1.0"), (TxnId{0, 1, 0}));
  EXPECT_FALSE(TxnId::Parse("T3.17").has_value());
  EXPECT_FALSE(TxnId::Parse("T3.0.5").has_value());  // incarnation 0 is never issued
  EXPECT_FALSE(TxnId::Parse("X3.1.5").has_value());
  EXPECT_FALSE(TxnId::Parse("T3.1.5x").has_value());
  EXPECT_FALSE(TxnId::Parse("T99999999999.1.5").has_value());
}

TEST(StatusTest, CodesAndMessages) {
  EXPECT_TRUE(Status::OK().ok());
  Status s = Status::NotFound("T1.1.1");
  EXPECT_TRUE(s.IsNotFound());
  EXPECT_EQ(s.ToString(), "NotFound: T1.1.1");
  EXPECT_EQ(s.WithContext("commit").message(), "commit: T1.1.1");
  Result<int> r(Status::Aborted("x"));
  EXPECT_FALSE(r.ok());
  EXPECT_TRUE(r.status().IsAborted());
  Result<int> bad(Status::OK());  // a Result never holds an OK status
  EXPECT_FALSE(bad.ok());
  Result<int> v(5);
  EXPECT_EQ(*v, 5);
}

}  // namespace
}  // namespace kv2pc
