// The record sources, the Kafka consumer against the mock cluster and the
// replay file: a record's views and sizes as the pipeline sees them.
#include <gtest/gtest.h>
#include <librdkafka/rdkafkacpp.h>

#include "process/file_source.h"
#include "kafka/kafka_source.h"
#include "kafka/mock_cluster.h"
#include "sim/season_output.h"
#include "tests/support/test_support.h"

namespace wijkpuls {
namespace {

class FromTheBeginning : public AssignmentHandler {
 public:
  void OnRevoke(const std::vector<TopicPartition>&) override {}
  OffsetMap OnAssign(const std::vector<TopicPartition>&) override { return {}; }
};

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
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  ASSERT_EQ(conf->set("bootstrap.servers", settings.brokers, err), RdKafka::Conf::CONF_OK) << err;
  std::unique_ptr<RdKafka::Producer> producer(RdKafka::Producer::create(conf.get(), err));
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
