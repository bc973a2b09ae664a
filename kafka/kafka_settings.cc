#include "kafka/kafka_settings.h"

#include <librdkafka/rdkafkacpp.h>
#include <unistd.h>

#include <climits>
#include <memory>

#include "model/digest.h"

namespace wijkpuls {

std::string DefaultGroupInstanceId(std::string_view host, std::string_view state_dir) {
  std::string id = "wijkpuls-";
  for (char c : host.substr(0, 64)) {
    const bool legal = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                       c == '.' || c == '_' || c == '-';
    id += legal ? c : '_';
  }
  return id + "-" + Sha256Hex(state_dir).substr(0, 12);
}

std::string HostName() {
  char name[HOST_NAME_MAX + 1] = {};
  if (gethostname(name, sizeof name - 1) != 0 || name[0] == '\0') return "localhost";
  return name;
}

std::map<std::string, std::string> ConsumerProperties(const KafkaSettings& settings) {
  std::map<std::string, std::string> props = {
      {"bootstrap.servers", settings.brokers},
      {"group.id", settings.group_id},
      {"client.id", "wijkpuls-consumer"},
      {"enable.auto.commit", "false"},
      {"enable.auto.offset.store", "false"},
      {"auto.offset.reset", "earliest"},
      {"enable.partition.eof", "true"},
      // Incremental rebalances: partitions that keep their owner are not
      // stopped when another member joins or leaves (docs/design.md).
      {"partition.assignment.strategy", "cooperative-sticky"},
      {"isolation.level", "read_committed"},
      {"fetch.wait.max.ms", "100"},
      {"statistics.interval.ms", "1000"},  // broker connectivity for /readyz
      // Prefetched records held in memory (librdkafka's default, 64 MB). Once
      // it is full, librdkafka 2.0.2 stops fetching for up to a second (2.2's
      // fetch.queue.backoff.ms is not in Debian 12), so it must hold more than
      // a second of records: with 16 MB (about 50,000 responses) the consumer
      // ran dry after each fill, and serve's pipeline thread was blocked in
      // consume 1.29 s of 3 s; with 64 MB, 0.10 s. Its memory is paid for by
      // two malloc arenas (ServeCommand): bench/README.md.
      {"queued.max.messages.kbytes", std::to_string(kDefaultPrefetchKbytes)},
      // One fetch response is read into one buffer of up to fetch.max.bytes
      // (librdkafka's default 50 MB). 8 MB is still over 10,000 responses per
      // fetch; measured on 1M records over 256 partitions, peak RSS 319 -> 235 MB
      // at the same speed.
      {"fetch.max.bytes", "8388608"},
      // A restart after kill -9 waits for the killed member's session where
      // static membership does not help (librdkafka's mock cluster ignores it):
      // with librdkafka's 45 s the first commit came 45.5 s after the restart
      // there (89 s when the restart joins before the killed member is
      // dropped), with 10 s after 10.5 s (bench/README.md, 2026-12-04).
      {"session.timeout.ms", std::to_string(kDefaultSessionTimeoutMs)},
  };
  if (settings.group_instance_id && !settings.group_instance_id->empty()) {
    props["group.instance.id"] = *settings.group_instance_id;
  }
  for (const auto& [k, v] : settings.properties) props[k] = v;
  for (const auto& [k, v] : settings.consumer_properties) props[k] = v;
  return props;
}

std::string KafkaPropertyError(const std::string& name, const std::string& value) {
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  std::string err;
  if (conf->set(name, value, err) == RdKafka::Conf::CONF_OK) return "";
  // librdkafka's reasons may span lines ("... outside allowed range\n..."):
  // one line for the operator.
  for (char& c : err) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  while (!err.empty() && err.back() == ' ') err.pop_back();
  return err.empty() ? "not accepted by librdkafka" : err;
}

}  // namespace wijkpuls
