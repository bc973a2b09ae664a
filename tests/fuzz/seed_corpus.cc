#include "tests/fuzz/seed_corpus.h"

#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <vector>

#include "validate/decode.h"
#include "sim/simulator.h"
#include "tests/fuzz/record_input.h"
#include "model/text.h"
#include "wijkpuls/v1/wijkpuls.pb.h"

namespace wijkpuls::fuzz {
namespace {

constexpr size_t kMaxSeedBytes = 8 * 1024;  // keeps OVERSIZED records (64 KiB) out
constexpr int kPerKind = 3;
constexpr int kMaxSequences = 40;

std::string Direct(const sim::SimRecord& r) {
  return std::string(1, static_cast<char>(r.content_type.empty() ? 0 : kJson)) + r.value;
}

std::string Sequence(const std::vector<const sim::SimRecord*>& records) {
  std::vector<SequencePart> parts;
  for (const sim::SimRecord* r : records) {
    uint8_t header = r->content_type.empty() ? 0 : kJson;
    if (r->expected.withdrawal) header |= kWithdrawals;
    parts.push_back({header, r->value});
  }
  return JoinSequence(parts);
}

// The same record in the JSON mapping (binary ones only).
std::optional<sim::SimRecord> AsJson(const sim::SimRecord& r) {
  if (!r.content_type.empty()) return std::nullopt;
  std::unique_ptr<google::protobuf::Message> msg;
  if (r.expected.withdrawal) {
    msg = std::make_unique<v1::Withdrawal>();
  } else {
    msg = std::make_unique<v1::SurveyResponse>();
  }
  if (!msg->ParseFromString(r.value)) return std::nullopt;
  sim::SimRecord copy = r;
  copy.value.clear();
  if (!google::protobuf::util::MessageToJsonString(*msg, &copy.value).ok()) return std::nullopt;
  copy.content_type = std::string(kJsonContentType);
  return copy;
}

// "accepted-bin", "rejected-OUT_OF_WINDOW-json", "flagged-SPEEDER-bin", ...
std::string KindOf(const sim::SimRecord& r) {
  std::string kind = r.expected.withdrawal ? "withdrawal" : std::string(Name(r.expected.outcome));
  if (r.expected.reason) kind += Cat("-", WireName(*r.expected.reason));
  for (QualityFlag f : kAllQualityFlags) {
    if (r.expected.flags.Has(f)) kind += Cat("-", WireName(f));
  }
  return kind + (r.content_type.empty() ? "-bin" : "-json");
}

class SeedWriter {
 public:
  explicit SeedWriter(std::string dir) : dir_(std::move(dir)) {}
  void Write(const std::string& name, const std::string& content) {
    std::ofstream(dir_ + "/" + name, std::ios::binary) << content;
    ++written_;
  }
  int written() const { return written_; }

 private:
  std::string dir_;
  int written_ = 0;
};

void WriteSingles(const std::vector<sim::SimRecord>& records, SeedWriter& out) {
  std::map<std::string, int> per_kind;
  for (const sim::SimRecord& r : records) {
    if (r.value.size() > kMaxSeedBytes) continue;
    const std::string kind = KindOf(r);
    const int n = ++per_kind[kind];
    if (n > kPerKind) continue;
    out.Write(Cat("direct-", kind, "-", n), Direct(r));
    if (std::optional<sim::SimRecord> json = AsJson(r)) {
      out.Write(Cat("direct-", kind, "-", n, "-as-json"), Direct(*json));
    }
  }
}

// The records of one respondent (redeliveries, second responses, withdrawals),
// in production order and reversed.
void WriteSequences(const std::vector<sim::SimRecord>& records, SeedWriter& out) {
  std::map<std::string, std::vector<const sim::SimRecord*>> by_ref;
  for (const sim::SimRecord& r : records) {
    if (!r.respondent_ref.empty() && r.value.size() <= kMaxSeedBytes) {
      by_ref[r.respondent_ref].push_back(&r);
    }
  }
  int n = 0;
  for (const auto& [ref, group] : by_ref) {
    if ((group.size() < 2 && !group.front()->expected.withdrawal) || n >= kMaxSequences) continue;
    std::vector<const sim::SimRecord*> forward(group.begin(), group.end());
    if (forward.size() > kMaxSequence) forward.resize(kMaxSequence);
    out.Write(Cat("sequence-", n++), Sequence(forward));
    const std::vector<const sim::SimRecord*> backward(forward.rbegin(), forward.rend());
    out.Write(Cat("sequence-", n++), Sequence(backward));
  }
  std::vector<const sim::SimRecord*> mixed;
  const size_t step = std::max<size_t>(1, records.size() / 16);
  for (size_t i = 0; i < records.size() && mixed.size() < kMaxSequence; i += step) {
    if (records[i].value.size() <= kMaxSeedBytes) mixed.push_back(&records[i]);
  }
  out.Write("sequence-mixed", Sequence(mixed));
}

}  // namespace

int WriteSeedCorpus(const Methodology& m, const DistrictRegister& districts,
                    const std::string& dir) {
  std::filesystem::create_directories(dir);
  sim::SimOptions options;
  options.seed = 20240301;
  options.scale = 0.05;  // about 1,500 records: every kind of trouble appears
  options.json_share = 0.3;
  const std::vector<sim::SimRecord> records = sim::Generate(m, districts, options);
  SeedWriter out(dir);
  WriteSingles(records, out);
  WriteSequences(records, out);
  return out.written();
}

}  // namespace wijkpuls::fuzz
