#include "kafka/mock_cluster.h"

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <vector>

#include "model/text.h"

namespace wijkpuls {

struct MockCluster::Impl {
  rd_kafka_t* handle = nullptr;
  rd_kafka_mock_cluster_t* cluster = nullptr;
  ~Impl() {
    if (cluster) rd_kafka_mock_cluster_destroy(cluster);
    if (handle) rd_kafka_destroy(handle);
  }
};

absl::StatusOr<std::unique_ptr<MockCluster>> MockCluster::Start(int brokers) {
  std::unique_ptr<MockCluster> mc(new MockCluster());
  mc->impl_ = std::make_unique<Impl>();
  mc->brokers_ = brokers;
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "log_level", "3", err, sizeof err);
  mc->impl_->handle = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (!mc->impl_->handle) {
    rd_kafka_conf_destroy(conf);
    return absl::InternalError(Cat("mock cluster: ", err));
  }
  mc->impl_->cluster = rd_kafka_mock_cluster_new(mc->impl_->handle, brokers);
  if (!mc->impl_->cluster) return absl::InternalError("mock cluster: could not be created");
  mc->bootstrap_ = rd_kafka_mock_cluster_bootstraps(mc->impl_->cluster);
  return mc;
}

MockCluster::~MockCluster() = default;

absl::Status MockCluster::CreateTopic(const std::string& name, int partitions) {
  rd_kafka_resp_err_t e = rd_kafka_mock_topic_create(impl_->cluster, name.c_str(), partitions,
                                                     std::min(brokers_, 3));
  if (e != RD_KAFKA_RESP_ERR_NO_ERROR && e != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
    return absl::InternalError(Cat("mock cluster: topic ", name, ": ", rd_kafka_err2str(e)));
  }
  return absl::OkStatus();
}

absl::Status MockCluster::SetBrokersDown(bool down) {
  for (int id = 1; id <= brokers_; ++id) {
    rd_kafka_resp_err_t e = down ? rd_kafka_mock_broker_set_down(impl_->cluster, id)
                                 : rd_kafka_mock_broker_set_up(impl_->cluster, id);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return absl::InternalError(Cat("mock cluster: broker ", id, ": ", rd_kafka_err2str(e)));
    }
  }
  return absl::OkStatus();
}

void MockCluster::PushRequestErrors(int api_key, int count, int error) {
  std::vector<rd_kafka_resp_err_t> errors(static_cast<size_t>(count),
                                          static_cast<rd_kafka_resp_err_t>(error));
  rd_kafka_mock_push_request_errors_array(impl_->cluster, static_cast<int16_t>(api_key),
                                          errors.size(), errors.data());
}

absl::Status MockCluster::SetPartitionLeader(const std::string& topic, int partition, int broker_id) {
  rd_kafka_resp_err_t e = rd_kafka_mock_partition_set_leader(impl_->cluster, topic.c_str(), partition, broker_id);
  if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return absl::InternalError(Cat("mock cluster: leader of ", topic, "/", partition, ": ", rd_kafka_err2str(e)));
  }
  return absl::OkStatus();
}

void MockCluster::ClearRequestErrors(int api_key) {
  rd_kafka_mock_clear_request_errors(impl_->cluster, static_cast<int16_t>(api_key));
}

}  // namespace wijkpuls
