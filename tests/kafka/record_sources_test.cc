// The record sources, the Kafka consumer against the mock cluster and the
// replay file: a record's views and sizes as the pipeline sees them.
#include <gtest/gtest.h>
#include <librdkafka/rdkafkacpp.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <set>
#include <thread>

#include "process/file_source.h"
#include "kafka/kafka_source.h"
#include "kafka/mock_cluster.h"
#include "sim/season_output.h"
#include "model/text.h"
#include "tests/support/test_support.h"
#include "model/digest.h"

namespace wijkpuls {
namespace {

class FromTheBeginning : public AssignmentHandler {
 public:
  void OnRevoke(const std::vector<TopicPartition>&) override {}
  OffsetMap OnAssign(const std::vector<TopicPartition>&) override { return {}; }
};

// A producer to `brokers` that sends what it is given at once (linger.ms 0:
// the test of a cut log needs its records in separate batches); null on
// error, with the reason in `err`.
std::unique_ptr<RdKafka::Producer> TestProducer(const std::string& brokers, std::string& err) {
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  if (conf->set("bootstrap.servers", brokers, err) != RdKafka::Conf::CONF_OK ||
      conf->set("linger.ms", "0", err) != RdKafka::Conf::CONF_OK) {
    return nullptr;
  }
  return std::unique_ptr<RdKafka::Producer>(RdKafka::Producer::create(conf.get(), err));
}

// Queues a copy of `value` for `topic`/`partition`, without key or headers.
RdKafka::ErrorCode Produce(RdKafka::Producer& producer, const std::string& topic, int32_t partition,
                           std::string_view value) {
  return producer.produce(topic, partition, RdKafka::Producer::RK_MSG_COPY, const_cast<char*>(value.data()),
                          value.size(), nullptr, 0, 0, nullptr, nullptr);
}

// A consumer group on `cluster` with the tests' short session (a member
// that left is dropped quickly), dynamic membership.
KafkaSettings GroupSettings(const MockCluster& cluster, const std::string& group) {
  KafkaSettings settings;
  settings.brokers = cluster.bootstrap();
  settings.group_id = group;
  settings.group_instance_id = "";
  settings.consumer_properties["session.timeout.ms"] = "6000";
  settings.consumer_properties["heartbeat.interval.ms"] = "500";
  return settings;
}

// A killed member holds its partitions until its session times out: with
// librdkafka's 45 s a restart after kill -9 waited 89 s for its first commit
// (issue #18, item 11). The consumer joins as a static member whose id is the
// same after every restart of one daemon, and keeps a 10 s session.
TEST(KafkaSource, TheConsumerIsAStaticMemberWithATenSecondSession) {
  KafkaSettings settings;
  settings.brokers = "k1:9092";
  settings.group_instance_id = DefaultGroupInstanceId("host-1", "/var/lib/wijkpuls/state");
  std::map<std::string, std::string> props = ConsumerProperties(settings);
  EXPECT_EQ(props["group.instance.id"], "wijkpuls-host-1-" + Sha256Hex("/var/lib/wijkpuls/state").substr(0, 12));
  EXPECT_EQ(props["session.timeout.ms"], "10000");
  EXPECT_EQ(props["group.id"], "wijkpuls");
  for (const auto& [k, v] : props) EXPECT_EQ(KafkaPropertyError(k, v), "") << k << "=" << v;
  // The configuration overrides; "" is dynamic membership.
  settings.consumer_properties["session.timeout.ms"] = "6000";
  settings.group_instance_id = "";
  props = ConsumerProperties(settings);
  EXPECT_EQ(props["session.timeout.ms"], "6000");
  EXPECT_EQ(props.count("group.instance.id"), 0u);
}

// The default id: stable for a host and state directory, different for
// another directory on the same host (tests run several daemons on one host:
// a shared id would fence one of them) and a valid Kafka id whatever the host
// name holds.
TEST(KafkaSource, TheDefaultInstanceIdIsOnePerHostAndStateDirectory) {
  EXPECT_EQ(DefaultGroupInstanceId("h", "/a/state"), DefaultGroupInstanceId("h", "/a/state"));
  EXPECT_NE(DefaultGroupInstanceId("h", "/a/state"), DefaultGroupInstanceId("h", "/b/state"));
  EXPECT_NE(DefaultGroupInstanceId("h", "/a/state"), DefaultGroupInstanceId("g", "/a/state"));
  const std::string odd = DefaultGroupInstanceId("wéird host:1/" + std::string(300, 'x'), "/a");
  EXPECT_EQ(odd.substr(0, 17), "wijkpuls-w__ird_h");
  EXPECT_LE(odd.size(), 249u);
  for (char c : odd) EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-') << odd;
  EXPECT_FALSE(HostName().empty());
}

// The record limit counts key, value and headers (issue #18, item 10): the
// source reports the bytes of every header's name and value.
TEST(KafkaSource, ARecordCarriesItsKeyValueContentTypeAndTheBytesOfItsHeaders) {
  absl::StatusOr<std::unique_ptr<MockCluster>> cluster = MockCluster::Start(1);
  ASSERT_TRUE(cluster.ok()) << cluster.status();
  KafkaSettings settings;
  settings.brokers = (*cluster)->bootstrap();
  settings.group_id = "kafka-source-test";
  ASSERT_TRUE((*cluster)->CreateTopic(settings.topics.responses, 1).ok());
  ASSERT_TRUE((*cluster)->CreateTopic(settings.topics.withdrawals, 1).ok());

  std::string err;
  std::unique_ptr<RdKafka::Producer> producer = TestProducer(settings.brokers, err);
  ASSERT_TRUE(producer) << err;
  const std::string key(300 * 1024, 'k');
  const std::string value = "{}";
  RdKafka::Headers* headers = RdKafka::Headers::create();
  headers->add("content-type", "application/json");
  headers->add("trace", std::string(1000, 't'));
  ASSERT_EQ(producer->produce(settings.topics.responses, 0, RdKafka::Producer::RK_MSG_COPY,
                              const_cast<char*>(value.data()), value.size(), key.data(), key.size(), 0, headers, nullptr),
            RdKafka::ERR_NO_ERROR);
  ASSERT_EQ(producer->flush(10000), RdKafka::ERR_NO_ERROR);

  FromTheBeginning handler;
  absl::StatusOr<std::unique_ptr<KafkaSource>> source = KafkaSource::Make(settings, &handler);
  ASSERT_TRUE(source.ok()) << source.status();
  std::optional<SourceRecord> r;
  ASSERT_TRUE(testing::WaitFor([&] { return (r = (*source)->Poll(std::chrono::milliseconds(100))).has_value(); },
                               std::chrono::seconds(30)));
  EXPECT_EQ(r->key.size(), key.size());
  EXPECT_EQ(r->value, value);
  EXPECT_EQ(r->content_type, "application/json");
  EXPECT_EQ(r->header_bytes, static_cast<int64_t>(std::string("content-type").size() + std::string("application/json").size() +
                                                  std::string("trace").size() + 1000));
  EXPECT_EQ(RecordBytes(*r), static_cast<int64_t>(key.size() + value.size()) + r->header_bytes);
  (*source)->Close();
}

// Several instances share a group (issue 20): the responses partitions are
// divided among the members (cooperative-sticky), each reading only its own,
// while every member reads every withdrawal (assigned outside the group).
// When a member leaves, the other takes its partitions over, without
// stopping those it had.
TEST(KafkaSource, MembersDivideTheResponsesAndEachReadsEveryWithdrawal) {
  absl::StatusOr<std::unique_ptr<MockCluster>> cluster = MockCluster::Start(1);
  ASSERT_TRUE(cluster.ok()) << cluster.status();
  KafkaSettings settings = GroupSettings(**cluster, "shared-group-test");
  ASSERT_TRUE((*cluster)->CreateTopic(settings.topics.responses, 4).ok());
  ASSERT_TRUE((*cluster)->CreateTopic(settings.topics.withdrawals, 2).ok());
  std::string err;
  std::unique_ptr<RdKafka::Producer> producer = TestProducer(settings.brokers, err);
  ASSERT_TRUE(producer) << err;
  for (int p = 0; p < 4; ++p) ASSERT_EQ(Produce(*producer, settings.topics.responses, p, "x"), RdKafka::ERR_NO_ERROR);
  for (int p = 0; p < 2; ++p) ASSERT_EQ(Produce(*producer, settings.topics.withdrawals, p, "x"), RdKafka::ERR_NO_ERROR);
  ASSERT_EQ(producer->flush(10000), RdKafka::ERR_NO_ERROR);

  FromTheBeginning handler;
  KafkaSettings first_settings = settings, second_settings = settings;
  first_settings.group_instance_id = "first";
  second_settings.group_instance_id = "second";
  absl::StatusOr<std::unique_ptr<KafkaSource>> first = KafkaSource::Make(first_settings, &handler);
  absl::StatusOr<std::unique_ptr<KafkaSource>> second = KafkaSource::Make(second_settings, &handler);
  ASSERT_TRUE(first.ok() && second.ok());
  std::map<std::string, std::vector<std::string>> read;  // member -> "topic/partition" of each record
  auto poll = [&](const char* name, KafkaSource& s) {
    if (std::optional<SourceRecord> r = s.Poll(std::chrono::milliseconds(20))) {
      read[name].push_back(Cat(r->topic, "/", r->partition));
    }
  };
  auto responses_of = [&](const char* name) {
    std::set<std::string> out;
    for (const std::string& tp : read[name]) {
      if (tp.starts_with(settings.topics.responses)) out.insert(tp);
    }
    return out;
  };
  auto withdrawals_of = [&](const char* name) {
    return std::count_if(read[name].begin(), read[name].end(),
                         [&](const std::string& tp) { return tp.starts_with(settings.topics.withdrawals); });
  };
  ASSERT_TRUE(testing::WaitFor([&] {
    poll("first", **first);
    poll("second", **second);
    return responses_of("first").size() + responses_of("second").size() == 4 && withdrawals_of("first") == 2 &&
           withdrawals_of("second") == 2 && (*first)->AtEnd() && (*second)->AtEnd();
  }, std::chrono::seconds(60)))
      << "first read " << Join(read["first"], ",") << "; second read " << Join(read["second"], ",");
  // Each response was read by one member, and each member read some.
  EXPECT_EQ(read["first"].size() + read["second"].size(), 4u + 4u);
  EXPECT_FALSE(responses_of("first").empty());
  EXPECT_FALSE(responses_of("second").empty());
  EXPECT_TRUE((*first)->HeldBack().empty()) << (*first)->HeldBack();

  // The second leaves: the first takes its partitions over and reads them
  // (from the beginning: this handler stores nothing), and nothing else again.
  const std::set<std::string> had = responses_of("first");
  (*second)->Close();
  second->reset();
  read["first"].clear();
  ASSERT_TRUE(testing::WaitFor([&] {
    poll("first", **first);
    return responses_of("first").size() == 4 - had.size() && (*first)->AtEnd();
  }, std::chrono::seconds(60)))
      << "first read " << Join(read["first"], ",");
  for (const std::string& tp : had) EXPECT_FALSE(responses_of("first").count(tp)) << tp << " was read again";
  EXPECT_EQ(withdrawals_of("first"), 0);
  (*first)->Close();
}

// Retention may delete records before this state has read them (a new or
// lost state directory, a daemon down past the topic's retention). Reading on
// from where the log now starts would count a part of the wave as if it were
// all of it: the partition is paused and reported instead, and the others are
// read. kafka.accept_truncated_input reads it anyway. The mock cluster keeps
// about 5 MB per partition, so 7 MB of records cut the log.
// The group's offsets are informational, and were committed after every
// batch. A commit sent while the member rejoins waits behind its JoinGroup,
// is answered "illegal generation" once the group has moved on, and
// librdkafka then drops the member's whole assignment as lost: when another
// member left, the one that stayed lost its partitions too and waited for a
// second rebalance round (seen in `demo --instances 2`: 18-55 s without
// partitions). Now a member that commits after every batch keeps what it
// has, and gains the leaver's partitions in one round.
TEST(KafkaSource, AMemberCommittingAfterEveryBatchKeepsItsPartitionsWhenAnotherLeaves) {
  absl::StatusOr<std::unique_ptr<MockCluster>> cluster = MockCluster::Start(1);
  ASSERT_TRUE(cluster.ok()) << cluster.status();
  KafkaSettings settings = GroupSettings(**cluster, "commit-test");
  ASSERT_TRUE((*cluster)->CreateTopic(settings.topics.responses, 4).ok());
  ASSERT_TRUE((*cluster)->CreateTopic(settings.topics.withdrawals, 1).ok());
  struct Counting : AssignmentHandler {
    std::set<int32_t> held;
    int revoked = 0;
    void OnRevoke(const std::vector<TopicPartition>& ps) override {
      for (const TopicPartition& tp : ps) {
        if (tp.topic != "wijkprofiel.responses.v1") continue;
        held.erase(tp.partition);
        ++revoked;
      }
    }
    OffsetMap OnAssign(const std::vector<TopicPartition>& ps) override {
      for (const TopicPartition& tp : ps) {
        if (tp.topic == "wijkprofiel.responses.v1") held.insert(tp.partition);
      }
      return {};
    }
  } stays, leaves;
  absl::StatusOr<std::unique_ptr<KafkaSource>> a = KafkaSource::Make(settings, &stays);
  ASSERT_TRUE(a.ok()) << a.status();
  absl::StatusOr<std::unique_ptr<KafkaSource>> b = KafkaSource::Make(settings, &leaves);
  ASSERT_TRUE(b.ok()) << b.status();
  auto commit = [&] {  // what the pipeline does after every batch
    OffsetMap offsets;
    for (int32_t p : stays.held) offsets[{settings.topics.responses, p}] = 0;
    (*a)->Committed(offsets);
  };
  ASSERT_TRUE(testing::WaitFor([&] {
    (*a)->Poll(std::chrono::milliseconds(20));
    (*b)->Poll(std::chrono::milliseconds(20));
    commit();
    return stays.held.size() == 2 && leaves.held.size() == 2;
  }, std::chrono::seconds(60)))
      << stays.held.size() << " and " << leaves.held.size();
  stays.revoked = 0;
  std::thread leaving([&] { (*b)->Close(); });
  const bool all = testing::WaitFor([&] {
    (*a)->Poll(std::chrono::milliseconds(20));
    commit();
    return stays.held.size() == 4;
  }, std::chrono::seconds(60));
  leaving.join();
  EXPECT_TRUE(all) << stays.held.size();
  EXPECT_EQ(stays.revoked, 0) << "the member that stayed lost its assignment";
  (*a)->Close();
}

TEST(KafkaSource, APartitionWhoseLogWasCutBeforeThisStateReadItIsNotRead) {
  absl::StatusOr<std::unique_ptr<MockCluster>> cluster = MockCluster::Start(1);
  ASSERT_TRUE(cluster.ok()) << cluster.status();
  KafkaSettings settings = GroupSettings(**cluster, "truncated-test");
  ASSERT_TRUE((*cluster)->CreateTopic(settings.topics.responses, 2).ok());
  ASSERT_TRUE((*cluster)->CreateTopic(settings.topics.withdrawals, 1).ok());
  std::string err;
  std::unique_ptr<RdKafka::Producer> producer = TestProducer(settings.brokers, err);
  ASSERT_TRUE(producer) << err;
  const std::string big(100 * 1024, 'x');
  for (int i = 0; i < 70; ++i) {
    ASSERT_EQ(Produce(*producer, settings.topics.responses, 0, big), RdKafka::ERR_NO_ERROR);
    ASSERT_EQ(producer->flush(10000), RdKafka::ERR_NO_ERROR);
  }
  for (int i = 0; i < 3; ++i) ASSERT_EQ(Produce(*producer, settings.topics.responses, 1, "y"), RdKafka::ERR_NO_ERROR);
  ASSERT_EQ(producer->flush(10000), RdKafka::ERR_NO_ERROR);
  int64_t low = -1, high = -1;
  ASSERT_EQ(producer->query_watermark_offsets(settings.topics.responses, 0, &low, &high, 10000), RdKafka::ERR_NO_ERROR);
  ASSERT_GT(low, 0) << "the mock cluster did not cut the log";
  ASSERT_EQ(high, 70);

  FromTheBeginning handler;  // a state that has read nothing
  absl::StatusOr<std::unique_ptr<KafkaSource>> source = KafkaSource::Make(settings, &handler);
  ASSERT_TRUE(source.ok()) << source.status();
  std::map<int32_t, int> read;
  ASSERT_TRUE(testing::WaitFor([&] {
    if (std::optional<SourceRecord> r = (*source)->Poll(std::chrono::milliseconds(100))) ++read[r->partition];
    return read[1] == 3 && Contains((*source)->HeldBack(), "input log truncated");
  }, std::chrono::seconds(60)))
      << (*source)->HeldBack();
  EXPECT_TRUE(Contains((*source)->HeldBack(), Cat("wijkprofiel.responses.v1/0 starts at offset ", low,
                                                   " but this state has read it only up to offset 0")))
      << (*source)->HeldBack();
  for (int i = 0; i < 20; ++i) {
    if (std::optional<SourceRecord> r = (*source)->Poll(std::chrono::milliseconds(50))) ++read[r->partition];
  }
  EXPECT_EQ(read[0], 0);  // not one record of the cut partition
  EXPECT_FALSE((*source)->AtEnd());
  (*source)->Close();

  // The operator accepts the loss: the partition is read from where it starts.
  settings.group_id = "truncated-test-accepted";
  settings.accept_truncated_input = true;
  absl::StatusOr<std::unique_ptr<KafkaSource>> accepting = KafkaSource::Make(settings, &handler);
  ASSERT_TRUE(accepting.ok()) << accepting.status();
  read.clear();
  ASSERT_TRUE(testing::WaitFor([&] {
    if (std::optional<SourceRecord> r = (*accepting)->Poll(std::chrono::milliseconds(100))) ++read[r->partition];
    return read[0] == high - low && read[1] == 3;
  }, std::chrono::seconds(60)))
      << read[0] << " of " << high - low;
  EXPECT_EQ((*accepting)->HeldBack(), "");
  (*accepting)->Close();
}

// The source checks a record's partition (assigned, not cut, where its first
// record must be, not at its end) once per run of records of one partition,
// not per record: whatever ends a run must be seen. A partition read to its
// end is no longer at its end once another record of it is read, and a
// rewind reads its partition again from the offset asked for.
TEST(KafkaSource, TheEndOfAPartitionAndARewindAreSeenBetweenRecordsOfOnePartition) {
  absl::StatusOr<std::unique_ptr<MockCluster>> cluster = MockCluster::Start(1);
  ASSERT_TRUE(cluster.ok()) << cluster.status();
  KafkaSettings settings = GroupSettings(**cluster, "runs-test");
  ASSERT_TRUE((*cluster)->CreateTopic(settings.topics.responses, 1).ok());
  ASSERT_TRUE((*cluster)->CreateTopic(settings.topics.withdrawals, 1).ok());
  std::string err;
  std::unique_ptr<RdKafka::Producer> producer = TestProducer(settings.brokers, err);
  ASSERT_TRUE(producer) << err;
  auto produce = [&](int n) {
    for (int i = 0; i < n; ++i) ASSERT_EQ(Produce(*producer, settings.topics.responses, 0, "r"), RdKafka::ERR_NO_ERROR);
    ASSERT_EQ(producer->flush(10000), RdKafka::ERR_NO_ERROR);
  };
  produce(3);

  FromTheBeginning handler;
  absl::StatusOr<std::unique_ptr<KafkaSource>> source = KafkaSource::Make(settings, &handler);
  ASSERT_TRUE(source.ok()) << source.status();
  std::vector<int64_t> offsets;
  auto read_until_end = [&] {
    return testing::WaitFor([&] {
      if (std::optional<SourceRecord> r = (*source)->Poll(std::chrono::milliseconds(50))) {
        offsets.push_back(r->offset);
        EXPECT_EQ(r->topic, settings.topics.responses);
      }
      return (*source)->AtEnd();
    }, std::chrono::seconds(30));
  };
  ASSERT_TRUE(read_until_end());
  EXPECT_EQ(offsets, (std::vector<int64_t>{0, 1, 2}));

  // Two more: the first of them ends "at its end".
  produce(2);
  std::optional<SourceRecord> r;
  ASSERT_TRUE(testing::WaitFor([&] { return (r = (*source)->Poll(std::chrono::milliseconds(50))).has_value(); },
                               std::chrono::seconds(30)));
  EXPECT_EQ(r->offset, 3);
  EXPECT_FALSE((*source)->AtEnd()) << "a partition a record was just read from is not at its end";
  offsets = {3};
  ASSERT_TRUE(read_until_end());
  EXPECT_EQ(offsets, (std::vector<int64_t>{3, 4}));

  // A rewind to offset 1 (what a rolled-back batch does): read again from there.
  (*source)->Rewind(OffsetMap{{{settings.topics.responses, 0}, 1}});
  EXPECT_FALSE((*source)->AtEnd());
  offsets.clear();
  ASSERT_TRUE(read_until_end());
  EXPECT_EQ(offsets, (std::vector<int64_t>{1, 2, 3, 4}));
  (*source)->Close();
}

// A replay counts what the same record produced to Kafka counts: the
// content-type is its one header (sim::ProduceToKafka).
TEST(FileSource, ARecordCountsItsContentTypeAsTheHeaderItIsProducedWith) {
  testing::TempDir dir;
  std::vector<sim::SimRecord> records(2);
  records[0].topic = records[1].topic = "wijkprofiel.responses.v1";
  records[0].key = records[1].key = "cool";
  records[0].value = "{}";
  records[0].content_type = "application/json";
  records[1].value = "binary";
  ASSERT_TRUE(sim::WriteRecordFile(records, dir.File("two.rec")).ok());
  FromTheBeginning handler;
  absl::StatusOr<std::unique_ptr<FileSource>> source = FileSource::Open(dir.File("two.rec"), &handler);
  ASSERT_TRUE(source.ok()) << source.status();
  std::optional<SourceRecord> r = (*source)->Poll(std::chrono::milliseconds(0));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->header_bytes, static_cast<int64_t>(std::string("content-type").size() + std::string("application/json").size()));
  EXPECT_EQ(RecordBytes(*r), 4 + 2 + r->header_bytes);
  r = (*source)->Poll(std::chrono::milliseconds(0));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->header_bytes, 0);
  EXPECT_EQ(RecordBytes(*r), 4 + 6);
}

}  // namespace
}  // namespace wijkpuls
