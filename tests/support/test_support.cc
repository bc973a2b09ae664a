#include "tests/support/test_support.h"

#include <cctype>
#include <fcntl.h>
#include <httplib.h>
#include <librdkafka/rdkafkacpp.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "absl/time/civil_time.h"
#include "absl/time/time.h"

#ifndef WIJKPULS_SOURCE_DIR
#error "WIJKPULS_SOURCE_DIR must be defined"
#endif
#ifndef WIJKPULS_BINARY
#error "WIJKPULS_BINARY must be defined"
#endif
#ifndef WIJKPULS_TEST_TMP
#error "WIJKPULS_TEST_TMP must be defined"
#endif

namespace wijkpuls::testing {

std::string SourceDir() { return WIJKPULS_SOURCE_DIR; }
std::string BinaryPath() { return WIJKPULS_BINARY; }
std::string MethodologyPath() { return SourceDir() + "/config/methodology.yaml"; }
std::string DistrictsPath() { return SourceDir() + "/config/districts.csv"; }

const Methodology& DefaultMethodology() {
  static const Methodology* m = [] {
    absl::StatusOr<Methodology> r = LoadMethodology(MethodologyPath());
    if (!r.ok()) throw std::runtime_error(std::string(r.status().message()));
    return new Methodology(std::move(*r));
  }();
  return *m;
}

const DistrictRegister& DefaultDistricts() {
  static const DistrictRegister* d = [] {
    absl::StatusOr<DistrictRegister> r = DistrictRegister::Load(DistrictsPath());
    if (!r.ok()) throw std::runtime_error(std::string(r.status().message()));
    return new DistrictRegister(std::move(*r));
  }();
  return *d;
}

TempDir::TempDir() {
  std::filesystem::create_directories(WIJKPULS_TEST_TMP);
  std::string tmpl = std::string(WIJKPULS_TEST_TMP) + "/t-XXXXXX";
  if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  if (std::getenv("WIJKPULS_KEEP_TEST_DIRS") == nullptr) std::filesystem::remove_all(path_, ec);
}

UnixNanos Local(const std::string& civil) {
  absl::CivilSecond cs;
  std::string iso = civil;
  if (iso.size() > 10 && iso[10] == ' ') iso[10] = 'T';
  if (!absl::ParseCivilTime(iso, &cs)) throw std::runtime_error("bad civil time " + civil);
  absl::TimeZone tz;
  absl::LoadTimeZone("Europe/Amsterdam", &tz);
  return absl::ToUnixNanos(absl::FromCivil(cs, tz));
}

bool WaitFor(const std::function<bool()>& condition, std::chrono::milliseconds timeout,
             std::chrono::milliseconds every) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (condition()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(every);
  }
}

