// The Kafka dead-letter sink against the mock cluster: what it counts as
// failed when the dead-letter topic cannot take records.
#include "kafka/kafka_dead_letters.h"

#include <gtest/gtest.h>

#include "kafka/mock_cluster.h"

namespace wijkpuls {
namespace {

constexpr const char* kRejected = "wijkprofiel.responses.rejected.v1";

OutgoingRecord Letter(int i) {
  return OutgoingRecord{kRejected, 0, "cool", "rejection " + std::to_string(i), {}};
}

// A partition without a leader answers no produce request with an error: the
// letters wait in librdkafka until their delivery timeout, longer than the
// pipeline waits for them. Their batch is abandoned; they were counted
// nowhere, so wijkpuls_dead_letter_errors_total stayed 0 through a 100 s
// outage with 3 batches redone (issue #18, F3).
TEST(KafkaDeadLetters, LettersStillUndeliveredWhenTheirBatchIsAbandonedAreCountedAsFailures) {
  absl::StatusOr<std::unique_ptr<MockCluster>> cluster = MockCluster::Start(1);
  ASSERT_TRUE(cluster.ok()) << cluster.status();
  ASSERT_TRUE((*cluster)->CreateTopic(kRejected, 1).ok());
  ASSERT_TRUE((*cluster)->SetPartitionLeader(kRejected, 0, -1).ok());
  KafkaSettings settings;
  settings.brokers = (*cluster)->bootstrap();
  settings.delivery_timeout_ms = 300'000;  // no delivery report comes within the test
  absl::StatusOr<std::unique_ptr<KafkaDeadLetters>> sink = KafkaDeadLetters::Make(settings);
  ASSERT_TRUE(sink.ok()) << sink.status();
  KafkaDeadLetters& dl = **sink;

  for (int i = 0; i < 3; ++i) dl.Send(Letter(i));
  EXPECT_TRUE(absl::IsUnavailable(dl.Flush(std::chrono::milliseconds(1500))));
  EXPECT_EQ(dl.Failures(), 0u);  // no attempt failed: they wait
  EXPECT_EQ(dl.Pending(), 3u);
  dl.Discard();  // the batch is abandoned
  EXPECT_EQ(dl.Pending(), 0u);
  EXPECT_EQ(dl.Failures(), 3u);

  // Redone: the same three again, abandoned again.
  for (int i = 0; i < 3; ++i) dl.Send(Letter(i));
  EXPECT_TRUE(absl::IsUnavailable(dl.Flush(std::chrono::milliseconds(500))));
  dl.Discard();
  EXPECT_EQ(dl.Failures(), 6u);

  // A batch abandoned for another reason (a state read failed) before its
  // letters were waited for: they did not fail.
  dl.Send(Letter(9));
  dl.Discard();
  EXPECT_EQ(dl.Failures(), 6u);

  // The leader is back: delivered, nothing more counted.
  ASSERT_TRUE((*cluster)->SetPartitionLeader(kRejected, 0, 1).ok());
  dl.Send(Letter(10));
  EXPECT_TRUE(dl.Flush(std::chrono::seconds(30)).ok());
  EXPECT_EQ(dl.Failures(), 6u);
}

// After an outage whose letters were all delivered, the sink says it is
// connected, though nothing polls its producer any more: a stale "down" kept
// /readyz at 503 for good once the season's last dead letters were out
// (crash_test.faults in CI, 2026-12-06).
TEST(KafkaDeadLetters, AfterAnOutageWhoseLettersWereDeliveredTheSinkSaysItIsConnected) {
  absl::StatusOr<std::unique_ptr<MockCluster>> cluster = MockCluster::Start(1);
  ASSERT_TRUE(cluster.ok()) << cluster.status();
  ASSERT_TRUE((*cluster)->CreateTopic(kRejected, 1).ok());
  KafkaSettings settings;
  settings.brokers = (*cluster)->bootstrap();
  absl::StatusOr<std::unique_ptr<KafkaDeadLetters>> sink = KafkaDeadLetters::Make(settings);
  ASSERT_TRUE(sink.ok()) << sink.status();
  KafkaDeadLetters& dl = **sink;
  dl.Send(Letter(0));
  ASSERT_TRUE(dl.Flush(std::chrono::seconds(30)).ok());
  EXPECT_TRUE(dl.Connected());

  ASSERT_TRUE((*cluster)->SetBrokersDown(true).ok());
  dl.Send(Letter(1));
  // Statistics come every second, served while the letter waits.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (dl.Connected() && std::chrono::steady_clock::now() < deadline) {
    EXPECT_TRUE(absl::IsUnavailable(dl.Flush(std::chrono::milliseconds(200))));
  }
  EXPECT_FALSE(dl.Connected()) << "a letter waits and no broker is up";

  ASSERT_TRUE((*cluster)->SetBrokersDown(false).ok());
  ASSERT_TRUE(dl.Flush(std::chrono::seconds(60)).ok());
  EXPECT_EQ(dl.Pending(), 0u);
  EXPECT_TRUE(dl.Connected()) << "nothing waits: the last statistics served before the delivery are stale";
}

}  // namespace
}  // namespace wijkpuls
