// Closing the group consumer in the window where librdkafka 2.0.2 (Debian 12)
// aborts the process: a cooperative-sticky consumer whose JoinGroup succeeded
// but whose SyncGroup never did has no assignor state, and rd_kafka_destroy
// asserts that it has one (`rd_kafka_sticky_assignor_state_destroy: Assertion
// 'assignor_state' failed`; librdkafka issue #4312, fixed in 2.3.0). Seen once
// at a SIGTERM of a daemon of two pipelines (issue 20). The mock cluster puts a
// consumer in that window on demand: every SyncGroup fails with
// REBALANCE_IN_PROGRESS, so the consumer joins and rejoins and is never synced.
#include <gtest/gtest.h>
#include <librdkafka/rdkafkacpp.h>
#include <spdlog/sinks/base_sink.h>

#include <cstdlib>
#include <mutex>
#include <string>
#include <vector>

#include "kafka/kafka_source.h"
#include "kafka/mock_cluster.h"
#include "model/log.h"
#include "model/text.h"
#include "tests/support/test_support.h"

namespace wijkpuls {
namespace {

constexpr int kSyncGroup = 14;              // Kafka API key
constexpr int kRebalanceInProgress = 27;    // Kafka error code
constexpr int kFixedIn = 0x020300ff;        // librdkafka 2.3.0

// Log lines, from librdkafka's threads as well.
class Lines {
 public:
  void Add(std::string line) {
    std::lock_guard<std::mutex> lock(mu_);
    lines_.push_back(std::move(line));
  }
  bool Saw(std::string_view part) {
    std::lock_guard<std::mutex> lock(mu_);
    for (const std::string& l : lines_) {
      if (Contains(l, part)) return true;
    }
    return false;
  }

 private:
  std::mutex mu_;
  std::vector<std::string> lines_;
};

// A consumer has joined its group and failed a SyncGroup since: librdkafka
// has set the group's assignor and never its state.
bool JoinedAndNeverSynced(Lines& lines) {
  return lines.Saw("JoinGroup response: GenerationId") && lines.Saw("SyncGroup response");
}

class RawLog : public RdKafka::EventCb {
 public:
  explicit RawLog(Lines& lines) : lines_(lines) {}
  void event_cb(RdKafka::Event& event) override {
    if (event.type() == RdKafka::Event::EVENT_LOG) lines_.Add(event.str());
  }

 private:
  Lines& lines_;
};

class SpdlogLines : public spdlog::sinks::base_sink<std::mutex> {
 public:
  explicit SpdlogLines(Lines& lines) : lines_(lines) {}

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    lines_.Add(std::string(msg.payload.data(), msg.payload.size()));
  }
  void flush_() override {}

 private:
  Lines& lines_;
};

class FromTheBeginning : public AssignmentHandler {
 public:
  void OnRevoke(const std::vector<TopicPartition>&) override {}
  OffsetMap OnAssign(const std::vector<TopicPartition>&) override { return {}; }
};

std::unique_ptr<MockCluster> ClusterWhoseSyncGroupsFail(const KafkaSettings& settings) {
  absl::StatusOr<std::unique_ptr<MockCluster>> cluster = MockCluster::Start(1);
  if (!cluster.ok() || !(*cluster)->CreateTopic(settings.topics.responses, 2).ok() ||
      !(*cluster)->CreateTopic(settings.topics.withdrawals, 1).ok()) {
    std::fprintf(stderr, "no mock cluster\n");
    std::_Exit(3);
  }
  (*cluster)->PushRequestErrors(kSyncGroup, 100000, kRebalanceInProgress);
  return std::move(*cluster);
}

KafkaSettings Settings() {
  KafkaSettings settings;
  settings.group_id = "close-test";
  settings.group_instance_id = "";
  settings.consumer_properties["debug"] = "cgrp";
  return settings;
}

// The reproduction: a plain librdkafka consumer in that window, destroyed,
// takes the process down. (If this test fails, the reproduction no longer
// reaches the window, and the test below proves nothing.)
TEST(ConsumerCloseDeathTest, LibrdkafkaAbortsDestroyingACooperativeConsumerThatJoinedButNeverSynced) {
  if (RdKafka::version() >= kFixedIn) GTEST_SKIP() << "librdkafka " << RdKafka::version_str() << " has the fix";
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        KafkaSettings settings = Settings();
        std::unique_ptr<MockCluster> cluster = ClusterWhoseSyncGroupsFail(settings);
        Lines lines;
        RawLog log(lines);
        std::string err;
        std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
        for (const auto& [k, v] : std::map<std::string, std::string>{
                 {"bootstrap.servers", cluster->bootstrap()},
                 {"group.id", settings.group_id},
                 {"partition.assignment.strategy", "cooperative-sticky"},
                 {"debug", "cgrp"}}) {
          conf->set(k, v, err);
        }
        conf->set("event_cb", static_cast<RdKafka::EventCb*>(&log), err);
        std::unique_ptr<RdKafka::KafkaConsumer> consumer(RdKafka::KafkaConsumer::create(conf.get(), err));
        consumer->subscribe({settings.topics.responses});
        if (!testing::WaitFor([&] {
              delete consumer->consume(50);
              return JoinedAndNeverSynced(lines);
            }, std::chrono::seconds(60))) {
          std::fprintf(stderr, "the consumer never joined\n");
          std::_Exit(3);
        }
        consumer->close();
        consumer.reset();  // rd_kafka_destroy
        std::_Exit(0);
      },
      "assignor_state");
}

// The daemon's consumer in the same window closes, leaves the group and lets
// the process exit normally (status 0), as at a SIGTERM.
TEST(ConsumerCloseDeathTest, AKafkaSourceThatJoinedButNeverSyncedClosesAndTheProcessExitsCleanly) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        KafkaSettings settings = Settings();
        std::unique_ptr<MockCluster> cluster = ClusterWhoseSyncGroupsFail(settings);
        settings.brokers = cluster->bootstrap();
        Lines lines;
        auto sink = std::make_shared<SpdlogLines>(lines);
        auto logger = std::make_shared<spdlog::logger>("test", sink);
        logger->set_level(spdlog::level::debug);
        spdlog::set_default_logger(logger);
        FromTheBeginning handler;
        absl::StatusOr<std::unique_ptr<KafkaSource>> source = KafkaSource::Make(settings, &handler);
        if (!source.ok()) std::_Exit(3);
        if (!testing::WaitFor([&] {
              (*source)->Poll(std::chrono::milliseconds(50));
              return JoinedAndNeverSynced(lines);
            }, std::chrono::seconds(60))) {
          std::fprintf(stderr, "the consumer never joined\n");
          std::_Exit(3);
        }
        source->reset();  // Close, and the consumer is let go
        cluster.reset();  // its brokers go away: what it would log now is not logged
        std::fprintf(stderr, "closed\n");
        std::exit(0);  // static destructors, sanitizers' exit checks
      },
      ::testing::ExitedWithCode(0), "closed");
}

}  // namespace
}  // namespace wijkpuls
