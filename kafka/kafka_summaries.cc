#include "kafka/kafka_summaries.h"

#include <librdkafka/rdkafkacpp.h>
#include <pthread.h>

#include <atomic>
#include <mutex>
#include <set>
#include <thread>

#include "model/log.h"
#include "model/text.h"

namespace wijkpuls {

struct SummariesReader::Impl {
  KafkaSettings settings;
  int indicator_count = 0;
  Handler handler;
  Health* health = nullptr;
  std::unique_ptr<RdKafka::KafkaConsumer> consumer;
  std::thread thread;
  std::atomic<bool> stop{false};

  mutable std::mutex mu;
  std::string status = "not started";
  bool caught_up = false;
  Counts counts;

  void SetStatus(std::string s, bool up) {
    if (health != nullptr) health->Set("summaries", up ? "" : s, /*log=*/false);
    std::lock_guard<std::mutex> lock(mu);
    status = std::move(s);
    caught_up = up;
  }

  // The topic's partitions, or an empty list (it does not exist, or the
  // brokers cannot be reached).
  std::vector<int32_t> Partitions() {
    RdKafka::Metadata* md = nullptr;
    std::string err;
    std::unique_ptr<RdKafka::Topic> topic(RdKafka::Topic::create(consumer.get(), settings.topics.summaries, nullptr, err));
    if (!topic || consumer->metadata(false, topic.get(), &md, 5000) != RdKafka::ERR_NO_ERROR) return {};
    std::unique_ptr<RdKafka::Metadata> owned(md);
    std::vector<int32_t> out;
    for (const RdKafka::TopicMetadata* t : *md->topics()) {
      if (t->topic() != settings.topics.summaries || t->err() != RdKafka::ERR_NO_ERROR) continue;
      for (const RdKafka::PartitionMetadata* p : *t->partitions()) out.push_back(p->id());
    }
    return out;
  }

  void Loop() {
    pthread_setname_np(pthread_self(), "wp-summaries");
    std::vector<int32_t> partitions;
    while (!stop.load() && partitions.empty()) {
      partitions = Partitions();
      if (partitions.empty()) {
        SetStatus(Cat("the summaries topic ", settings.topics.summaries, " cannot be read (missing, or no broker)"),
                  false);
        for (int i = 0; i < 10 && !stop.load(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
    }
    if (stop.load()) return;
    std::vector<RdKafka::TopicPartition*> tps;
    for (int32_t p : partitions) {
      tps.push_back(RdKafka::TopicPartition::create(settings.topics.summaries, p, RdKafka::Topic::OFFSET_BEGINNING));
    }
    const RdKafka::ErrorCode code = consumer->assign(tps);
    RdKafka::TopicPartition::destroy(tps);
    if (code != RdKafka::ERR_NO_ERROR) {
      SetStatus(Cat("the summaries topic cannot be assigned: ", RdKafka::err2str(code)), false);
      spdlog::error("summaries: assigning {}: {}", settings.topics.summaries, RdKafka::err2str(code));
      return;
    }
    // The end each partition had when first seen: reaching it (an EOF) means
    // every summary written before this start has been read.
    std::set<int32_t> behind(partitions.begin(), partitions.end());
    SetStatus(Cat("reading the summaries topic: 0 of ", partitions.size(), " partitions read to their end"), false);
    std::vector<Summary> batch;
    Counts local;
    while (!stop.load()) {
      std::unique_ptr<RdKafka::Message> m(consumer->consume(200));
      bool flush = true;
      switch (m->err()) {
        case RdKafka::ERR_NO_ERROR: {
          flush = batch.size() >= 1000;
          if (m->len() == 0) break;  // a deleted key
          absl::StatusOr<Summary> s =
              DecodeSummary(std::string_view(static_cast<const char*>(m->payload()), m->len()), indicator_count);
          if (!s.ok()) {
            if (local.corrupt++ == 0) {
              spdlog::warn("summaries: {}/{}/{} is not a summary of this methodology ({}); ignored",
                           settings.topics.summaries, m->partition(), m->offset(), MessageOf(s.status()));
            }
            break;
          }
          ++local.read;
          batch.push_back(std::move(*s));
          break;
        }
        case RdKafka::ERR__PARTITION_EOF:
          if (behind.erase(m->partition()) > 0) {
            if (behind.empty()) {
              SetStatus("", true);
              spdlog::info("summaries: read {} to its end ({} summaries)", settings.topics.summaries, local.read);
            } else {
              SetStatus(Cat("reading the summaries topic: ", partitions.size() - behind.size(), " of ",
                            partitions.size(), " partitions read to their end"),
                        false);
            }
          }
          break;
        case RdKafka::ERR__TIMED_OUT:
          break;
        default:
          spdlog::warn("summaries: {}", m->errstr());
          break;
      }
      if (flush && !batch.empty()) {
        handler(std::move(batch));
        batch.clear();
      }
      std::lock_guard<std::mutex> lock(mu);
      counts = local;
    }
  }
};

SummariesReader::SummariesReader(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

SummariesReader::~SummariesReader() { Stop(); }

absl::StatusOr<std::unique_ptr<SummariesReader>> SummariesReader::Make(const KafkaSettings& settings,
                                                                       int indicator_count, Handler handler,
                                                                       Health* health) {
  auto impl = std::make_unique<Impl>();
  impl->health = health;
  impl->settings = settings;
  impl->indicator_count = indicator_count;
  impl->handler = std::move(handler);
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  std::string err;
  std::map<std::string, std::string> props = ConsumerProperties(settings);
  // Assigned, not subscribed: it joins no group and commits nothing. The
  // group id is required by librdkafka all the same.
  props["group.id"] = Cat(settings.group_id, ".summaries");
  props["client.id"] = "wijkpuls-summaries";
  props.erase("group.instance.id");
  props.erase("statistics.interval.ms");
  props["isolation.level"] = "read_uncommitted";
  for (const auto& [k, v] : props) {
    if (conf->set(k, v, err) != RdKafka::Conf::CONF_OK) {
      return absl::InvalidArgumentError(Cat("kafka summaries consumer property ", k, ": ", err));
    }
  }
  impl->consumer.reset(RdKafka::KafkaConsumer::create(conf.get(), err));
  if (!impl->consumer) return absl::InvalidArgumentError(Cat("kafka summaries consumer: ", err));
  impl->SetStatus("the summaries topic is not read yet", false);
  return std::unique_ptr<SummariesReader>(new SummariesReader(std::move(impl)));
}

void SummariesReader::Start() {
  impl_->thread = std::thread([this] { impl_->Loop(); });
}

void SummariesReader::Stop() {
  impl_->stop = true;
  if (impl_->thread.joinable()) impl_->thread.join();
  if (impl_->consumer) {
    impl_->consumer->close();
    impl_->consumer.reset();
  }
}

bool SummariesReader::CaughtUp() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->caught_up;
}

std::string SummariesReader::Status() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->status;
}

SummariesReader::Counts SummariesReader::counts() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->counts;
}

}  // namespace wijkpuls
