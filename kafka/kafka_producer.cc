#include "kafka/kafka_producer.h"

#include <librdkafka/rdkafkacpp.h>

#include <atomic>

#include "kafka/kafka_stats.h"
#include "model/log.h"
#include "model/text.h"

namespace wijkpuls {

struct KafkaProducer::Impl : public RdKafka::DeliveryReportCb, public RdKafka::EventCb {
  std::string name;
  std::unique_ptr<RdKafka::Producer> producer;
  std::vector<Delivery> deliveries;
  std::atomic<bool> connected{true};  // written by Poll, read from any thread

  void dr_cb(RdKafka::Message& message) override {
    Delivery d;
    d.id = reinterpret_cast<uintptr_t>(message.msg_opaque());
    d.ok = message.err() == RdKafka::ERR_NO_ERROR;
    if (!d.ok) d.error = message.errstr();
    deliveries.push_back(std::move(d));
  }
  void event_cb(RdKafka::Event& event) override {
    if (event.type() == RdKafka::Event::EVENT_STATS) {
      connected = AnyBrokerUp(event.str());
    } else if (event.type() == RdKafka::Event::EVENT_ERROR) {
      spdlog::warn("kafka producer {}: {} ({})", name, event.str(), RdKafka::err2str(event.err()));
    } else if (event.type() == RdKafka::Event::EVENT_LOG && event.severity() <= RdKafka::Event::EVENT_SEVERITY_WARNING) {
      spdlog::info("kafka producer {}: {}", name, event.str());
    }
  }
};

KafkaProducer::KafkaProducer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
KafkaProducer::~KafkaProducer() {
  if (impl_->producer) impl_->producer->flush(2000);
}

absl::StatusOr<std::unique_ptr<KafkaProducer>> KafkaProducer::Make(const KafkaSettings& settings,
                                                                   const std::string& name) {
  auto impl = std::make_unique<Impl>();
  impl->name = name;
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  std::string err;
  auto set = [&](const std::string& k, const std::string& v) -> absl::Status {
    if (conf->set(k, v, err) != RdKafka::Conf::CONF_OK) {
      return absl::InvalidArgumentError(Cat("kafka property ", k, ": ", err));
    }
    return absl::OkStatus();
  };
  std::map<std::string, std::string> props = {
      {"bootstrap.servers", settings.brokers},
      {"client.id", Cat("wijkpuls-", name)},
      {"enable.idempotence", "true"},
      {"acks", "all"},
      {"linger.ms", "5"},
      {"compression.type", "lz4"},
      {"message.timeout.ms", std::to_string(settings.delivery_timeout_ms)},
      {"statistics.interval.ms", "1000"},  // broker connectivity for /readyz
  };
  for (const auto& [k, v] : settings.properties) props[k] = v;
  for (const auto& [k, v] : settings.producer_properties) props[k] = v;
  for (const auto& [k, v] : props) {
    if (absl::Status st = set(k, v); !st.ok()) return st;
  }
  if (conf->set("dr_cb", static_cast<RdKafka::DeliveryReportCb*>(impl.get()), err) != RdKafka::Conf::CONF_OK ||
      conf->set("event_cb", static_cast<RdKafka::EventCb*>(impl.get()), err) != RdKafka::Conf::CONF_OK) {
    return absl::InternalError(Cat("kafka producer ", name, ": ", err));
  }
  impl->producer.reset(RdKafka::Producer::create(conf.get(), err));
  if (!impl->producer) return absl::InvalidArgumentError(Cat("kafka producer ", name, ": ", err));
  return std::unique_ptr<KafkaProducer>(new KafkaProducer(std::move(impl)));
}

absl::Status KafkaProducer::Produce(const OutgoingRecord& r, uint64_t id) {
  RdKafka::Headers* headers = nullptr;
  if (!r.headers.empty()) {
    headers = RdKafka::Headers::create();
    for (const auto& [k, v] : r.headers) headers->add(k, v.data(), v.size());
  }
  RdKafka::ErrorCode code = impl_->producer->produce(
      r.topic, r.partition < 0 ? RdKafka::Topic::PARTITION_UA : r.partition, RdKafka::Producer::RK_MSG_COPY,
      const_cast<char*>(r.value.data()), r.value.size(), r.key.data(), r.key.size(), 0, headers,
      reinterpret_cast<void*>(static_cast<uintptr_t>(id)));
  if (code == RdKafka::ERR_NO_ERROR) return absl::OkStatus();
  delete headers;  // not taken over on failure
  if (code == RdKafka::ERR__QUEUE_FULL) return absl::ResourceExhaustedError("producer queue full");
  return absl::UnavailableError(Cat("produce to ", r.topic, ": ", RdKafka::err2str(code)));
}

std::vector<Delivery> KafkaProducer::Poll(int timeout_ms) {
  impl_->producer->poll(timeout_ms);
  return std::exchange(impl_->deliveries, {});
}

std::vector<Delivery> KafkaProducer::Flush(int timeout_ms) {
  impl_->producer->flush(timeout_ms);
  impl_->producer->poll(0);
  return std::exchange(impl_->deliveries, {});
}

bool KafkaProducer::Connected() const { return impl_->connected; }

int KafkaProducer::QueueLength() const { return impl_->producer->outq_len(); }

bool KafkaProducer::Fatal(std::string* why) const {
  std::string err;
  if (impl_->producer->fatal_error(err) == RdKafka::ERR_NO_ERROR) return false;
  if (why) *why = err;
  return true;
}

}  // namespace wijkpuls
