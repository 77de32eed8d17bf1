// The list-append checker on hand-made histories: each anomaly it must flag, and valid
// histories (serial, concurrent, with failed and info transactions, reading own writes) it
// must not. Histories are written in the text format of list_append.h.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "tests/history/list_append.h"

namespace kv2pc::history {
namespace {

// Parses and checks `text`; a parse error fails the test (and checks an empty history).
CheckResult CheckText(std::string_view text) {
  Result<History> history = ParseHistory(text);
  if (!history.ok()) {
    ADD_FAILURE() << "unparseable test history: " << history.status().ToString();
    return {};
  }
  return Check(*history);
}

std::set<AnomalyKind> Kinds(const CheckResult& result) {
  std::set<AnomalyKind> kinds;
  for (const Anomaly& a : result.anomalies) kinds.insert(a.kind);
  return kinds;
}

std::set<int> Txns(const Anomaly& anomaly) {
  return std::set<int>(anomaly.txns.begin(), anomaly.txns.end());
}

// The edges of a cycle must chain: each starts where the previous ended, and the last ends
// where the first started; `txns` lists their tails in order.
void ExpectWellFormedCycle(const Anomaly& a) {
  ASSERT_FALSE(a.cycle.empty()) << a.explanation;
  ASSERT_EQ(a.cycle.size(), a.txns.size()) << a.explanation;
  for (size_t i = 0; i < a.cycle.size(); i++) {
    EXPECT_EQ(a.cycle[i].from, a.txns[i]) << a.explanation;
    EXPECT_EQ(a.cycle[i].to, a.cycle[(i + 1) % a.cycle.size()].from) << a.explanation;
  }
}

int CountEdges(const Anomaly& a, DepType type) {
  return static_cast<int>(std::count_if(a.cycle.begin(), a.cycle.end(),
                                        [type](const Dependency& d) { return d.type == type; }));
}

// ---- The text format --------------------------------------------------------------------

TEST(ListAppendFormatTest, ParsesEveryOpAndStatus) {
  Result<History> h = ParseHistory(
      "# a comment\n"
      "ok   T1: append x 1; read y [1 2]\n"
      "\n"
      "fail T22: read x []; append x -3\n"
      "info T3: read z ?\n"
      "ok T4:\n");
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  ASSERT_EQ(h->txns.size(), 4u);
  EXPECT_EQ(h->txns[0].id, 1);
  EXPECT_EQ(h->txns[0].status, TxnStatus::kOk);
  ASSERT_EQ(h->txns[0].ops.size(), 2u);
  EXPECT_EQ(h->txns[0].ops[0], MicroOp::Append("x", 1));
  EXPECT_EQ(h->txns[0].ops[1], MicroOp::Read("y", std::vector<int64_t>{1, 2}));
  EXPECT_EQ(h->txns[1].id, 22);
  EXPECT_EQ(h->txns[1].status, TxnStatus::kFail);
  EXPECT_EQ(h->txns[1].ops[0], MicroOp::Read("x", std::vector<int64_t>{}));
  EXPECT_EQ(h->txns[1].ops[1], MicroOp::Append("x", -3));
  EXPECT_EQ(h->txns[2].status, TxnStatus::kInfo);
  EXPECT_EQ(h->txns[2].ops[0], MicroOp::Read("z", std::nullopt));
  EXPECT_TRUE(h->txns[3].ops.empty());
}

TEST(ListAppendFormatTest, ToStringParsesBackToTheSameHistory) {
  const char* text =
      "ok T1: append x 1; read y [1 2]\n"
      "fail T2: read x []; append x 3\n"
      "info T3: read z ?\n";
  Result<History> h = ParseHistory(text);
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  EXPECT_EQ(h->ToString(), text);
  Result<History> again = ParseHistory(h->ToString());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *h);
}

TEST(ListAppendFormatTest, RejectsMalformedLinesNamingTheLine) {
  for (const char* bad : {
           "okay T1: append x 1",       // status
           "ok 1: append x 1",          // name
           "ok T1 append x 1",          // no colon
           "ok T1: write x 1",          // op
           "ok T1: append x",           // no value
           "ok T1: append x 1 2",       // two values
           "ok T1: append x one",       // not an integer
           "ok T1: read x 1 2",         // no brackets
           "ok T1: read x [1 b]",       // not an integer
           "ok T1: read",               // no key
           "ok T1: append x 1\nok T1:"  // repeated id
       }) {
    Result<History> h = ParseHistory(bad);
    EXPECT_FALSE(h.ok()) << bad;
    EXPECT_TRUE(h.status().IsInvalidArgument()) << bad;
    EXPECT_NE(h.status().message().find("line "), std::string::npos) << h.status().ToString();
  }
}

// ---- Cycles -----------------------------------------------------------------------------

TEST(ListAppendCheckerTest, FlagsG0WriteCycle) {
  // T1 and T2 both append to x and y; the final reads order them T1, T2 on x but T2, T1 on y.
  CheckResult r = CheckText(
      "ok T1: append x 1; append y 2\n"
      "ok T2: append x 3; append y 4\n"
      "ok T3: read x [1 3]; read y [4 2]\n");
  ASSERT_EQ(r.anomalies.size(), 1u) << r.ToString();
  const Anomaly& a = r.anomalies[0];
  EXPECT_EQ(a.kind, AnomalyKind::kG0) << r.ToString();
  EXPECT_EQ(a.txns, (std::vector<int>{1, 2}));
  ExpectWellFormedCycle(a);
  EXPECT_EQ(CountEdges(a, DepType::kWW), 2);
  EXPECT_EQ(a.explanation, "G0 cycle: T1 -ww(x)-> T2 -ww(y)-> T1");
}

TEST(ListAppendCheckerTest, FlagsG1cCircularInformationFlow) {
  // T1 read T2's append to y, yet T2's append to x came after T1's.
  CheckResult r = CheckText(
      "ok T1: append x 1; read y [2]\n"
      "ok T2: append y 2; append x 3\n"
      "ok T3: read x [1 3]\n");
  ASSERT_EQ(r.anomalies.size(), 1u) << r.ToString();
  const Anomaly& a = r.anomalies[0];
  EXPECT_EQ(a.kind, AnomalyKind::kG1c) << r.ToString();
  EXPECT_EQ(Txns(a), (std::set<int>{1, 2}));
  ExpectWellFormedCycle(a);
  EXPECT_EQ(CountEdges(a, DepType::kWR), 1);
  EXPECT_EQ(CountEdges(a, DepType::kRW), 0);
  EXPECT_EQ(a.explanation, "G1c cycle: T1 -ww(x)-> T2 -wr(y)-> T1");
}

TEST(ListAppendCheckerTest, FlagsG1cWithWriteReadEdgesOnly) {
  CheckResult r = CheckText(
      "ok T1: append x 1; read y [2]\n"
      "ok T2: append y 2; read x [1]\n");
  ASSERT_EQ(Kinds(r), std::set<AnomalyKind>{AnomalyKind::kG1c}) << r.ToString();
  EXPECT_EQ(r.anomalies[0].explanation, "G1c cycle: T1 -wr(x)-> T2 -wr(y)-> T1");
}

TEST(ListAppendCheckerTest, FlagsG2WriteSkew) {
  // Each read the other's key empty and then appended to its own: no serial order has both.
  CheckResult r = CheckText(
      "ok T1: read x []; append y 1\n"
      "ok T2: read y []; append x 2\n"
      "ok T3: read x [2]; read y [1]\n");
  ASSERT_EQ(r.anomalies.size(), 1u) << r.ToString();
  const Anomaly& a = r.anomalies[0];
  EXPECT_EQ(a.kind, AnomalyKind::kG2) << r.ToString();
  EXPECT_EQ(a.txns, (std::vector<int>{1, 2}));
  ExpectWellFormedCycle(a);
  EXPECT_EQ(CountEdges(a, DepType::kRW), 2);
  EXPECT_EQ(a.explanation, "G2 cycle: T1 -rw(x)-> T2 -rw(y)-> T1");
}

TEST(ListAppendCheckerTest, FlagsGSingleReadSkew) {
  // T1 saw x before T2 and y after it.
  CheckResult r = CheckText(
      "ok T1: read x []; read y [2]\n"
      "ok T2: append x 1; append y 2\n"
      "ok T3: read x [1]; read y [2]\n");
  ASSERT_EQ(r.anomalies.size(), 1u) << r.ToString();
  const Anomaly& a = r.anomalies[0];
  EXPECT_EQ(a.kind, AnomalyKind::kGSingle) << r.ToString();
  EXPECT_EQ(Txns(a), (std::set<int>{1, 2}));
  ExpectWellFormedCycle(a);
  EXPECT_EQ(CountEdges(a, DepType::kRW), 1);
  EXPECT_EQ(a.explanation, "G-single cycle: T1 -rw(x)-> T2 -wr(y)-> T1");
}

TEST(ListAppendCheckerTest, FindsTheWholeOfALongCycle) {
  // Five transactions in a ring of anti-dependencies: Ti read k<i> empty, appended k<i+1>.
  CheckResult r = CheckText(
      "ok T1: read k1 []; append k2 12\n"
      "ok T2: read k2 []; append k3 23\n"
      "ok T3: read k3 []; append k4 34\n"
      "ok T4: read k4 []; append k5 45\n"
      "ok T5: read k5 []; append k1 51\n"
      "ok T6: read k1 [51]; read k2 [12]; read k3 [23]; read k4 [34]; read k5 [45]\n");
  ASSERT_EQ(r.anomalies.size(), 1u) << r.ToString();
  const Anomaly& a = r.anomalies[0];
  EXPECT_EQ(a.kind, AnomalyKind::kG2);
  EXPECT_EQ(a.txns, (std::vector<int>{1, 5, 4, 3, 2}));
  ExpectWellFormedCycle(a);
  EXPECT_EQ(a.explanation,
            "G2 cycle: T1 -rw(k1)-> T5 -rw(k5)-> T4 -rw(k4)-> T3 -rw(k3)-> T2 -rw(k2)-> T1");
}

TEST(ListAppendCheckerTest, ReportsSeparateCyclesSeparately) {
  // A G0 between T1 and T2 and, on other keys, a G2 between T3 and T4.
  CheckResult r = CheckText(
      "ok T1: append x 1; append y 2\n"
      "ok T2: append x 3; append y 4\n"
      "ok T3: read a []; append b 1\n"
      "ok T4: read b []; append a 2\n"
      "ok T5: read x [1 3]; read y [4 2]; read a [2]; read b [1]\n");
  ASSERT_EQ(r.anomalies.size(), 2u) << r.ToString();
  ASSERT_EQ(r.Of(AnomalyKind::kG0).size(), 1u) << r.ToString();
  ASSERT_EQ(r.Of(AnomalyKind::kG2).size(), 1u) << r.ToString();
  EXPECT_EQ(Txns(r.Of(AnomalyKind::kG0)[0]), (std::set<int>{1, 2}));
  EXPECT_EQ(Txns(r.Of(AnomalyKind::kG2)[0]), (std::set<int>{3, 4}));
}

TEST(ListAppendCheckerTest, ObservedInfoTransactionIsPartOfTheGraph) {
  // T1's outcome is unknown, but T3 read its append: it committed, and made a write skew.
  CheckResult r = CheckText(
      "info T1: read x []; append y 1\n"
      "ok T2: read y []; append x 2\n"
      "ok T3: read x [2]; read y [1]\n");
  EXPECT_EQ(r.info_observed, 1);
  ASSERT_EQ(Kinds(r), std::set<AnomalyKind>{AnomalyKind::kG2}) << r.ToString();
  EXPECT_EQ(Txns(r.anomalies[0]), (std::set<int>{1, 2}));
}

TEST(ListAppendCheckerTest, InfoTransactionObservedOnlyThroughAnotherInfoCounts) {
  // T4 read T2's append, so T2 committed; T2 read T1's, so T1 committed too. T1 and T3 then
  // form a write skew on x and y.
  CheckResult r = CheckText(
      "info T1: read x []; append y 1\n"
      "info T2: read y [1]; append w 7\n"
      "ok T3: read y []; append x 3\n"
      "ok T4: read x [3]; read w [7]\n");
  EXPECT_EQ(r.info_observed, 2);
  ASSERT_EQ(Kinds(r), std::set<AnomalyKind>{AnomalyKind::kG2}) << r.ToString();
  EXPECT_EQ(r.anomalies[0].explanation, "G2 cycle: T1 -rw(x)-> T3 -rw(y)-> T1");
}

// ---- Anomalies without cycles -----------------------------------------------------------

TEST(ListAppendCheckerTest, FlagsG1aAbortedRead) {
  CheckResult r = CheckText(
      "fail T1: append x 1\n"
      "ok T2: read x [1]\n");
  ASSERT_EQ(r.anomalies.size(), 1u) << r.ToString();
  EXPECT_EQ(r.anomalies[0].kind, AnomalyKind::kG1a);
  EXPECT_EQ(r.anomalies[0].txns, (std::vector<int>{2, 1}));
  EXPECT_NE(r.anomalies[0].explanation.find("failed T1"), std::string::npos)
      << r.anomalies[0].explanation;
}

TEST(ListAppendCheckerTest, FlagsG1bIntermediateRead) {
  // T2 saw T1's first append to x but not its second. That also makes a G-single cycle: T2
  // read from T1 and T1 overwrote what T2 read.
  CheckResult r = CheckText(
      "ok T1: append x 1; append x 2\n"
      "ok T2: read x [1]\n"
      "ok T3: read x [1 2]\n");
  ASSERT_EQ(r.Of(AnomalyKind::kG1b).size(), 1u) << r.ToString();
  EXPECT_EQ(r.Of(AnomalyKind::kG1b)[0].txns, (std::vector<int>{2, 1}));
  ASSERT_EQ(Kinds(r), (std::set<AnomalyKind>{AnomalyKind::kG1b, AnomalyKind::kGSingle}))
      << r.ToString();
  EXPECT_EQ(r.Of(AnomalyKind::kGSingle)[0].explanation,
            "G-single cycle: T1 -wr(x)-> T2 -rw(x)-> T1");
}

TEST(ListAppendCheckerTest, FlagsIncompatibleOrders) {
  CheckResult r = CheckText(
      "ok T1: append x 1\n"
      "ok T2: append x 2\n"
      "ok T3: read x [1 2]\n"
      "ok T4: read x [2 1]\n"
      "ok T5: append y 5\n"
      "ok T6: append y 6\n"
      "ok T7: read y [5 6]\n"
      "ok T8: read y [6]\n");
  ASSERT_EQ(r.anomalies.size(), 2u) << r.ToString();
  for (const Anomaly& a : r.anomalies) EXPECT_EQ(a.kind, AnomalyKind::kIncompatibleOrder);
  EXPECT_EQ(Txns(r.anomalies[0]), (std::set<int>{3, 4}));
  EXPECT_EQ(Txns(r.anomalies[1]), (std::set<int>{7, 8}));
  EXPECT_NE(r.anomalies[0].explanation.find("[2 1]"), std::string::npos);
}

TEST(ListAppendCheckerTest, FlagsDuplicateElements) {
  CheckResult r = CheckText(
      "ok T1: append x 1\n"
      "ok T2: append x 2\n"
      "ok T3: read x [1 2 1]\n");
  ASSERT_EQ(r.anomalies.size(), 1u) << r.ToString();
  EXPECT_EQ(r.anomalies[0].kind, AnomalyKind::kDuplicateElements);
  EXPECT_EQ(r.anomalies[0].txns, (std::vector<int>{3}));
}

TEST(ListAppendCheckerTest, FlagsElementsNobodyAppended) {
  CheckResult r = CheckText(
      "ok T1: append x 1\n"
      "ok T2: read x [1 9]\n");
  ASSERT_EQ(Kinds(r), std::set<AnomalyKind>{AnomalyKind::kUnknownElement}) << r.ToString();
  EXPECT_NE(r.anomalies[0].explanation.find("[9]"), std::string::npos);
}

TEST(ListAppendCheckerTest, FlagsReadsContradictingTheTransactionsOwnWrites) {
  for (const char* text : {
           "ok T1: append x 1; read x []\n",                // lost its own append
           "ok T1: read x []; append x 1; read x [2 1]\n",  // not what it read before
           "ok T1: read x [1]; append x 1\n",               // read its append before making it
       }) {
    CheckResult r = CheckText(text);
    ASSERT_FALSE(r.Of(AnomalyKind::kInternal).empty()) << text << r.ToString();
    EXPECT_EQ(r.Of(AnomalyKind::kInternal)[0].txns, (std::vector<int>{1}));
  }
}

TEST(ListAppendCheckerTest, FlagsTheSameValueAppendedTwice) {
  CheckResult r = CheckText(
      "ok T1: append x 1\n"
      "ok T2: append x 1\n");
  ASSERT_EQ(Kinds(r), std::set<AnomalyKind>{AnomalyKind::kMalformed}) << r.ToString();
  EXPECT_EQ(Txns(r.anomalies[0]), (std::set<int>{1, 2}));
}

// ---- Valid histories --------------------------------------------------------------------

TEST(ListAppendCheckerTest, SerialHistoryIsValid) {
  CheckResult r = CheckText(
      "ok T1: read x []; append x 1\n"
      "ok T2: read x [1]; append x 2; append y 3\n"
      "ok T3: read y [3]; read x [1 2]\n"
      "ok T4: append y 4\n"
      "ok T5: read x [1 2]; read y [3 4]\n");
  EXPECT_TRUE(r.valid()) << r.ToString();
  // The graph was built (T1 T2 T3 T4 T5 is its only topological order), not skipped.
  EXPECT_EQ(r.ww_edges, 2);  // x: T1 -> T2; y: T2 -> T4
  EXPECT_EQ(r.wr_edges, 5);  // T1 -> T2, T2 -> T3 (x and y), T2 -> T5, T4 -> T5
  EXPECT_EQ(r.rw_edges, 1);  // T3 read y [3] before T4 appended 4
  EXPECT_EQ(r.keys, 2);
}

TEST(ListAppendCheckerTest, ConcurrentSerializableHistoryWithFailedAndInfoTxnsIsValid) {
  CheckResult r = CheckText(
      "ok T1: append x 1\n"
      "fail T2: append x 2; read y [42]\n"  // aborted: its writes unseen, its reads ignored
      "info T3: append y 3\n"               // unknown outcome, seen by T5: committed
      "info T4: append x 4; read y []\n"    // unknown outcome, never seen: maybe not committed
      "ok T5: read y [3]; append x 5\n"
      "ok T6: read x [1 5]; read y [3]\n"
      "ok T7: read x [1]; append z 7\n"  // ran before T5: a rw edge to it
      "ok T8: read z [7]; read x [1 5]\n");
  EXPECT_TRUE(r.valid()) << r.ToString();
  EXPECT_EQ(r.ok_txns, 5);
  EXPECT_EQ(r.failed_txns, 1);
  EXPECT_EQ(r.info_txns, 2);
  EXPECT_EQ(r.info_observed, 1);
  EXPECT_GT(r.rw_edges, 0);
}

TEST(ListAppendCheckerTest, UnobservedInfoTransactionIsLeftOutOfTheGraph) {
  // As the write skew above, but nobody read T1's append: it may never have committed, and
  // without it there is no cycle.
  CheckResult r = CheckText(
      "info T1: read x []; append y 1\n"
      "ok T2: read y []; append x 2\n"
      "ok T3: read x [2]; read y []\n");
  EXPECT_TRUE(r.valid()) << r.ToString();
  EXPECT_EQ(r.info_observed, 0);
}

TEST(ListAppendCheckerTest, ReadingYourOwnWritesIsValid) {
  // T1 reads its own intermediate append (not a G1b: it is its own) and no edge goes from a
  // transaction to itself.
  CheckResult r = CheckText(
      "ok T1: append x 1; read x [1]; append x 2; read x [1 2]\n"
      "ok T2: read x [1 2]; append x 3; read x [1 2 3]; append y 4; read y [4]\n"
      "ok T3: read x [1 2 3]; read y [4]\n");
  EXPECT_TRUE(r.valid()) << r.ToString();
  EXPECT_EQ(r.ww_edges, 1);  // x: T1 -> T2
  EXPECT_EQ(r.wr_edges, 3);  // T1 -> T2 (x), T2 -> T3 (x and y)
  EXPECT_EQ(r.rw_edges, 0);
}

TEST(ListAppendCheckerTest, UnknownReadResultsAreIgnored) {
  CheckResult r = CheckText(
      "ok T1: append x 1\n"
      "info T2: read x ?; append x 2\n"
      "ok T3: read x [1]\n");
  EXPECT_TRUE(r.valid()) << r.ToString();
}

TEST(ListAppendCheckerTest, EmptyHistoryIsValid) {
  CheckResult r = Check(History{});
  EXPECT_TRUE(r.valid());
  EXPECT_NE(r.ToString().find("no anomalies"), std::string::npos) << r.ToString();
}

TEST(ListAppendCheckerTest, ToStringNamesTheCycleAndShowsItsTransactions) {
  CheckResult r = CheckText(
      "ok T1: read x []; append y 1\n"
      "ok T2: read y []; append x 2\n"
      "ok T3: read x [2]; read y [1]\n");
  std::string s = r.ToString();
  EXPECT_NE(s.find("1 anomaly:"), std::string::npos) << s;
  EXPECT_NE(s.find("G2 cycle: T1 -rw(x)-> T2 -rw(y)-> T1"), std::string::npos) << s;
  EXPECT_NE(s.find("ok T1: read x []; append y 1"), std::string::npos) << s;
  EXPECT_NE(s.find("ok T2: read y []; append x 2"), std::string::npos) << s;
  EXPECT_EQ(s.find("ok T3"), std::string::npos) << s;  // not involved
}

}  // namespace
}  // namespace kv2pc::history
