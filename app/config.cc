#include "app/config.h"

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <thread>

#include "model/text.h"
#include "model/yaml_reader.h"

namespace wijkpuls {
namespace {

using yaml::Field;

std::string Resolve(const std::string& base_dir, const std::string& p) {
  std::filesystem::path path(p);
  if (path.is_absolute() || base_dir.empty()) return p;
  return (std::filesystem::path(base_dir) / path).lexically_normal().string();
}

// librdkafka properties, each checked by librdkafka itself, so that a typo or
// a bad value is a configuration error naming its key, not a failure at start.
std::map<std::string, std::string> ReadProperties(const std::optional<Field>& f) {
  std::map<std::string, std::string> out;
  if (!f) return out;
  for (auto& [k, v] : f->Entries()) {
    out[k] = v.String();
    if (std::string err = KafkaPropertyError(k, out[k]); !err.empty()) v.Fail(err);
  }
  return out;
}

bool IsTopicName(const std::string& t) {
  if (t.empty() || t.size() > 249 || t == "." || t == "..") return false;
  for (char c : t) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-')) return false;
  }
  return true;
}

void ReadKafka(const Field& root, Config& c) {
  Field k = root.Required("kafka");
  k.AllowOnly({"brokers", "group_id", "group_instance_id", "topics", "properties", "consumer_properties",
               "producer_properties", "delivery_timeout_ms", "accept_truncated_input"});
  c.kafka.brokers = k.Required("brokers").String();
  if (auto g = k.Optional("group_id")) c.kafka.group_id = g->String();
  // Absent: the daemon's default (kafka_settings.h); "": no static membership.
  if (auto g = k.Optional("group_instance_id")) {
    c.kafka.group_instance_id = g->Text();
    if (!c.kafka.group_instance_id->empty() && !IsTopicName(*c.kafka.group_instance_id)) {
      g->Fail("must be empty or up to 249 of [a-zA-Z0-9._-] (as Kafka wants it)");
    }
  }
  if (auto f = k.Optional("accept_truncated_input")) c.kafka.accept_truncated_input = f->Bool();
  if (auto t = k.Optional("topics")) {
    t->AllowOnly({"responses", "withdrawals", "rejected", "quota", "scores", "summaries"});
    auto topic = [&](std::string_view key, std::string& out) {
      if (auto f = t->Optional(key)) {
        out = f->String();
        if (!IsTopicName(out)) f->Fail("not a valid Kafka topic name ([a-zA-Z0-9._-], at most 249)");
      }
    };
    topic("responses", c.kafka.topics.responses);
    topic("withdrawals", c.kafka.topics.withdrawals);
    topic("rejected", c.kafka.topics.rejected);
    topic("quota", c.kafka.topics.quota);
    topic("scores", c.kafka.topics.scores);
    topic("summaries", c.kafka.topics.summaries);
  }
  c.kafka.properties = ReadProperties(k.Optional("properties"));
  c.kafka.consumer_properties = ReadProperties(k.Optional("consumer_properties"));
  c.kafka.producer_properties = ReadProperties(k.Optional("producer_properties"));
  for (const char* reserved : {"enable.auto.commit", "enable.auto.offset.store", "group.id",
                               "bootstrap.servers"}) {
    if (c.kafka.properties.count(reserved) || c.kafka.consumer_properties.count(reserved)) {
      k.Fail(Cat(reserved, " is set by wijkpuls (offsets are stored with the state); remove it"));
    }
  }
  if (c.kafka.properties.count("group.instance.id") || c.kafka.consumer_properties.count("group.instance.id")) {
    k.Fail("group.instance.id is set by wijkpuls: use kafka.group_instance_id");
  }
  // The producers write to the brokers the consumer reads from.
  if (c.kafka.producer_properties.count("bootstrap.servers")) {
    k.Fail("producer_properties: bootstrap.servers is set by wijkpuls (from kafka.brokers); remove it");
  }
  if (auto d = k.Optional("delivery_timeout_ms")) {
    c.kafka.delivery_timeout_ms = static_cast<int>(d->Int(1000, 900'000));
  }
}

void ReadState(const Field& root, const std::string& base, Config& c) {
  Field s = root.Required("state");
  s.AllowOnly({"dir", "block_cache_mb", "write_buffer_mb", "sync_writes", "min_free_mb"});
  c.store.dir = Resolve(base, s.Required("dir").String());
  if (auto f = s.Optional("block_cache_mb")) c.store.block_cache_bytes = f->Int(8, 65536) << 20;
  if (auto f = s.Optional("write_buffer_mb")) c.store.write_buffer_bytes = f->Int(4, 4096) << 20;
  if (auto f = s.Optional("sync_writes")) c.store.sync_writes = f->Bool();
  // A floor below what one flush of the memtables writes (up to twice the
  // write buffer) lets the disk fill anyway, and a full disk aborts RocksDB.
  const int64_t floor_mb = std::max<int64_t>(kMinFreeMbFloor, 2 * (c.store.write_buffer_bytes >> 20));
  if (auto f = s.Optional("min_free_mb")) {
    const int64_t mb = f->Int(0, 1 << 20);
    if (mb < kMinFreeMbFloor) {
      f->Fail(Cat("must be at least ", kMinFreeMbFloor, ", found ", mb,
                  ": with less free space RocksDB can run out of disk mid-write, and aborts"));
    }
    if (mb < floor_mb) {
      f->Fail(Cat("must be at least twice state.write_buffer_mb (", floor_mb, "), found ", mb,
                  ": one flush of the memtables writes up to that much"));
    }
    c.store.min_free_bytes = mb << 20;
  } else {
    c.store.min_free_bytes = std::max(c.store.min_free_bytes, floor_mb << 20);
  }
}

void ReadHttp(const Field& root, const std::string& base, Config& c) {
  std::optional<Field> h = root.Optional("http");
  if (!h) return;
  h->AllowOnly({"listen", "bearer_token_file", "metrics_bearer_token_file", "ops_listen", "tls_cert_file",
                "tls_key_file", "allowed_hosts", "threads", "max_connections", "request_timeout_ms",
                "idle_timeout_ms", "write_timeout_ms"});
  HttpConfig& http = c.http;
  if (auto l = h->Optional("listen")) {
    if (!ParseListen(l->String(), &http.host, &http.port)) {
      l->Fail("must be host:port, e.g. 127.0.0.1:8080 (port 0 picks a free one)");
    }
  }
  if (auto l = h->Optional("ops_listen")) {
    if (!ParseListen(l->String(), &http.ops_host, &http.ops_port)) {
      l->Fail("must be host:port, e.g. 0.0.0.0:9464 (port 0 picks a free one)");
    }
  }
  if (auto t = h->Optional("bearer_token_file")) http.bearer_token_file = Resolve(base, t->String());
  if (auto t = h->Optional("metrics_bearer_token_file")) http.metrics_bearer_token_file = Resolve(base, t->String());
  std::optional<Field> cert = h->Optional("tls_cert_file");
  std::optional<Field> key = h->Optional("tls_key_file");
  if (cert) http.tls_cert_file = Resolve(base, cert->String());
  if (key) http.tls_key_file = Resolve(base, key->String());
  if (cert && !key) cert->Fail("needs http.tls_key_file too");
  if (key && !cert) key->Fail("needs http.tls_cert_file too");
  if (auto a = h->Optional("allowed_hosts")) {
    for (const Field& f : a->Items()) {
      std::string name = f.String();
      const bool ipv6 = std::count(name.begin(), name.end(), ':') >= 2;
      if (name.empty() || name.find_first_of(" \t/[]") != std::string::npos ||
          (!ipv6 && name.find(':') != std::string::npos)) {
        f.Fail("must be a host name or address without a port (IPv6 without brackets), or \"*\" (any)");
      }
      http.allowed_hosts.push_back(std::move(name));
    }
    if (http.allowed_hosts.empty()) a->Fail("must name at least one host (or \"*\": any)");
  }
  if (auto f = h->Optional("threads")) http.threads = static_cast<int>(f->Int(1, 64));
  if (auto f = h->Optional("max_connections")) http.max_connections = static_cast<int>(f->Int(1, 100'000));
  if (auto f = h->Optional("request_timeout_ms")) http.request_timeout_ms = static_cast<int>(f->Int(100, 600'000));
  if (auto f = h->Optional("idle_timeout_ms")) http.idle_timeout_ms = static_cast<int>(f->Int(100, 600'000));
  if (auto f = h->Optional("write_timeout_ms")) http.write_timeout_ms = static_cast<int>(f->Int(100, 600'000));
}

void ReadPipeline(const Field& root, Config& c) {
  if (auto p = root.Optional("pipeline")) {
    p->AllowOnly({"batch_records", "linger_ms", "max_record_bytes", "dead_letter_wait_ms",
                  "stall_after_s", "prepare_threads", "commit_thread", "keep_revoked_s", "threads"});
    if (auto f = p->Optional("batch_records")) c.pipeline.max_batch_records = static_cast<int>(f->Int(1, 1'000'000));
    if (auto f = p->Optional("linger_ms")) c.pipeline.linger = std::chrono::milliseconds(f->Int(0, 60'000));
    if (auto f = p->Optional("max_record_bytes")) c.processor.max_record_bytes = f->Int(1024, 100 << 20);
    if (auto f = p->Optional("dead_letter_wait_ms")) {
      c.pipeline.dead_letter_wait = std::chrono::milliseconds(f->Int(1000, 3'600'000));
    }
    if (auto f = p->Optional("prepare_threads")) c.pipeline.prepare_threads = static_cast<int>(f->Int(0, 8));
    if (auto f = p->Optional("threads")) c.pipeline.threads = static_cast<int>(f->Int(0, 16));
    if (auto f = p->Optional("commit_thread")) c.pipeline.commit_thread = f->Bool();
    if (auto f = p->Optional("stall_after_s")) c.pipeline.stall_after = std::chrono::seconds(f->Int(1, 86'400));
    if (auto f = p->Optional("keep_revoked_s")) c.pipeline.keep_revoked = std::chrono::seconds(f->Int(0, 30 * 86'400));
  }
  if (auto p = root.Optional("publish")) {
    p->AllowOnly({"quota_debounce_ms", "scores_interval_ms", "summary_interval_ms"});
    if (auto f = p->Optional("quota_debounce_ms")) c.publish.quota_debounce = std::chrono::milliseconds(f->Int(0, 3'600'000));
    if (auto f = p->Optional("scores_interval_ms")) c.publish.scores_interval = std::chrono::milliseconds(f->Int(0, 86'400'000));
    if (auto f = p->Optional("summary_interval_ms")) {
      c.publish.summary_interval = std::chrono::milliseconds(f->Int(100, 600'000));
    }
  }
}

}  // namespace

bool ParseListen(const std::string& listen, std::string* host, int* port) {
  const size_t colon = listen.rfind(':');
  if (colon == std::string::npos || colon == 0) return false;
  int p = -1;
  const char* begin = listen.data() + colon + 1;
  const char* end = listen.data() + listen.size();
  auto [ptr, ec] = std::from_chars(begin, end, p);
  if (ec != std::errc() || ptr != end || p < 0 || p > 65535) return false;
  *host = listen.substr(0, colon);
  if (host->size() > 2 && host->front() == '[' && host->back() == ']') *host = host->substr(1, host->size() - 2);
  *port = p;
  return true;
}

absl::StatusOr<Config> ParseConfig(std::string_view text, const std::string& path) {
  Config c;
  c.path = path;
  const std::string base = std::filesystem::path(path).parent_path().string();
  absl::Status st = yaml::ParseYaml(text, path, [&](const Field& root) {
    root.AllowOnly({"kafka", "state", "http", "methodology", "districts", "pseudonymisation_key_file",
                    "pipeline", "publish", "closed_waves", "city_name", "log"});
    ReadKafka(root, c);
    ReadState(root, base, c);
    ReadHttp(root, base, c);
    c.methodology_path = Resolve(base, root.Required("methodology").String());
    c.districts_path = Resolve(base, root.Required("districts").String());
    if (auto k = root.Optional("pseudonymisation_key_file")) c.pseudonymisation_key_file = Resolve(base, k->String());
    ReadPipeline(root, c);
    if (auto w = root.Optional("closed_waves")) {
      for (const Field& f : w->Items()) c.closed_waves.insert(f.String());
    }
    if (auto n = root.Optional("city_name")) c.city_name = n->String();
    if (auto l = root.Optional("log")) {
      l->AllowOnly({"level", "format"});
      if (auto f = l->Optional("level")) {
        c.log_level = f->String();
        if (c.log_level != "debug" && c.log_level != "info" && c.log_level != "warn" && c.log_level != "error") {
          f->Fail("must be debug, info, warn or error");
        }
      }
      if (auto f = l->Optional("format")) {
        c.log_format = f->String();
        if (c.log_format != "text" && c.log_format != "json") f->Fail("must be text or json");
      }
    }
  });
  if (!st.ok()) return st;
  c.processor.responses_topic = c.kafka.topics.responses;
  c.processor.withdrawals_topic = c.kafka.topics.withdrawals;
  c.processor.rejected_topic = c.kafka.topics.rejected;
  return c;
}

ViewSettings ViewsOf(const Config& config) { return ViewSettings{config.closed_waves, config.city_name}; }

absl::StatusOr<Config> LoadConfig(const std::string& path) {
  absl::StatusOr<std::string> text = yaml::ReadFileToString(path);
  if (!text.ok()) return text.status();
  return ParseConfig(*text, path);
}

}  // namespace wijkpuls