void WriteFile(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string Patched(std::string text, const std::string& from, const std::string& to) {
  const size_t at = text.find(from);
  if (at == std::string::npos) throw std::runtime_error("no \"" + from + "\" in the text to patch");
  return text.replace(at, from.size(), to);
}

std::string WithLine(std::string text, const std::string& prefix, const std::string& line) {
  for (size_t at = 0; at < text.size();) {
    const size_t end = text.find('\n', at);
    const size_t next = end == std::string::npos ? text.size() : end + 1;
    if (text.compare(at, prefix.size(), prefix) == 0) {
      return text.replace(at, next - at, line.empty() ? "" : line + "\n");
    }
    at = next;
  }
  throw std::runtime_error("no line starting with \"" + prefix + "\" in the text to patch");
}

Subprocess::Subprocess(const std::vector<std::string>& argv, const std::string& output_file)
    : output_file_(output_file) {
  pid_ = fork();
  if (pid_ == 0) {
    const int fd = open(output_file.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    dup2(fd, 1);
    dup2(fd, 2);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
}

Subprocess::~Subprocess() {
  if (Running()) {
    kill(pid_, SIGKILL);
    Wait(std::chrono::seconds(10));
  }
}

void Subprocess::Signal(int sig) {
  if (pid_ > 0) kill(pid_, sig);
}

bool Subprocess::Running() {
  if (exit_code_) return false;
  int status = 0;
  const pid_t r = waitpid(pid_, &status, WNOHANG);
  if (r == 0) return true;
  if (r == pid_) exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return false;
}

std::optional<int> Subprocess::Wait(std::chrono::milliseconds timeout) {
  WaitFor([&] { return !Running(); }, timeout, std::chrono::milliseconds(20));
  return exit_code_;
}

int RunCommand(const std::vector<std::string>& argv, std::string* output, std::chrono::milliseconds timeout) {
  TempDir dir;
  Subprocess p(argv, dir.File("out"));
  std::optional<int> code = p.Wait(timeout);
  if (output) *output = p.Output();
  return code.value_or(-1);
}

HttpResult HttpGet(int port, const std::string& path) {
  httplib::Client client("127.0.0.1", port);
  client.set_connection_timeout(2);
  client.set_read_timeout(30);
  httplib::Result r = client.Get(path.c_str());
  if (!r) return HttpResult{};
  HttpResult out{r->status, r->body, {}};
  for (const auto& [name, value] : r->headers) {
    std::string lower = name;
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    out.headers[lower] = value;
  }
  return out;
}

HttpResult HttpPost(int port, const std::string& path) {
  httplib::Client client("127.0.0.1", port);
  client.set_connection_timeout(2);
  client.set_read_timeout(30);
  httplib::Result r = client.Post(path.c_str(), "{}", "application/json");
  if (!r) return HttpResult{};
  return HttpResult{r->status, r->body};
}

int FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  const int port = ntohs(addr.sin_port);
  close(fd);
  return port;
}

namespace {

std::unique_ptr<RdKafka::KafkaConsumer> ReaderFor(const std::string& brokers) {
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  std::string err;
  conf->set("bootstrap.servers", brokers, err);
  conf->set("group.id", "wijkpuls-test-reader", err);
  conf->set("enable.auto.commit", "false", err);
  conf->set("enable.partition.eof", "true", err);
  conf->set("log_level", "3", err);
  return std::unique_ptr<RdKafka::KafkaConsumer>(RdKafka::KafkaConsumer::create(conf.get(), err));
}

std::vector<int32_t> PartitionsOf(RdKafka::KafkaConsumer& c, const std::string& topic) {
  std::string err;
  std::unique_ptr<RdKafka::Topic> t(RdKafka::Topic::create(&c, topic, nullptr, err));
  RdKafka::Metadata* md = nullptr;
  std::vector<int32_t> out;
  if (c.metadata(false, t.get(), &md, 10000) == RdKafka::ERR_NO_ERROR) {
    for (const RdKafka::TopicMetadata* tm : *md->topics()) {
      for (const RdKafka::PartitionMetadata* pm : *tm->partitions()) out.push_back(pm->id());
    }
  }
  delete md;
  return out;
}

// The low and high watermarks of a partition. Retried for up to 30 s (a
// broker just back from an outage may not answer at once); then it throws, so
// that a reader never silently leaves a partition out.
std::pair<int64_t, int64_t> Watermarks(RdKafka::KafkaConsumer& c, const std::string& topic, int32_t partition) {
  int64_t lo = 0, hi = 0;
  RdKafka::ErrorCode e = RdKafka::ERR_NO_ERROR;
  if (!WaitFor([&] { return (e = c.query_watermark_offsets(topic, partition, &lo, &hi, 5000)) == RdKafka::ERR_NO_ERROR; },
               std::chrono::seconds(30))) {
    throw std::runtime_error("the offsets of " + topic + " [" + std::to_string(partition) +
                             "] cannot be read: " + RdKafka::err2str(e));
  }
  return {lo, hi};
}

}  // namespace

std::map<int32_t, int64_t> EndOffsets(const std::string& brokers, const std::string& topic) {
  std::unique_ptr<RdKafka::KafkaConsumer> c = ReaderFor(brokers);
  std::map<int32_t, int64_t> out;
  for (int32_t p : PartitionsOf(*c, topic)) {
    out[p] = Watermarks(*c, topic, p).second;
  }
  c->close();
  return out;
}

std::vector<KafkaRecord> ReadTopic(const std::string& brokers, const std::string& topic) {
  std::unique_ptr<RdKafka::KafkaConsumer> c = ReaderFor(brokers);
  std::map<int32_t, int64_t> ends;
  std::vector<RdKafka::TopicPartition*> tps;
  for (int32_t p : PartitionsOf(*c, topic)) {
    const auto [lo, hi] = Watermarks(*c, topic, p);
    if (hi > lo) {
      ends[p] = hi;
      tps.push_back(RdKafka::TopicPartition::create(topic, p, RdKafka::Topic::OFFSET_BEGINNING));
    }
  }
  std::vector<KafkaRecord> out;
  bool complete = true;
  if (!tps.empty()) {
    c->assign(tps);
    std::map<int32_t, int64_t> next;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    auto done = [&] {
      for (const auto& [p, end] : ends) {
        if (next[p] < end) return false;
      }
      return true;
    };
    while (!done() && std::chrono::steady_clock::now() < deadline) {
      std::unique_ptr<RdKafka::Message> m(c->consume(200));
      if (m->err() != RdKafka::ERR_NO_ERROR) continue;
      KafkaRecord r;
      r.partition = m->partition();
      r.offset = m->offset();
      if (m->key()) r.key = *m->key();
      r.value.assign(static_cast<const char*>(m->payload()), m->len());
      if (RdKafka::Headers* h = m->headers()) {
        for (const RdKafka::Headers::Header& hd : h->get_all()) {
          r.headers[hd.key()] = std::string(static_cast<const char*>(hd.value()), hd.value_size());
        }
      }
      next[r.partition] = r.offset + 1;
      out.push_back(std::move(r));
    }
    complete = done();
  }
  RdKafka::TopicPartition::destroy(tps);
  c->close();
  if (!complete) throw std::runtime_error("reading " + topic + ": not every record was read within 60 s");
  return out;
}

std::string WriteTestConfig(const TempDir& dir, const std::string& brokers, int port,
                            const std::string& group, const std::string& extra_yaml) {
  WriteFile(dir.File("key"), "0123456789abcdef0123456789abcdef-test-key\n");
  std::ostringstream y;
  y << "kafka:\n  brokers: \"" << brokers << "\"\n  group_id: " << group << "\n"
    << "  delivery_timeout_ms: 10000\n"
    // The mock cluster keeps a member that left until its session times out:
    // a short session makes restarts quick.
    << "  consumer_properties: {session.timeout.ms: \"6000\", heartbeat.interval.ms: \"500\"}\n"
    << "state:\n  dir: " << dir.File("state") << "\n  sync_writes: false\n  min_free_mb: 64\n"
    << "http:\n  listen: \"127.0.0.1:" << port << "\"\n"
    << "methodology: " << MethodologyPath() << "\n"
    << "districts: " << DistrictsPath() << "\n"
    << "pseudonymisation_key_file: " << dir.File("key") << "\n"
    << "publish:\n  quota_debounce_ms: 200\n  scores_interval_ms: 500\n"
    << extra_yaml;
  const std::string path = dir.File("wijkpuls.yaml");
  WriteFile(path, y.str());
  return path;
}

}  // namespace wijkpuls::testing
