#include "app/daemon.h"

#include <pthread.h>
#include <sched.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <thread>

#include "absl/strings/numbers.h"
#include "kafka/kafka_dead_letters.h"
#include "kafka/kafka_output_sink.h"
#include "validate/decode.h"
#include "process/health.h"
#include "kafka/kafka_source.h"
#include "kafka/kafka_summaries.h"
#include "model/log.h"
#include "publish/output_publisher.h"
#include "process/instance_view.h"
#include "process/observer_fan_in.h"
#include "process/pipeline.h"
#include "process/task_registry.h"
#include "process/state_hub.h"
#include "serve/api.h"
#include "serve/http_server.h"
#include "serve/metrics.h"
#include "store/schema.h"
#include "model/text.h"
#include "model/yaml_reader.h"

#ifndef WIJKPULS_VERSION
#define WIJKPULS_VERSION "dev"
#endif

namespace wijkpuls {

absl::Status CheckStoredMethodology(StateStore& store, const Methodology& m, const std::string& config_path,
                                   bool stamp) {
  absl::StatusOr<std::optional<std::string>> stored = store.GetMeta(store::kMetaMethodologyHash);
  if (!stored.ok()) return stored.status();
  if (!stored->has_value()) {
    if (!stamp) return absl::OkStatus();
    std::unique_ptr<StateBatch> b = store.NewBatch();
    b->PutMeta(store::kMetaMethodologyHash, m.sha256);
    return store.Commit(*b);
  }
  if (**stored != m.sha256) {
    return absl::InvalidArgumentError(Cat(
        "methodology ", m.path, " has changed since the state in ", store.dir(), " was built (sha256 ",
        (**stored).substr(0, 12), "… then, ", m.sha256.substr(0, 12),
        "… now). Quotas and scores must not mix methods: run `wijkpuls rebuild --config ", config_path,
        "` first"));
  }
  return absl::OkStatus();
}

absl::Status CheckClosedWaves(const Config& config, const Methodology& m) {
  for (const std::string& w : config.closed_waves) {
    if (!m.FindWave(w)) {
      return absl::InvalidArgumentError(Cat("config ", config.path, ": closed_waves: wave \"", w,
                                            "\" is not in the methodology"));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckReferences(const Methodology& m, const DistrictRegister& d) {
  for (const auto& [unit, values] : m.references) {
    const size_t slash = unit.find('/');
    const std::string_view level = std::string_view(unit).substr(0, slash);
    const std::string_view id = std::string_view(unit).substr(slash + 1);
    const bool known = level == "wijk" ? d.FindWijk(id).has_value()
                       : level == "gebied" ? d.FindGebied(id).has_value()
                                           : true;  // stad/stad
    if (!known) {
      return absl::InvalidArgumentError(Cat("methodology ", m.path, ": references.", unit, ": ", level,
                                            " \"", id, "\" is not in the district register ", d.path()));
    }
  }
  for (const auto& [wijk, targets] : m.focus) {
    if (!d.FindWijk(wijk)) {
      return absl::InvalidArgumentError(Cat("methodology ", m.path, ": focus.wijk/", wijk, ": wijk \"", wijk,
                                            "\" is not in the district register ", d.path()));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<Definitions> LoadConfiguredDefinitions(const Config& config) {
  absl::StatusOr<Methodology> m = LoadMethodology(config.methodology_path);
  if (!m.ok()) return absl::InvalidArgumentError(Cat("methodology: ", m.status().message()));
  absl::StatusOr<DistrictRegister> d = DistrictRegister::Load(config.districts_path);
  if (!d.ok()) return absl::InvalidArgumentError(Cat("districts: ", d.status().message()));
  if (absl::Status st = CheckClosedWaves(config, *m); !st.ok()) return st;
  if (absl::Status st = CheckReferences(*m, *d); !st.ok()) return st;
  return Definitions{std::make_shared<const Methodology>(std::move(*m)),
                     std::make_shared<const DistrictRegister>(std::move(*d))};
}

int UsableCores() {
  // The CPUs this process may run on (taskset, cpusets)...
  cpu_set_t set;
  int cores = sched_getaffinity(0, sizeof(set), &set) == 0 ? CPU_COUNT(&set)
                                                            : static_cast<int>(std::thread::hardware_concurrency());
  // ... and no more than a cgroup v2 CPU limit allows (a container's
  // `limits.cpu`: "200000 100000" is 2 cores; "max" is none).
  std::ifstream max("/sys/fs/cgroup/cpu.max");
  std::string quota;
  int64_t period = 0;
  if (max >> quota >> period && quota != "max" && period > 0) {
    int64_t q = 0;
    if (absl::SimpleAtoi(quota, &q) && q > 0) cores = std::min<int64_t>(cores, (q + period - 1) / period);
  }
  return std::max(1, cores);
}

absl::Status ConfigKeyError(const absl::Status& st, const Config& config, std::string_view key) {
  return absl::Status(st.code(), Cat("config ", config.path, ": ", key, ": ", st.message()));
}

int ExitCodeOf(const absl::Status& status) {
  if (status.ok()) return kExitOk;
  if (absl::IsInvalidArgument(status) || absl::IsNotFound(status)) return kExitConfig;
  return kExitRuntime;
}

struct Daemon::Parts {
  Config config;
  DaemonOptions options;
  std::shared_ptr<const Methodology> methodology;
  std::shared_ptr<const DistrictRegister> districts;
  std::optional<Pseudonymiser> pseudonymiser;
  std::unique_ptr<StateStore> store;
  StateHub hub;
  Health health;
  std::unique_ptr<Metrics> metrics;
  std::unique_ptr<Api> api;
  std::unique_ptr<HttpServer> http;
  // One dead-letter producer per pipeline: each waits for its own letters
  // before its write, and an abandoned batch forgets only its own.
  std::vector<std::unique_ptr<KafkaDeadLetters>> dead_letters;
  std::unique_ptr<OutputPublisher> publisher;
  // pipeline.threads pipelines, each a member of the group, over one store.
  std::unique_ptr<InstanceView> view;
  std::unique_ptr<TaskRegistry> registry;
  std::unique_ptr<ObserverFanIn> observers;
  std::vector<std::unique_ptr<Pipeline>> pipelines;
  // Made by Make, run by Run; destroyed before the pipeline they report to.
  std::vector<std::unique_ptr<KafkaSource>> sources;
  std::unique_ptr<SummariesReader> summaries;
};

namespace {

absl::StatusOr<std::string> ReadToken(const std::string& path, std::string_view key) {
  if (path.empty()) return std::string();
  absl::StatusOr<std::string> t = yaml::ReadFileToString(path);
  if (!t.ok()) return absl::InvalidArgumentError(Cat(key, ": ", t.status().message()));
  std::string token(Trim(*t));
  if (token.size() < 16) {
    return absl::InvalidArgumentError(Cat(key, " ", path, ": the token needs at least 16 characters"));
  }
  if (token.find_first_of(" \t\r\n") != std::string::npos) {
    return absl::InvalidArgumentError(Cat(key, " ", path, ": the token is one line without spaces"));
  }
  return token;
}

// The HTTP options of the config, with the token files read. Errors name the
// key and the file (exit 2).
absl::StatusOr<HttpOptions> ReadHttpOptions(const Config& config) {
  const HttpConfig& h = config.http;
  HttpOptions o;
  o.host = h.host;
  o.port = h.port;
  absl::StatusOr<std::string> token = ReadToken(h.bearer_token_file, "http.bearer_token_file");
  if (!token.ok()) return absl::InvalidArgumentError(Cat("config ", config.path, ": ", token.status().message()));
  o.bearer_token = std::move(*token);
  absl::StatusOr<std::string> metrics_token = ReadToken(h.metrics_bearer_token_file, "http.metrics_bearer_token_file");
  if (!metrics_token.ok()) {
    return absl::InvalidArgumentError(Cat("config ", config.path, ": ", metrics_token.status().message()));
  }
  o.metrics_bearer_token = std::move(*metrics_token);
  o.ops_host = h.ops_host;
  o.ops_port = h.ops_port;
  o.tls_cert_file = h.tls_cert_file;
  o.tls_key_file = h.tls_key_file;
  if (!o.tls_cert_file.empty()) {
    if (absl::StatusOr<std::shared_ptr<http::TlsContext>> tls = http::LoadTls(o.tls_cert_file, o.tls_key_file); !tls.ok()) {
      return absl::InvalidArgumentError(Cat("config ", config.path, ": ", tls.status().message()));
    }
  }
  o.allowed_hosts = h.allowed_hosts;
  o.threads = h.threads;
  o.max_connections = h.max_connections;
  o.limits.request_timeout = std::chrono::milliseconds(h.request_timeout_ms);
  o.limits.idle_timeout = std::chrono::milliseconds(h.idle_timeout_ms);
  o.limits.write_timeout = std::chrono::milliseconds(h.write_timeout_ms);
  return o;
}

}  // namespace

absl::Status CheckConfig(const Config& config) {
  if (absl::StatusOr<Definitions> defs = LoadConfiguredDefinitions(config); !defs.ok()) return defs.status();
  if (config.pseudonymisation_key_file.empty()) {
    return absl::InvalidArgumentError(Cat("config ", config.path,
                                          ": pseudonymisation_key_file: is required (make one with "
                                          "`openssl rand -hex 32 > FILE`)"));
  }
  absl::StatusOr<Pseudonymiser> p = Pseudonymiser::FromKeyFile(config.pseudonymisation_key_file);
  if (!p.ok()) {
    return absl::InvalidArgumentError(Cat("config ", config.path, ": pseudonymisation_key_file: ", p.status().message()));
  }
  if (absl::StatusOr<HttpOptions> h = ReadHttpOptions(config); !h.ok()) return h.status();
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<Daemon>> Daemon::Make(const Config& config, DaemonOptions options) {
  std::unique_ptr<Daemon> d(new Daemon());
  d->parts_ = std::make_unique<Parts>();
  Parts& p = *d->parts_;
  p.config = config;
  p.options = options;
  QuietProtobufLogging();

  absl::StatusOr<Definitions> defs = LoadConfiguredDefinitions(config);
  if (!defs.ok()) return defs.status();
  p.methodology = std::move(defs->methodology);
  p.districts = std::move(defs->districts);
  if (options.ephemeral_key) {
    p.pseudonymiser = Pseudonymiser::Ephemeral();
  } else {
    if (config.pseudonymisation_key_file.empty()) {
      return absl::InvalidArgumentError(Cat("config ", config.path,
                                            ": pseudonymisation_key_file: is required to serve (make one with "
                                            "`openssl rand -hex 32 > FILE`)"));
    }
    absl::StatusOr<Pseudonymiser> ps = Pseudonymiser::FromKeyFile(config.pseudonymisation_key_file);
    if (!ps.ok()) {
      return absl::InvalidArgumentError(Cat("config ", config.path, ": pseudonymisation_key_file: ", ps.status().message()));
    }
    p.pseudonymiser = std::move(*ps);
  }
  absl::StatusOr<HttpOptions> http_options = ReadHttpOptions(config);
  if (!http_options.ok()) return http_options.status();

  absl::StatusOr<std::unique_ptr<StateStore>> store = OpenStateStore(config.store);
  if (!store.ok()) return ConfigKeyError(store.status(), config, "state.dir");
  p.store = std::move(*store);
  if (absl::Status st = CheckStoredMethodology(*p.store, *p.methodology, config.path, /*stamp=*/true); !st.ok()) {
    return st;
  }

  p.metrics = std::make_unique<Metrics>(WIJKPULS_VERSION);
  p.api = std::make_unique<Api>(p.hub, ApiOptions{ViewsOf(config)});

  absl::StatusOr<std::unique_ptr<KafkaOutputSink>> out = KafkaOutputSink::Make(config.kafka);
  if (!out.ok()) return absl::InvalidArgumentError(Cat("config ", config.path, ": kafka: ", out.status().message()));
  OutputOptions oo;
  oo.quota_debounce = config.publish.quota_debounce;
  oo.scores_interval = config.publish.scores_interval;
  oo.summary_interval = config.publish.summary_interval;
  oo.views = ViewsOf(config);

  PipelineOptions po = config.pipeline;
  po.exit_at_end = options.exit_at_end;
  // Several pipelines: one view and one registry of tasks for all
  // (docs/design.md, "Several instances"), and the metrics see their union.
  const int threads = config.pipeline.threads > 0 ? config.pipeline.threads : std::clamp(UsableCores(), 1, 16);
  if (threads > 1) {
    p.view = std::make_unique<InstanceView>(p.hub);
    p.registry = std::make_unique<TaskRegistry>();
    p.observers = std::make_unique<ObserverFanIn>(p.metrics.get(), threads);
  }
  for (int i = 0; i < threads; ++i) {
    absl::StatusOr<std::unique_ptr<KafkaDeadLetters>> dl = KafkaDeadLetters::Make(config.kafka);
    if (!dl.ok()) return absl::InvalidArgumentError(Cat("config ", config.path, ": kafka: ", dl.status().message()));
    p.dead_letters.push_back(std::move(*dl));
    auto pipeline = std::make_unique<Pipeline>(*p.store, p.methodology, p.districts, *p.pseudonymiser, SystemClock,
                                               config.processor, *p.dead_letters.back(), p.hub, p.health,
                                               threads > 1 ? p.observers->member(i) : p.metrics.get(), po);
    if (threads > 1) pipeline->JoinInstance(*p.view, *p.registry, i);
    if (absl::Status st = pipeline->Start(); !st.ok()) return st;
    p.pipelines.push_back(std::move(pipeline));
  }
  // The consumers are made (and their properties checked by librdkafka)
  // before anything is served: a refused setting is a configuration error.
  if (!p.config.kafka.group_instance_id) {
    std::error_code ec;
    const std::filesystem::path dir = std::filesystem::absolute(config.store.dir, ec).lexically_normal();
    p.config.kafka.group_instance_id = DefaultGroupInstanceId(HostName(), ec ? config.store.dir : dir.string());
  }
  for (int i = 0; i < threads; ++i) {
    // Each pipeline is a member of its own: the second of instance "x" is "x-2".
    KafkaSettings settings = p.config.kafka;
    if (i > 0 && settings.group_instance_id && !settings.group_instance_id->empty()) {
      *settings.group_instance_id += Cat("-", i + 1);
    }
    // The prefetch (kafka/kafka_settings.cc: more than a second of records)
    // divided among the consumers, each of which reads its share of the
    // partitions: the instance prefetches no more than one pipeline would
    // (its peak RSS still rose: bench/README.md, pipeline.threads).
    const std::string prefetch = "queued.max.messages.kbytes";
    if (threads > 1 && !settings.properties.count(prefetch) && !settings.consumer_properties.count(prefetch)) {
      settings.consumer_properties[prefetch] = std::to_string(std::max(16384, kDefaultPrefetchKbytes / threads));
    }
    absl::StatusOr<std::unique_ptr<KafkaSource>> source = KafkaSource::Make(settings, p.pipelines[static_cast<size_t>(i)].get());
    if (!source.ok()) return absl::InvalidArgumentError(Cat("config ", config.path, ": kafka: ", source.status().message()));
    p.sources.push_back(std::move(*source));
  }
  oo.instance = p.config.kafka.group_instance_id.value_or("");
  p.publisher = std::make_unique<OutputPublisher>(p.hub, std::move(*out), oo);
  Pipeline* pipeline = p.pipelines.front().get();  // (one view for all of them)
  absl::StatusOr<std::unique_ptr<SummariesReader>> summaries = SummariesReader::Make(
      p.config.kafka, static_cast<int>(p.methodology->indicators.size()),
      [pipeline](std::vector<Summary> s) { pipeline->OfferSummaries(std::move(s)); }, &p.health);
  if (!summaries.ok()) {
    return absl::InvalidArgumentError(Cat("config ", config.path, ": kafka: ", summaries.status().message()));
  }
  p.summaries = std::move(*summaries);

  StateStore* store_ptr = p.store.get();
  OutputPublisher* pub = p.publisher.get();
  Parts* parts = &p;
  p.metrics->SetSources(MetricSources{&p.hub, &p.health, [store_ptr] { return store_ptr->Stats(); },
                                      [pub] { return pub->Stats(); }, ViewsOf(config), [parts] {
                                        HttpStats s;
                                        const http::ConnectionCounters* c = parts->http ? parts->http->counters() : nullptr;
                                        if (c == nullptr) return s;
                                        s.open = c->open.load();
                                        s.accepted = c->accepted.load();
                                        s.refused = c->refused.load();
                                        s.timed_out = c->timed_out.load();
                                        s.too_large = c->too_large.load();
                                        s.bad_requests = c->bad_requests.load();
                                        s.tls_failures = c->tls_failures.load();
                                        return s;
                                      }});
  p.health.Set("consumer", "not started", /*log=*/false);
  absl::StatusOr<std::unique_ptr<HttpServer>> http =
      HttpServer::Start(*http_options, *p.api, *p.metrics, p.health);
  if (!http.ok()) return ConfigKeyError(http.status(), config, "http.listen");
  p.http = std::move(*http);
  const bool tls = !config.http.tls_cert_file.empty();
  spdlog::info("wijkpuls {}: state {} ({} wijken, methodology {}), {}://{}:{}/", WIJKPULS_VERSION,
               config.store.dir, p.districts->wijken().size(), p.methodology->sha256.substr(0, 12),
               tls ? "https" : "http", config.http.host, p.http->port());
  if (p.http->ops_port() >= 0) {
    spdlog::info("probes and metrics also on http://{}:{}/ (http.ops_listen)", config.http.ops_host, p.http->ops_port());
  }
  return d;
}

Daemon::~Daemon() = default;

int Daemon::http_port() const { return parts_->http->port(); }
int Daemon::ops_port() const { return parts_->http->ops_port(); }

void Daemon::Reload() {
  if (absl::Status st = parts_->http->ReloadTls(); !st.ok()) {
    spdlog::error("SIGHUP: TLS certificate refused, the old one stays: {}", MessageOf(st));
  }
  ReloadDistricts();
}

absl::Status Daemon::Run(const std::atomic<bool>& stop) {
  Parts& p = *parts_;
  if (p.sources.empty()) return absl::FailedPreconditionError("the daemon has run already");
  std::vector<std::unique_ptr<KafkaSource>> sources = std::move(p.sources);
  p.publisher->Start();
  p.summaries->Start();
  const std::string& instance = p.config.kafka.group_instance_id.value_or("");
  spdlog::info("consuming {} and {} from {} as group {} ({}){}", p.config.kafka.topics.responses,
               p.config.kafka.topics.withdrawals, p.config.kafka.brokers, p.config.kafka.group_id,
               instance.empty() ? std::string("dynamic membership") : "instance " + instance,
               sources.size() > 1 ? Cat(" with ", sources.size(), " pipelines, each a member of the group") : "");
  absl::Status st;
  if (sources.size() == 1) {
    st = p.pipelines.front()->Run(*sources.front(), stop);
  } else {
    // Each pipeline on a thread of its own; one that fails stops the others
    // (the service manager restarts the instance).
    std::atomic<bool> halt{false};
    std::mutex mu;
    std::vector<std::thread> runs;
    for (size_t i = 0; i < sources.size(); ++i) {
      runs.emplace_back([&, i] {
        pthread_setname_np(pthread_self(), Cat("wp-pipeline-", i + 1).c_str());
        absl::Status s = p.pipelines[i]->Run(*sources[i], halt);
        std::lock_guard<std::mutex> lock(mu);
        if (!s.ok() && st.ok()) st = s;
        if (!s.ok() || !p.options.exit_at_end) halt = true;
      });
    }
    std::thread watch([&] {
      while (!halt.load()) {
        if (stop.load()) halt = true;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    });
    for (std::thread& t : runs) t.join();
    halt = true;
    watch.join();
  }
  sources.clear();
  p.summaries->Stop();
  int64_t committed = 0;
  for (const auto& pipeline : p.pipelines) committed += pipeline->records_committed();
  spdlog::info("input closed after {} committed records; flushing outputs", committed);
  p.publisher->Stop(std::chrono::seconds(2));
  p.http->Stop();
  if (st.ok()) spdlog::info("stopped cleanly");
  return st;
}

void Daemon::ReloadDistricts() {
  Parts& p = *parts_;
  absl::StatusOr<DistrictRegister> reg = DistrictRegister::Load(p.config.districts_path);
  if (!reg.ok()) {
    spdlog::error("SIGHUP: district register refused, the old one stays: {}", MessageOf(reg.status()));
    return;
  }
  // The set of wijken must stay: counts of a wijk that vanished would be orphaned.
  const DistrictRegister& old = *p.districts;
  bool same = reg->wijken().size() == old.wijken().size();
  for (size_t i = 0; same && i < old.wijken().size(); ++i) same = reg->wijken()[i].id == old.wijken()[i].id;
  if (!same) {
    spdlog::error("SIGHUP: district register {} refused: its wijken differ from the running register "
                  "(adding or removing wijken needs a restart)", p.config.districts_path);
    return;
  }
  p.districts = std::make_shared<const DistrictRegister>(std::move(*reg));
  for (const auto& pipeline : p.pipelines) pipeline->ReloadDistricts(p.districts);
}

}  // namespace wijkpuls
