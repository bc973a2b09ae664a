#include "sim/season_output.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl.h>

#include <chrono>
#include <fstream>
#include <thread>

#include "kafka/kafka_producer.h"
#include "model/text.h"
#include "wijkpuls/v1/record_file.pb.h"

namespace wijkpuls::sim {

absl::Status WriteRecordFile(const std::vector<SimRecord>& records, const std::string& path) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return absl::UnavailableError(Cat(path, ": cannot be written"));
  {
    google::protobuf::io::OstreamOutputStream os(&out);
    google::protobuf::io::CodedOutputStream coded(&os);
    v1::FileRecord fr;
    for (const SimRecord& r : records) {
      fr.set_topic(r.topic);
      fr.set_key(r.key);
      fr.set_value(r.value);
      fr.set_content_type(r.content_type);
      fr.set_partition(r.partition);
      coded.WriteVarint32(static_cast<uint32_t>(fr.ByteSizeLong()));
      fr.SerializeWithCachedSizes(&coded);
    }
  }
  out.flush();
  if (!out) return absl::UnavailableError(Cat(path, ": write failed"));
  return absl::OkStatus();
}

absl::Status ProduceToKafka(const std::vector<SimRecord>& records, const KafkaSettings& kafka,
                            const ProduceOptions& options) {
  KafkaSettings settings = kafka;
  settings.producer_properties.emplace("linger.ms", "20");
  settings.producer_properties.emplace("batch.num.messages", "10000");
  settings.producer_properties.emplace("queue.buffering.max.messages", "500000");
  absl::StatusOr<std::unique_ptr<KafkaProducer>> made = KafkaProducer::Make(settings, "simulate");
  if (!made.ok()) return made.status();
  KafkaProducer& producer = **made;
  int64_t failed = 0;
  std::string last_error;
  auto count = [&](const std::vector<Delivery>& ds) {
    for (const Delivery& d : ds) {
      if (!d.ok) {
        ++failed;
        last_error = d.error;
      }
    }
  };
  const auto start = std::chrono::steady_clock::now();
  const double span = static_cast<double>(options.window_end - options.window_start);
  OutgoingRecord out;
  for (const SimRecord& r : records) {
    if (options.stop && options.stop->load()) break;
    if (options.duration_seconds > 0 && span > 0) {
      const double f = std::clamp(static_cast<double>(r.event_time - options.window_start) / span, 0.0, 1.0);
      const auto due = start + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                   std::chrono::duration<double>(f * options.duration_seconds));
      while (std::chrono::steady_clock::now() < due && !(options.stop && options.stop->load())) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(due - std::chrono::steady_clock::now());
        count(producer.Poll(static_cast<int>(std::clamp<int64_t>(left.count() + 1, 1, 50))));
      }
    }
    out.topic = r.topic;
    out.partition = r.partition;
    out.key = r.key;
    out.value = r.value;
    out.headers.clear();
    if (!r.content_type.empty()) out.headers.emplace_back("content-type", r.content_type);
    while (true) {
      absl::Status st = producer.Produce(out, 0);
      if (st.ok()) break;
      if (!absl::IsResourceExhausted(st)) return st;
      count(producer.Poll(50));
    }
    count(producer.Poll(0));
  }
  while (producer.QueueLength() > 0 && !(options.stop && options.stop->load())) {
    count(producer.Flush(1000));
  }
  count(producer.Poll(0));
  if (failed > 0) {
    return absl::UnavailableError(Cat(failed, " simulated records were not delivered: ", last_error));
  }
  return absl::OkStatus();
}

}  // namespace wijkpuls::sim
