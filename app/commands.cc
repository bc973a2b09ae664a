#include "app/commands.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <malloc.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <cmath>
#include <sstream>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include "app/config.h"
#include "app/daemon.h"
#include "app/logging.h"
#include "app/signals.h"
#include "process/dead_letters.h"
#include "validate/decode.h"
#include "process/file_source.h"
#include "model/log.h"
#include "kafka/mock_cluster.h"
#include "process/pipeline.h"
#include "process/rebuild.h"
#include "publish/file_sink.h"
#include "publish/output_publisher.h"
#include "sim/season_output.h"
#include "sim/simulator.h"
#include "model/text.h"

namespace wijkpuls {
namespace {

// Records the default register gives at scale 1 (measured; see sim/simulator.h).
constexpr double kRecordsAtScale1 = 28900.0;

int Fail(const std::string& command, const absl::Status& st) {
  std::cerr << "wijkpuls " << command << ": " << MessageOf(st) << "\n";
  return ExitCodeOf(st);
}

absl::Status WriteFile(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
  out.close();
  if (!out) return absl::UnavailableError(Cat(path, ": cannot be written"));
  return absl::OkStatus();
}

absl::StatusOr<std::pair<Methodology, DistrictRegister>> LoadDefinitions(const std::string& methodology,
                                                                        const std::string& districts) {
  absl::StatusOr<Methodology> m = methodology.empty()
                                      ? ParseMethodology(DefaultMethodologyYaml(), "built-in methodology.yaml")
                                      : LoadMethodology(methodology);
  if (!m.ok()) return absl::InvalidArgumentError(Cat("methodology: ", m.status().message()));
  absl::StatusOr<DistrictRegister> d = districts.empty()
                                           ? DistrictRegister::Parse(DefaultDistrictsCsv(), "built-in districts.csv")
                                           : DistrictRegister::Load(districts);
  if (!d.ok()) return absl::InvalidArgumentError(Cat("districts: ", d.status().message()));
  return std::make_pair(std::move(*m), std::move(*d));
}

// Counts committed outcomes for the replay summary.
class Tally : public PipelineObserver {
 public:
  void OnRecord(const std::string&, const RecordResult& r) override {
    if (r.kind == RecordKind::kWithdrawal) {
      ++withdrawals;
    } else {
      ++outcomes[static_cast<int>(r.outcome)];
    }
  }
  void OnBatchCommitted(int, double) override {}
  void OnPartitions(const std::vector<PartitionStatus>&) override {}
  void OnDeadLetters(size_t, uint64_t) override {}
  void OnStorageError() override {}
  void OnRollback() override {}
  int64_t outcomes[kOutcomeCount] = {};
  int64_t withdrawals = 0;
};

}  // namespace

int ServeCommand(const ServeArgs& args) {
  // glibc gives threads that allocate arenas of their own (up to 8 per
  // core), and memory freed into one stays there: with the daemon's threads
  // (librdkafka's, the pipeline's) and a 64 MB prefetch, serve peaked at
  // 276-315 MB on 256k records, against 219-245 MB with two arenas and
  // 225-284 MB with the old 16 MB prefetch (bench/README.md). Before any
  // thread starts; MALLOC_ARENA_MAX in the environment still decides.
  if (std::getenv("MALLOC_ARENA_MAX") == nullptr) mallopt(M_ARENA_MAX, 2);
  absl::StatusOr<Config> config = LoadConfig(args.config);
  if (!config.ok()) return Fail("serve", config.status());
  SetUpLogging(args.log_format.empty() ? config->log_format : args.log_format,
               args.log_level.empty() ? config->log_level : args.log_level);
  SignalWatcher::BlockInThisThread();
  absl::StatusOr<std::unique_ptr<Daemon>> daemon = Daemon::Make(*config, DaemonOptions{args.exit_at_end, false});
  if (!daemon.ok()) {
    spdlog::error("{}", MessageOf(daemon.status()));
    return ExitCodeOf(daemon.status());
  }
  std::atomic<bool> stop{false};
  Daemon* d = daemon->get();
  SignalWatcher watcher(stop, [d] { d->Reload(); });
  absl::Status st = d->Run(stop);
  if (!st.ok()) {
    spdlog::error("{}", MessageOf(st));
    return kExitRuntime;
  }
  return kExitOk;
}

namespace {

// A `wijkpuls serve` child of the demo.
struct DemoInstance {
  int number = 0;
  pid_t pid = -1;
  int port = 0;
  std::string log;
};

// A TCP port that is free now (the child binds it a moment later).
int FreeTcpPort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  int port = 0;
  if (fd >= 0 && ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  if (fd >= 0) ::close(fd);
  return port;
}

// Instance `k`: the demo's configuration with its own state directory and
// port, run as `wijkpuls serve` (this binary) with its output in a log file.
absl::StatusOr<DemoInstance> StartDemoInstance(const Config& c, const std::string& dir, int k) {
  DemoInstance d;
  d.number = k;
  d.port = FreeTcpPort();
  if (d.port == 0) return absl::UnavailableError("no free TCP port for a demo instance");
  const std::string config = Cat(dir, "/instance-", k, ".yaml");
  d.log = Cat(dir, "/instance-", k, ".log");
  std::ostringstream y;
  y << "kafka:\n  brokers: \"" << c.kafka.brokers << "\"\n  group_id: " << c.kafka.group_id << "\n"
    << "state:\n  dir: " << dir << "/state-" << k << "\n"
    << "http:\n  listen: \"" << c.http.host << ":" << d.port << "\"\n"
    << "methodology: " << c.methodology_path << "\n"
    << "districts: " << c.districts_path << "\n"
    << "pseudonymisation_key_file: " << c.pseudonymisation_key_file << "\n"
    << "publish:\n  quota_debounce_ms: " << c.publish.quota_debounce.count()
    << "\n  scores_interval_ms: " << c.publish.scores_interval.count() << "\n";
  if (absl::Status st = WriteFile(config, y.str()); !st.ok()) return st;
  std::error_code ec;
  const std::string self = std::filesystem::read_symlink("/proc/self/exe", ec).string();
  if (ec) return absl::UnavailableError(Cat("the demo cannot find its own binary: ", ec.message()));
  d.pid = ::fork();
  if (d.pid < 0) return absl::UnavailableError(Cat("fork: ", std::strerror(errno)));
  if (d.pid == 0) {
    const int out = ::open(d.log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (out >= 0) {
      ::dup2(out, 1);
      ::dup2(out, 2);
    }
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);  // the demo blocks the signals it waits for
    ::execl(self.c_str(), self.c_str(), "serve", "--config", config.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  return d;
}

// SIGTERM to every child still running, and their ends waited for.
void StopDemoInstances(const std::vector<DemoInstance>& instances) {
  for (const DemoInstance& d : instances) ::kill(d.pid, SIGTERM);
  for (const DemoInstance& d : instances) ::waitpid(d.pid, nullptr, 0);
}

}  // namespace

// The default register with its targets and gross samples scaled, so that a
// demo of fewer (or more) records than a real season looks like a season of
// that size: with the register's own targets, a demo of 8,000 records showed
// every wijk behind all season. Plain splitting on ',' is enough for the
// built-in file (no quoted fields).
std::string ScaledRegisterCsv(const std::string& csv, double scale) {
  std::istringstream in(csv);
  std::ostringstream out;
  std::string line;
  int target = -1, invited = -1;
  for (bool header = true; std::getline(in, line); header = false) {
    std::vector<std::string> fields;
    for (size_t from = 0;;) {
      const size_t comma = line.find(',', from);
      fields.push_back(line.substr(from, comma == std::string::npos ? std::string::npos : comma - from));
      if (comma == std::string::npos) break;
      from = comma + 1;
    }
    if (header) {
      for (int i = 0; i < static_cast<int>(fields.size()); ++i) {
        if (fields[i] == "target") target = i;
        if (fields[i] == "invited") invited = i;
      }
    } else if (target >= 0 && invited >= 0 && static_cast<int>(fields.size()) > std::max(target, invited)) {
      for (int i : {target, invited}) {
        const long v = std::strtol(fields[i].c_str(), nullptr, 10);
        fields[i] = std::to_string(std::max<long>(1, std::lround(static_cast<double>(v) * scale)));
      }
    }
    for (size_t i = 0; i < fields.size(); ++i) out << (i ? "," : "") << fields[i];
    out << "\n";
  }
  return out.str();
}

int DemoCommand(const DemoArgs& a) {
  SetUpLogging(a.log_format, "info");
  SignalWatcher::BlockInThisThread();
  namespace fs = std::filesystem;
  std::string dir = a.state_dir;
  bool temporary = false;
  if (dir.empty()) {
    std::string tmpl = (fs::temp_directory_path() / "wijkpuls-demo-XXXXXX").string();
    if (!mkdtemp(tmpl.data())) return Fail("demo", absl::UnavailableError("cannot create a temporary directory"));
    dir = tmpl;
    temporary = true;
  }
  fs::create_directories(dir);
  Config c;
  c.path = dir + "/demo (built-in configuration)";
  c.methodology_path = dir + "/methodology.yaml";
  c.districts_path = dir + "/districts.csv";
  if (absl::Status st = WriteFile(c.methodology_path, DefaultMethodologyYaml()); !st.ok()) return Fail("demo", st);
  // The season's size sets the register's targets and gross samples; the
  // simulator then draws from the scaled register as it is (scale 1).
  const double scale = static_cast<double>(a.records) / kRecordsAtScale1;
  if (absl::Status st = WriteFile(c.districts_path, ScaledRegisterCsv(DefaultDistrictsCsv(), scale)); !st.ok()) {
    return Fail("demo", st);
  }
  c.store.dir = dir + "/state";
  if (!ParseListen(a.listen, &c.http.host, &c.http.port)) {
    return Fail("demo", absl::InvalidArgumentError(Cat("--listen ", a.listen, ": must be host:port")));
  }
  c.publish.quota_debounce = std::chrono::milliseconds(1000);
  c.publish.scores_interval = std::chrono::milliseconds(5000);

  absl::StatusOr<std::unique_ptr<MockCluster>> cluster = MockCluster::Start(3);
  if (!cluster.ok()) return Fail("demo", cluster.status());
  c.kafka.brokers = (*cluster)->bootstrap();
  for (const auto& [topic, partitions] : std::vector<std::pair<std::string, int>>{
           {c.kafka.topics.responses, 8}, {c.kafka.topics.withdrawals, 2}, {c.kafka.topics.rejected, 4},
           {c.kafka.topics.quota, 4}, {c.kafka.topics.scores, 4}, {c.kafka.topics.summaries, 8}}) {
    if (absl::Status st = (*cluster)->CreateTopic(topic, partitions); !st.ok()) return Fail("demo", st);
  }
  // Several instances share one pseudonymisation key (a task may move to
  // any of them); one instance makes a random key of its own.
  if (a.instances > 1) {
    c.pseudonymisation_key_file = dir + "/key";
    std::string key(64, '0');
    std::ifstream random("/dev/urandom", std::ios::binary);
    for (char& ch : key) {
      char byte = 0;
      random.read(&byte, 1);
      ch = "0123456789abcdef"[static_cast<uint8_t>(byte) & 0xf];
    }
    if (absl::Status st = WriteFile(c.pseudonymisation_key_file, key + "\n"); !st.ok()) return Fail("demo", st);
  }
  absl::StatusOr<std::unique_ptr<Daemon>> daemon = Daemon::Make(c, DaemonOptions{false, a.instances == 1});
  if (!daemon.ok()) return Fail("demo", daemon.status());
  std::vector<DemoInstance> others;
  for (int k = 2; k <= a.instances; ++k) {
    absl::StatusOr<DemoInstance> child = StartDemoInstance(c, dir, k);
    if (!child.ok()) {
      StopDemoInstances(others);
      return Fail("demo", child.status());
    }
    others.push_back(*child);
  }

  absl::StatusOr<std::pair<Methodology, DistrictRegister>> defs = LoadDefinitions(c.methodology_path, c.districts_path);
  if (!defs.ok()) return Fail("demo", defs.status());
  sim::SimOptions so;
  so.seed = a.seed;
  so.scale = 1.0;  // the register is scaled already
  std::vector<sim::SimRecord> season = sim::Generate(defs->first, defs->second, so);
  const Wave& wave = *defs->first.FindWave(so.wave);

  std::atomic<bool> stop{false};
  Daemon* d = daemon->get();
  SignalWatcher watcher(stop, [d] { d->Reload(); });
  std::thread producer([&] {
    sim::ProduceOptions po;
    po.duration_seconds = a.duration_seconds;
    po.stop = &stop;
    po.window_start = wave.window_start;
    po.window_end = wave.grace_end;
    absl::Status st = sim::ProduceToKafka(season, c.kafka, po);
    if (st.ok()) {
      spdlog::info("demo: the simulated season ({} records) is produced; Ctrl-C stops the demo", season.size());
    } else if (!stop.load()) {
      spdlog::error("demo: producing the season: {}", MessageOf(st));
    }
  });
  const std::string base = Cat("http://", c.http.host, ":", d->http_port());
  std::cout << "\nwijkpuls demo: a simulated fieldwork season of " << season.size() << " records over "
            << a.duration_seconds << " s\n"
            << "  fieldwork page   " << base << "/\n"
            << "  quotas (JSON)    " << base << "/api/v1/quotas\n"
            << "  scores (JSON)    " << base << "/api/v1/scores\n"
            << "  quality (JSON)   " << base << "/api/v1/quality\n"
            << "  metrics          " << base << "/metrics\n"
            << "  readiness        " << base << "/readyz\n"
            << "  kafka (mock)     " << c.kafka.brokers << "  (e.g. kcat -b " << c.kafka.brokers
            << " -C -t " << c.kafka.topics.quota << " -e)\n"
            << "  state            " << c.store.dir << "\n";
  for (const DemoInstance& o : others) {
    std::cout << "  instance " << o.number << "       http://" << c.http.host << ":" << o.port << "/  (pid " << o.pid
              << ", log " << o.log << ")\n";
  }
  if (!others.empty()) {
    std::cout << "  The " << a.instances << " instances share the input partitions (group " << c.kafka.group_id
              << "); every page shows every wijk. Try: kill -9 " << others.front().pid
              << " — its partitions move to the others, which read them from the start.\n";
  }
  std::cout << "Ctrl-C stops everything.\n\n" << std::flush;
  absl::Status st = d->Run(stop);
  stop = true;
  StopDemoInstances(others);
  producer.join();
  daemon->reset();
  cluster->reset();
  if (temporary) {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  if (!st.ok()) return Fail("demo", st);
  return kExitOk;
}

int SimulateCommand(const SimulateArgs& a) {
  if (a.out.empty() == a.brokers.empty()) {
    return Fail("simulate", absl::InvalidArgumentError("give exactly one of --out FILE or --brokers HOST:PORT"));
  }
  absl::StatusOr<std::pair<Methodology, DistrictRegister>> defs = LoadDefinitions(a.methodology, a.districts);
  if (!defs.ok()) return Fail("simulate", defs.status());
  sim::SimOptions so;
  so.seed = a.seed;
  so.scale = a.scale > 0 ? a.scale : static_cast<double>(a.records) / kRecordsAtScale1;
  so.json_share = a.json_share;
  so.json_proto_names = a.json_names == "proto";
  so.responses_topic = a.responses_topic;
  so.withdrawals_topic = a.withdrawals_topic;
  std::vector<sim::SimRecord> season = sim::Generate(defs->first, defs->second, so);
  if (!a.truth.empty()) {
    if (absl::Status st = WriteFile(a.truth, sim::TruthJson(sim::Summarise(season)) + "\n"); !st.ok()) {
      return Fail("simulate", st);
    }
  }
  if (!a.out.empty()) {
    if (absl::Status st = sim::WriteRecordFile(season, a.out); !st.ok()) return Fail("simulate", st);
  } else {
    for (sim::SimRecord& r : season) r.partition = -1;  // the topic's own partitioner decides
    KafkaSettings k;
    k.brokers = a.brokers;
    sim::ProduceOptions po;
    po.duration_seconds = a.duration_seconds;
    const Wave& wave = *defs->first.FindWave(so.wave);
    po.window_start = wave.window_start;
    po.window_end = wave.grace_end;
    if (absl::Status st = sim::ProduceToKafka(season, k, po); !st.ok()) return Fail("simulate", st);
  }
  std::cerr << "wijkpuls simulate: " << season.size() << " records (seed " << a.seed << ") written to "
            << (a.out.empty() ? a.brokers : a.out) << "\n";
  return kExitOk;
}

int ReplayCommand(const ReplayArgs& a) {
  absl::StatusOr<Config> config = LoadConfig(a.config);
  if (!config.ok()) return Fail("replay", config.status());
  SetUpLogging(config->log_format, config->log_level);
  if (!a.state_dir.empty()) config->store.dir = a.state_dir;
  // The input first: a wrong path leaves no state directory or rejected file behind.
  if (absl::Status st = FileSource::CheckInput(a.file); !st.ok()) return Fail("replay", st);
  absl::StatusOr<Definitions> defs = LoadConfiguredDefinitions(*config);
  if (!defs.ok()) return Fail("replay", defs.status());
  std::optional<Pseudonymiser> pseudonymiser;
  if (a.ephemeral_key) {
    pseudonymiser = Pseudonymiser::Ephemeral();
  } else {
    auto p = Pseudonymiser::FromKeyFile(config->pseudonymisation_key_file);
    if (!p.ok()) return Fail("replay", absl::InvalidArgumentError(Cat("pseudonymisation_key_file: ", p.status().message())));
    pseudonymiser = std::move(*p);
  }
  QuietProtobufLogging();
  auto store = OpenStateStore(config->store);
  if (!store.ok()) return Fail("replay", ConfigKeyError(store.status(), *config, "state.dir"));
  std::shared_ptr<const Methodology> m = std::move(defs->methodology);
  std::shared_ptr<const DistrictRegister> d = std::move(defs->districts);
  if (absl::Status st = CheckStoredMethodology(**store, *m, config->path, /*stamp=*/true); !st.ok()) {
    return Fail("replay", st);
  }
  auto dead = FileDeadLetters::Open(a.rejected_out.empty() ? a.file + ".rejected" : a.rejected_out);
  if (!dead.ok()) return Fail("replay", dead.status());
  std::unique_ptr<FileSink> snapshots;
  if (!a.snapshots_out.empty()) {
    absl::StatusOr<std::unique_ptr<FileSink>> sink = FileSink::Open(a.snapshots_out);
    if (!sink.ok()) return Fail("replay", sink.status());
    snapshots = std::move(*sink);
  }
  StateHub hub;
  Health health;
  Tally tally;
  PipelineOptions po = config->pipeline;
  po.exit_at_end = true;
  Pipeline pipeline(**store, m, d, *pseudonymiser, SystemClock, config->processor, **dead, hub, health, &tally, po);
  if (absl::Status st = pipeline.Start(); !st.ok()) return Fail("replay", st);
  auto source = FileSource::Open(a.file, &pipeline);
  if (!source.ok()) return Fail("replay", source.status());
  std::atomic<bool> stop{false};
  const auto started = std::chrono::steady_clock::now();
  absl::Status st = pipeline.Run(**source, stop);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  if (!st.ok()) return Fail("replay", st);
  if (!(*source)->error().ok()) return Fail("replay", (*source)->error());
  if (snapshots) {
    // The published views of the end state, as the output topics would carry them.
    OutputOptions oo;
    oo.views = ViewsOf(*config);
    oo.summary_interval = std::chrono::milliseconds(0);  // views only
    OutputPublisher publisher(hub, std::move(snapshots), oo);
    if (!publisher.Stop(std::chrono::seconds(60))) {
      return Fail("replay", absl::UnavailableError(Cat("--snapshots-out ", a.snapshots_out, ": not every value could be written")));
    }
  }
  const int64_t n = pipeline.records_committed();
  std::cout << "replayed " << n << " records in " << secs << " s (" << static_cast<int64_t>(n / std::max(secs, 1e-9))
            << " records/s): accepted " << tally.outcomes[0] << ", flagged " << tally.outcomes[1] << ", duplicate "
            << tally.outcomes[2] << ", rejected " << tally.outcomes[3] << ", withdrawals " << tally.withdrawals << "\n";
  return kExitOk;
}

int CheckConfigCommand(const std::string& file) {
  absl::StatusOr<Config> config = LoadConfig(file);
  if (!config.ok()) return Fail("check-config", absl::InvalidArgumentError(config.status().message()));
  if (absl::Status st = CheckConfig(*config); !st.ok()) return Fail("check-config", absl::InvalidArgumentError(st.message()));
  std::cout << file << ": ok (state " << config->store.dir << ", methodology " << config->methodology_path
            << ", districts " << config->districts_path << ", http " << config->http.host << ":"
            << config->http.port << ")\n";
  return kExitOk;
}

int RebuildCommand(const std::string& config_path, const std::string& state_dir) {
  absl::StatusOr<Config> config = LoadConfig(config_path);
  if (!config.ok()) return Fail("rebuild", config.status());
  if (!state_dir.empty()) config->store.dir = state_dir;
  absl::StatusOr<Definitions> defs = LoadConfiguredDefinitions(*config);
  if (!defs.ok()) return Fail("rebuild", defs.status());
  const Methodology& m = *defs->methodology;
  StoreOptions so = config->store;
  so.create_if_missing = false;
  auto store = OpenStateStore(so);
  if (!store.ok()) return Fail("rebuild", ConfigKeyError(store.status(), *config, "state.dir"));
  const auto started = std::chrono::steady_clock::now();
  RebuildCounts counts;
  absl::StatusOr<TaskStates> tasks = RecomputeAggregates(**store, m, *defs->districts, &counts);
  if (!tasks.ok()) return Fail("rebuild", tasks.status());
  absl::Status st = (*store)->ReplaceAggregates(*tasks, static_cast<int>(m.indicators.size()), m.sha256);
  if (!st.ok()) return Fail("rebuild", st);
  size_t keys = 0;
  for (const auto& [task, state] : *tasks) keys += state.wijken().size();
  std::cout << "rebuilt the aggregates of " << keys << " wave/wijk keys in " << tasks->size()
            << " input partitions from "
            << counts.counted << " counted, " << counts.rejected << " rejected and " << counts.erased
            << " erased responses in "
            << std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count()
            << " s; methodology " << m.sha256.substr(0, 12) << "\n";
  return kExitOk;
}

int DevClusterCommand(const DevClusterArgs& a) {
  SignalWatcher::BlockInThisThread();
  auto cluster = MockCluster::Start(a.brokers);
  if (!cluster.ok()) return Fail("dev-cluster", cluster.status());
  KafkaTopics t;
  for (const std::string& topic : {t.responses, t.withdrawals, t.rejected, t.quota, t.scores, t.summaries}) {
    if (absl::Status st = (*cluster)->CreateTopic(topic, a.partitions); !st.ok()) return Fail("dev-cluster", st);
  }
  std::cout << (*cluster)->bootstrap() << std::endl;
  std::cerr << "wijkpuls dev-cluster: " << a.brokers << " mock broker(s) at " << (*cluster)->bootstrap()
            << "; type 'down' or 'up' to take them down or up; Ctrl-C stops\n";
  std::atomic<bool> stop{false};
  SignalWatcher watcher(stop, nullptr);
  std::thread input([&] {
    std::string line;
    while (!stop.load() && std::getline(std::cin, line)) {
      if (line == "down" || line == "up") {
        absl::Status st = (*cluster)->SetBrokersDown(line == "down");
        std::cerr << "brokers " << line << (st.ok() ? "" : Cat(": ", MessageOf(st))) << "\n";
      }
    }
  });
  while (!stop.load()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  input.detach();  // blocked on stdin; the process ends
  return kExitOk;
}

}  // namespace wijkpuls
