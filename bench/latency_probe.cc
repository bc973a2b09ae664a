// Latency from produce to "counted in /api/v1/quotas", at a steady rate.
//
//   wijkpuls_latency_probe --brokers HOST:PORT --partitions P --url http://127.0.0.1:PORT
//                          [--rate 2000] [--seconds 60] [--warmup 5] [--poll-ms 5] [--seed 11]
//                          [--out FILE.json]
//
// It produces simulated responses that the simulator means to be counted
// (accepted or flagged, no duplicates, no withdrawn respondents) at a steady
// rate, each wijk's records to one partition (the CRC32 of the wijk id), so
// that within a wijk records are consumed and committed in produce order. A
// second thread polls GET /api/v1/quotas with If-None-Match (a 304 is cheap)
// and keeps each wijk's counted total (accepted + flagged, both instruments).
// When wijk w's total reaches c, its first c records are counted: their
// latency is the send time of the poll that first saw it minus the time the
// record was handed to the producer. Resolution: one poll cycle (the state
// became visible after the previous poll was answered).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "kafka/kafka_producer.h"
#include "sim/simulator.h"
#include "model/district_register.h"
#include "model/methodology.h"
#include "model/text.h"

namespace wijkpuls::bench {
namespace {

using SteadyClock = std::chrono::steady_clock;
using nlohmann::json;

struct Options {
  std::string brokers;
  int partitions = 0;
  std::string url;
  double rate = 2000;
  double seconds = 60;
  double warmup = 5;
  int poll_ms = 5;
  uint64_t seed = 11;
  std::string topic = "wijkprofiel.responses.v1";
  std::string out;
};

bool ParseArgs(int argc, char** argv, Options& o) {
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--brokers") o.brokers = v;
    else if (k == "--partitions") o.partitions = std::stoi(v);
    else if (k == "--url") o.url = v;
    else if (k == "--rate") o.rate = std::stod(v);
    else if (k == "--seconds") o.seconds = std::stod(v);
    else if (k == "--warmup") o.warmup = std::stod(v);
    else if (k == "--poll-ms") o.poll_ms = std::stoi(v);
    else if (k == "--seed") o.seed = std::stoull(v);
    else if (k == "--topic") o.topic = v;
    else if (k == "--out") o.out = v;
    else return false;
  }
  return argc % 2 == 1 && !o.brokers.empty() && o.partitions > 0 && !o.url.empty() && o.rate > 0;
}

double Ms(SteadyClock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return NAN;
  std::sort(v.begin(), v.end());
  const size_t rank = static_cast<size_t>(std::ceil(p * static_cast<double>(v.size())));
  return v[std::clamp<size_t>(rank, 1, v.size()) - 1];
}

// Counted responses (accepted + flagged) per wijk id, from the quotas JSON.
std::map<std::string, int64_t> CountedByWijk(const std::string& body) {
  std::map<std::string, int64_t> out;
  const json j = json::parse(body, nullptr, false);
  if (!j.is_object() || !j.contains("wijken")) return out;
  for (const json& w : j["wijken"]) {
    int64_t n = 0;
    for (const json& i : w.value("instruments", json::array())) {
      n += i.value("accepted", int64_t{0}) + i.value("flagged", int64_t{0});
    }
    out[w.value("wijk", std::string())] = n;
  }
  return out;
}

int Run(const Options& o) {
  absl::StatusOr<Methodology> m = LoadMethodology(WIJKPULS_SOURCE_DIR "/config/methodology.yaml");
  absl::StatusOr<DistrictRegister> d = DistrictRegister::Load(WIJKPULS_SOURCE_DIR "/config/districts.csv");
  if (!m.ok() || !d.ok()) {
    std::cerr << "latency_probe: cannot load the default definitions\n";
    return 2;
  }
  const size_t wanted = static_cast<size_t>(o.rate * o.seconds);
  sim::SimOptions so;
  so.seed = o.seed;
  so.responses_topic = o.topic;
  so.scale = std::max(0.1, static_cast<double>(wanted) / 25000.0 + 0.1);
  std::vector<sim::SimRecord> records;
  for (sim::SimRecord& r : sim::Generate(*m, *d, so)) {
    const sim::Expected& e = r.expected;
    if (e.withdrawal || !e.counted_in_end || e.withdrawn_respondent || e.wijk.empty()) continue;
    if (e.outcome != Outcome::kAccepted && e.outcome != Outcome::kFlagged) continue;
    r.partition = sim::PartitionOf(e.wijk, o.partitions);
    records.push_back(std::move(r));
    if (records.size() == wanted) break;
  }
  std::cerr << "latency_probe: " << records.size() << " counted responses at " << o.rate << "/s\n";

  KafkaSettings k;
  k.brokers = o.brokers;
  k.producer_properties["linger.ms"] = "0";
  k.producer_properties["queue.buffering.max.messages"] = "1000000";
  absl::StatusOr<std::unique_ptr<KafkaProducer>> producer = KafkaProducer::Make(k, "latency-probe");
  if (!producer.ok()) {
    std::cerr << "latency_probe: " << producer.status().message() << "\n";
    return 1;
  }

  // Per wijk: the send times of its records in order.
  std::map<std::string, std::vector<SteadyClock::time_point>> sent;
  std::map<std::string, size_t> seen;  // records of the wijk already counted
  std::map<std::string, std::vector<double>> latencies_by_wijk;
  std::mutex mu;
  std::atomic<bool> done{false};
  std::vector<double> poll_ms_304, poll_ms_200;  // request durations by answer
  int64_t polls = 0, changed = 0;
  std::map<std::string, int64_t> base;  // counts before the probe started
  bool have_base = false;

  const size_t scheme_end = o.url.find("://");
  httplib::Client http(o.url.substr(0, o.url.find('/', scheme_end == std::string::npos ? 0 : scheme_end + 3)));
  http.set_keep_alive(true);
  std::thread poller([&] {
    std::string etag;
    while (true) {
      const bool last = done.load();
      const auto t_send = SteadyClock::now();
      httplib::Headers h;
      if (!etag.empty()) h.emplace("If-None-Match", etag);
      httplib::Result res = http.Get("/api/v1/quotas", h);
      const auto t_recv = SteadyClock::now();
      ++polls;
      (res && res->status == 200 ? poll_ms_200 : poll_ms_304).push_back(Ms(t_recv - t_send));
      if (res && res->status == 200) {
        ++changed;
        etag = res->get_header_value("ETag");
        std::map<std::string, int64_t> counts = CountedByWijk(res->body);
        std::lock_guard<std::mutex> lock(mu);
        if (!have_base) {
          base = counts;
          have_base = true;
        }
        for (const auto& [wijk, n] : counts) {
          const size_t c = static_cast<size_t>(std::max<int64_t>(0, n - base[wijk]));
          auto& times = sent[wijk];
          size_t& s = seen[wijk];
          for (; s < c && s < times.size(); ++s) {
            latencies_by_wijk[wijk].push_back(Ms(t_send - times[s]));
          }
        }
      }
      if (last) break;
      std::this_thread::sleep_until(t_send + std::chrono::milliseconds(o.poll_ms));
    }
  });
  while (true) {  // the baseline before the first record
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    std::lock_guard<std::mutex> lock(mu);
    if (have_base) break;
  }

  const auto start = SteadyClock::now();
  const auto period = std::chrono::duration<double>(1.0 / o.rate);
  OutgoingRecord out;
  out.topic = o.topic;
  size_t produced = 0;
  for (const sim::SimRecord& r : records) {
    const auto due = start + std::chrono::duration_cast<SteadyClock::duration>(period * static_cast<double>(produced));
    (*producer)->Poll(0);  // delivery reports; not used
    std::this_thread::sleep_until(due);
    out.partition = r.partition;
    out.key = r.key;
    out.value = r.value;
    out.headers.clear();
    if (!r.content_type.empty()) out.headers.emplace_back("content-type", r.content_type);
    {
      std::lock_guard<std::mutex> lock(mu);
      sent[r.expected.wijk].push_back(SteadyClock::now());
    }
    while (!(*producer)->Produce(out, produced).ok()) (*producer)->Poll(1);
    ++produced;
    (*producer)->Poll(0);
  }
  const double produce_seconds = std::chrono::duration<double>(SteadyClock::now() - start).count();
  (*producer)->Flush(10000);
  // Wait until everything is counted (or 30 s without progress).
  auto last_progress = SteadyClock::now();
  size_t last_count = 0;
  while (SteadyClock::now() - last_progress < std::chrono::seconds(30)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    std::lock_guard<std::mutex> lock(mu);
    size_t n = 0;
    for (const auto& [w, s] : seen) n += s;
    if (n == produced) break;
    if (n != last_count) last_count = n, last_progress = SteadyClock::now();
  }
  done = true;
  poller.join();

  // Latencies in produce order, without the warm-up.
  std::vector<double> all, steady;
  std::map<std::string, size_t> next;
  const size_t skip = static_cast<size_t>(o.warmup * o.rate);
  for (size_t i = 0; i < produced; ++i) {
    const std::string& w = records[i].expected.wijk;
    const size_t j = next[w]++;
    if (j >= latencies_by_wijk[w].size()) continue;  // never seen counted
    all.push_back(latencies_by_wijk[w][j]);
    if (i >= skip) steady.push_back(all.back());
  }
  json r = {
      {"method", "per-wijk FIFO: each wijk on one partition; latency = send time of the first "
                 "/api/v1/quotas poll whose count includes the record - produce time"},
      {"rate_target", o.rate},
      {"rate_achieved", static_cast<double>(produced) / produce_seconds},
      {"produced", produced},
      {"counted", all.size()},
      {"warmup_seconds", o.warmup},
      {"poll_interval_ms", o.poll_ms},
      {"poll_request_ms_p50_unchanged", Percentile(poll_ms_304, 0.5)},
      {"poll_request_ms_p50_changed", Percentile(poll_ms_200, 0.5)},
      {"poll_request_ms_p99_changed", Percentile(poll_ms_200, 0.99)},
      {"polls", polls},
      {"polls_with_new_state", changed},
      {"p50_ms", Percentile(steady, 0.50)},
      {"p90_ms", Percentile(steady, 0.90)},
      {"p99_ms", Percentile(steady, 0.99)},
      {"max_ms", steady.empty() ? NAN : *std::max_element(steady.begin(), steady.end())},
      {"p99_ms_including_warmup", Percentile(all, 0.99)},
  };
  std::cout << r.dump(2) << std::endl;
  if (!o.out.empty()) std::ofstream(o.out) << r.dump(2) << "\n";
  return all.size() == produced ? 0 : 1;
}

}  // namespace
}  // namespace wijkpuls::bench

int main(int argc, char** argv) {
  wijkpuls::bench::Options o;
  if (!wijkpuls::bench::ParseArgs(argc, argv, o)) {
    std::cerr << "usage: wijkpuls_latency_probe --brokers HOST:PORT --partitions P --url URL "
                 "[--rate R] [--seconds S] [--warmup S] [--poll-ms MS] [--seed N] [--out FILE]\n";
    return 2;
  }
  return wijkpuls::bench::Run(o);
}
