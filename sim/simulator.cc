#include "sim/simulator.h"

#include "sim/season_parts.h"

#include <google/protobuf/util/json_util.h>
#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <set>

#include "nlohmann/json.hpp"
#include "model/text.h"
#include "wijkpuls/v1/wijkpuls.pb.h"

namespace wijkpuls::sim {
namespace {

constexpr int kInterviewers = 30;
constexpr int kBadInterviewer = 13;  // asks quickly and accepts "don't know": visible in the quality view

class SeasonBuilder {
 public:
  SeasonBuilder(const Methodology& m, const DistrictRegister& d, const SimOptions& o)
      : m_(m), d_(d), o_(o), rng_(o.seed), wave_(m.FindWave(o.wave)) {}

  std::vector<SimRecord> Build();

 private:
  void DrawLatents();
  void DrawRespondents();
  Draft CleanResponse(int wijk, Instrument ins, int cell, int round, int64_t seq);
  void DrawAnswers(Draft& d, int wijk, int cell);
  void AddWithdrawals();
  SimRecord Encode(const Draft& d);
  std::string NewResponseId() { return Cat("sim:", o_.wave, ":", ++response_seq_); }

  const Methodology& m_;
  const DistrictRegister& d_;
  const SimOptions& o_;
  Rng rng_;
  const Wave* wave_;
  std::vector<std::vector<double>> theta_;  // [wijk][indicator] in goodness-adjusted units
  std::vector<Draft> drafts_;
  std::vector<SimRecord> withdrawals_;
  int64_t response_seq_ = 0;
  int64_t respondent_seq_ = 0;
};

void SeasonBuilder::DrawLatents() {
  const size_t nw = d_.wijken().size();
  theta_.assign(nw, std::vector<double>(m_.indicators.size()));
  for (size_t w = 0; w < nw; ++w) {
    const double overall = rng_.N();
    std::map<std::string, double> by_index;
    for (const IndexDef& x : m_.indices) by_index[x.id] = 0.75 * overall + 0.66 * rng_.N();
    for (size_t k = 0; k < m_.indicators.size(); ++k) {
      const IndicatorDef& def = m_.indicators[k];
      const double good = 0.8 * by_index[def.index] + 0.6 * rng_.N();
      theta_[w][k] = def.mu0 + def.dir * def.sigma0 * good;
    }
  }
}

void SeasonBuilder::DrawAnswers(Draft& d, int wijk, int cell) {
  const Instrument ins = static_cast<Instrument>(d.instrument - 1);
  const bool bad = d.interviewer == Cat("int-", kBadInterviewer);
  // Older residents answer a little more favourably than young ones.
  static constexpr double kAgeShift[kAgeBandCount] = {-0.3, 0.0, 0.1, 0.2};
  const double shift = kAgeShift[static_cast<int>(CellAge(cell))];
  for (int attempt = 0; attempt < 20; ++attempt) {
    d.answers.clear();
    for (int item : m_.codebook.ItemsOf(ins)) {
      const ItemDef& def = m_.codebook.items()[item];
      const double na = def.id == "F08" ? 0.2 : 0.01;
      const double dk = bad ? 0.12 : 0.02;
      const double u = rng_.U();
      if (u < na) {
        d.answers.emplace_back(def.id, kNotApplicable);
        continue;
      }
      if (u < na + dk) {
        d.answers.emplace_back(def.id, kDontKnow);
        continue;
      }
      if (u < na + dk + 0.007) {
        d.answers.emplace_back(def.id, kRefused);
        continue;
      }
      const std::vector<int>& inds = m_.IndicatorsOfItem(item);
      int code = rng_.Pick(def.scale_codes);
      if (!inds.empty()) {
        const IndicatorDef& ind = m_.indicators[inds[0]];
        const double t = theta_[wijk][inds[0]] + ind.dir * ind.sigma0 * shift;
        if (ind.type == IndicatorType::kMean) {
          code = static_cast<int>(std::lround(t + 1.3 * rng_.N()));
          code = std::clamp(code, def.scale_codes.front(), def.scale_codes.back());
        } else {
          const double p = std::clamp(t / 100.0, 0.01, 0.99);
          std::vector<int> in, out;
          for (int c : def.scale_codes) (ind.Counts(c) ? in : out).push_back(c);
          code = rng_.P(p) ? rng_.Pick(in) : rng_.Pick(out);
        }
      }
      d.answers.emplace_back(def.id, code);
    }
    if (ExpectedFlags(d, m_).Empty()) return;  // no accidental flag
  }
}

Draft SeasonBuilder::CleanResponse(int wijk, Instrument ins, int cell, int round, int64_t seq) {
  Draft d;
  d.response_id = NewResponseId();
  d.ref = Cat("INV", o_.wave, "-", d_.wijken()[wijk].id.substr(0, 3), "-",
              static_cast<uint64_t>(seq) * 7919 % 1000003, "-", ++respondent_seq_);
  d.wave = o_.wave;
  d.wijk = d_.wijken()[wijk].id;
  d.instrument = static_cast<int>(ins) + 1;
  d.age = static_cast<int>(CellAge(cell)) + 1;
  d.sex = static_cast<int>(CellSex(cell)) + 1;
  const bool old = CellAge(cell) == AgeBand::k65Plus;
  std::vector<double> mode_w = old ? std::vector<double>{0.35, 0.45, 0.1, 0.1}
                                   : std::vector<double>{0.65, 0.15, 0.1, 0.1};
  const Mode mode = static_cast<Mode>(rng_.Weighted(mode_w));
  d.mode = static_cast<int>(mode) + 1;
  const FieldworkRound& r = wave_->rounds[static_cast<size_t>(round)];
  double day_offset;
  if (mode == Mode::kPhone || mode == Mode::kFaceToFace) {
    // Follow-up of non-respondents in the last five weeks of the round.
    day_offset = (r.last_day - r.first_day + 1) - rng_.U(0, 35);
    d.interviewer = Cat("int-", rng_.Int(1, kInterviewers));
  } else {
    // Invitations go out in batches over the round, so that there is fieldwork
    // to follow every week, with reminders 14 and 28 days after each.
    const int len = r.last_day - r.first_day + 1;
    const double invited = rng_.U(0, len > 40 ? len - 30 : 10);
    const double u = rng_.U();
    const double delay = u < 0.5 ? rng_.Exp(3) : (u < 0.8 ? 14 + rng_.Exp(3) : 28 + rng_.Exp(4));
    day_offset = invited + delay;
  }
  DayNumber day = r.first_day + static_cast<DayNumber>(day_offset);
  day = std::clamp(day, r.first_day, r.last_day);
  if (mode == Mode::kPaper) {
    day += rng_.Int(2, 5);  // in the post; may arrive in the break or the grace period
    d.submitted = LocalTime(m_, day, 12 * 3600);
  } else {
    const double hour = mode == Mode::kWeb ? rng_.U(8, 23) : rng_.U(10, 20);
    d.submitted = LocalTime(m_, day, hour * 3600);
    double secs = mode == Mode::kWeb ? 840 : (mode == Mode::kPhone ? 1200 : 1500);
    secs *= std::exp(0.35 * rng_.N());
    secs = std::max(secs, mode == Mode::kWeb ? 300.0 : 420.0);
    if (d.interviewer == Cat("int-", kBadInterviewer)) secs = std::max(430.0, secs * 0.45);
    d.started = *d.submitted - static_cast<UnixNanos>(secs * 1e9);
  }
  d.event_time = *d.submitted;
  d.json = rng_.P(o_.json_share);
  DrawAnswers(d, wijk, cell);
  d.expected.wijk = d.wijk;
  d.expected.instrument = ins;
  d.expected.cell = cell;
  d.expected.outcome = Outcome::kAccepted;
  return d;
}

void SeasonBuilder::DrawRespondents() {
  static constexpr double kPropensity[kCellCount] = {0.55, 0.8, 0.8, 0.95, 1.05, 1.15, 1.25, 1.2};
  int64_t seq = 0;
  for (size_t w = 0; w < d_.wijken().size(); ++w) {
    const Wijk& wijk = d_.wijken()[w];
    std::vector<double> pop(wijk.population.begin(), wijk.population.end());
    double mean_rel = 0;
    const double total = static_cast<double>(wijk.PopulationTotal());
    for (int c = 0; c < kCellCount; ++c) mean_rel += pop[c] / total * kPropensity[c];
    // Some wijken respond better than planned, some fall behind.
    const double pace = std::clamp(1.06 + 0.12 * rng_.N(), 0.75, 1.4);
    for (Instrument ins : kAllInstruments) {
      const int64_t invited = std::llround(wijk.invited * o_.scale / 2.0);
      if (invited <= 0) continue;
      const double base = wijk.target * pace * o_.scale / (invited * mean_rel);
      for (int64_t i = 0; i < invited; ++i) {
        const int cell = rng_.Weighted(pop);
        if (!rng_.P(std::min(0.95, base * kPropensity[cell]))) continue;
        const int round = rng_.P(0.68) ? 0 : 1;
        drafts_.push_back(CleanResponse(static_cast<int>(w), ins, cell, round, ++seq));
      }
    }
  }
}

void SeasonBuilder::AddWithdrawals() {
  const int64_t n = std::llround(o_.trouble.withdrawn * static_cast<double>(drafts_.size()));
  int64_t made = 0;
  for (int tries = 0; made < n && tries < n * 50; ++tries) {
    Draft& d = drafts_[static_cast<size_t>(rng_.Int(0, static_cast<int>(drafts_.size()) - 1))];
    if (!d.clean || d.expected.withdrawn_respondent) continue;
    d.clean = false;
    d.expected.withdrawn_respondent = true;
    ++made;
    v1::Withdrawal w;
    w.set_withdrawal_id(Cat("wd-", made));
    w.set_respondent_ref(d.ref);
    w.set_wave(d.wave);
    const bool named = rng_.P(0.7);
    if (named) w.set_wijk(d.wijk);
    const bool before = rng_.P(0.25);
    const UnixNanos t = *d.submitted + (before ? -rng_.Int(1, 10) : rng_.Int(1, 30)) * 86400 * kNanosPerSecond;
    w.mutable_requested_at()->set_seconds(t / kNanosPerSecond);
    SimRecord r;
    r.topic = o_.withdrawals_topic;
    r.key = named ? d.wijk : "";
    r.partition = PartitionOf(r.key, o_.withdrawal_partitions);
    r.value = w.SerializeAsString();
    r.event_time = t;
    r.expected.withdrawal = true;
    r.expected.wijk = d.wijk;
    r.respondent_ref = d.ref;
    withdrawals_.push_back(std::move(r));
  }
}

SimRecord SeasonBuilder::Encode(const Draft& d) {
  SimRecord r;
  r.topic = o_.responses_topic;
  r.key = d.wijk;
  r.partition = PartitionOf(r.key, o_.response_partitions);
  r.event_time = d.event_time;
  r.expected = d.expected;
  r.expected.counted_in_end = !d.expected.withdrawn_respondent &&
                              (d.expected.outcome == Outcome::kAccepted || d.expected.outcome == Outcome::kFlagged);
  r.respondent_ref = d.ref;
  if (d.malformed) {
    // Field 1 with wire type 7 (none exists): no protobuf parser accepts it.
    r.value = std::string("\x0f\xff\x13garbled", 10);
    for (int i = 0; i < 20; ++i) r.value.push_back(static_cast<char>(rng_.Bits() & 0xff));
    return r;
  }
  v1::SurveyResponse msg;
  msg.set_response_id(d.response_id);
  msg.set_respondent_ref(d.ref);
  msg.set_wave(d.wave);
  msg.set_instrument(static_cast<v1::Instrument>(d.instrument));
  msg.set_wijk(d.wijk);
  msg.set_mode(static_cast<v1::Mode>(d.mode));
  if (d.started) {
    msg.mutable_started_at()->set_seconds(*d.started / kNanosPerSecond);
    msg.mutable_started_at()->set_nanos(static_cast<int32_t>(*d.started % kNanosPerSecond));
  }
  if (d.submitted) {
    msg.mutable_submitted_at()->set_seconds(*d.submitted / kNanosPerSecond);
    msg.mutable_submitted_at()->set_nanos(static_cast<int32_t>(*d.submitted % kNanosPerSecond));
  }
  msg.set_age_band(static_cast<v1::AgeBand>(d.age));
  msg.set_sex(static_cast<v1::Sex>(d.sex));
  for (const auto& [item, value] : d.answers) {
    v1::Answer* a = msg.add_answers();
    a->set_item(item);
    a->set_value(value);
  }
  msg.set_interviewer_id(d.interviewer);
  msg.set_consent(d.consent);
  msg.set_instrument_version(d.version);
  if (d.pad_oversized) {
    while (static_cast<int64_t>(msg.ByteSizeLong()) <= o_.max_record_bytes) {
      v1::Answer* a = msg.add_answers();
      a->set_item(Cat("X", msg.answers_size()));
      a->set_value(1);
    }
  }
  if (d.json) {
    google::protobuf::util::JsonPrintOptions print;
    print.preserve_proto_field_names = o_.json_proto_names;
    google::protobuf::util::MessageToJsonString(msg, &r.value, print);
    r.content_type = "application/json";
  } else {
    r.value = msg.SerializeAsString();
  }
  return r;
}

std::vector<SimRecord> SeasonBuilder::Build() {
  DrawLatents();
  DrawRespondents();
  InjectTrouble(drafts_, rng_, m_, *wave_, o_.trouble, [this] { return NewResponseId(); });
  AddWithdrawals();
  std::vector<SimRecord> out;
  out.reserve(drafts_.size() * 103 / 100 + withdrawals_.size());
  for (const Draft& d : drafts_) out.push_back(Encode(d));
  // Redeliveries: the same bytes again, minutes to days later (same key, so
  // the same partition, after the original).
  const int64_t redeliver = std::llround(o_.trouble.redelivered * static_cast<double>(drafts_.size()));
  const size_t originals = out.size();
  for (int64_t i = 0; i < redeliver; ++i) {
    const size_t j = static_cast<size_t>(rng_.Int(0, static_cast<int>(originals) - 1));
    if (!drafts_[j].valid_id) continue;
    SimRecord copy = out[j];
    copy.event_time += static_cast<UnixNanos>(rng_.U(60, 2 * 86400) * 1e9);
    copy.expected.outcome = Outcome::kDuplicate;
    copy.expected.reason.reset();
    copy.expected.flags = FlagSet();
    copy.expected.counted_in_end = false;
    out.push_back(std::move(copy));
  }
  for (SimRecord& w : withdrawals_) out.push_back(std::move(w));
  std::stable_sort(out.begin(), out.end(),
                   [](const SimRecord& a, const SimRecord& b) { return a.event_time < b.event_time; });
  return out;
}

}  // namespace

FlagSet ExpectedFlags(const Draft& d, const Methodology& m) {
  FlagSet f;
  const Mode mode = static_cast<Mode>(d.mode - 1);
  const int64_t min = mode == Mode::kWeb ? 240 : (mode == Mode::kPaper ? 0 : 360);
  if (min > 0 && d.started && *d.submitted - *d.started < min * kNanosPerSecond) f.Add(QualityFlag::kSpeeder);
  const Instrument ins = static_cast<Instrument>(d.instrument - 1);
  std::map<std::string, int> first;  // first valid answer per item
  for (const auto& [item, value] : d.answers) {
    std::optional<int> idx = m.codebook.Find(item);
    if (!idx || m.codebook.items()[*idx].instrument != ins || first.count(item)) {
      if (idx && m.codebook.items()[*idx].instrument == ins) first.emplace(item, -1);  // repeated
      continue;
    }
    const ItemDef& def = m.codebook.items()[*idx];
    first[item] = (IsMissingCode(value) || def.IsSubstantive(value)) ? value : -1;
  }
  if (ins == Instrument::kWijkonderzoek) {
    static const std::vector<std::string> grid = {"S01", "S05", "S06", "S07", "S08", "S09",
                                                  "S10", "F01", "F03", "F07", "F08", "F09"};
    std::set<int> codes;
    int n = 0;
    for (const std::string& g : grid) {
      auto it = first.find(g);
      if (it == first.end() || it->second < 1 || IsMissingCode(it->second)) continue;
      ++n;
      codes.insert(it->second);
    }
    if (n >= 10 && codes.size() == 1) f.Add(QualityFlag::kStraightliner);
  }
  const int items = ins == Instrument::kWijkonderzoek ? 21 : 14;
  int answered = 0;
  for (const auto& [item, v] : first) answered += v > 0 && v != kDontKnow && v != kRefused;
  if (items - answered >= (ins == Instrument::kWijkonderzoek ? 11 : 8)) {
    f.Add(QualityFlag::kHighItemNonresponse);
  }
  return f;
}

UnixNanos LocalTime(const Methodology& m, DayNumber day, double seconds_into_day) {
  return m.StartOfDay(day) + static_cast<UnixNanos>(seconds_into_day * 1e9);
}

int32_t PartitionOf(std::string_view key, int partitions) {
  if (key.empty() || partitions <= 1) return 0;
  const uLong crc = crc32(0L, reinterpret_cast<const Bytef*>(key.data()), static_cast<uInt>(key.size()));
  return static_cast<int32_t>(crc % static_cast<uLong>(partitions));
}

std::vector<SimRecord> Generate(const Methodology& m, const DistrictRegister& districts,
                                const SimOptions& options) {
  SeasonBuilder builder(m, districts, options);
  return builder.Build();
}

SimTruth Summarise(const std::vector<SimRecord>& records) {
  SimTruth t;
  for (const SimRecord& r : records) {
    ++t.records;
    if (r.expected.withdrawal) {
      ++t.withdrawal_records;
      ++t.withdrawn_respondents;
      continue;
    }
    ++t.response_records;
    const Expected& e = r.expected;
    if (e.withdrawn_respondent && e.outcome != Outcome::kDuplicate) {
      ++t.order_dependent_records;
    }
    ++t.by_outcome[std::string(Name(e.outcome))];
    if (e.reason) ++t.by_reason[std::string(WireName(*e.reason))];
    for (QualityFlag f : kAllQualityFlags) {
      if (e.flags.Has(f)) ++t.by_flag[std::string(WireName(f))];
    }
    if (e.counted_in_end) {
      auto& cell = t.final_cells[Cat(e.wijk, "/", ShortName(e.instrument), "/", e.cell)];
      (e.outcome == Outcome::kAccepted ? cell.first : cell.second) += 1;
    }
  }
  return t;
}

std::string TruthJson(const SimTruth& t) {
  nlohmann::json j;
  j["records"] = t.records;
  j["response_records"] = t.response_records;
  j["withdrawal_records"] = t.withdrawal_records;
  j["by_outcome"] = t.by_outcome;
  j["by_reason"] = t.by_reason;
  j["by_flag"] = t.by_flag;
  j["withdrawn_respondents"] = t.withdrawn_respondents;
  j["order_dependent_records"] = t.order_dependent_records;
  nlohmann::json cells = nlohmann::json::object();
  for (const auto& [k, v] : t.final_cells) cells[k] = {{"accepted", v.first}, {"flagged", v.second}};
  j["final_cells"] = cells;
  return j.dump(2);
}

}  // namespace wijkpuls::sim
