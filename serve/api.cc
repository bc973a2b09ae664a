#include "serve/api.h"


#include <algorithm>

#include "absl/time/time.h"
#include "model/digest.h"
#include "nlohmann/json.hpp"
#include "score/quota.h"
#include "publish/views.h"
#include "publish/views_json.h"
#include "score/pace.h"
#include "score/quality_tally.h"
#include "validate/wire.h"
#include "model/text.h"

namespace wijkpuls {
namespace {

using nlohmann::json;

json ScoresToJson(const v1::ProvisionalScores& scores) { return json::parse(ScoresJson(scores)); }
json QuotaToJson(const v1::QuotaSnapshot& snapshot) { return json::parse(QuotaJson(snapshot)); }

ApiResponse Ok(const json& j) { return ApiResponse{200, j.dump(), "application/json", "", ""}; }
ApiResponse Error(int status, const std::string& message) {
  // A message may echo what a client sent: bytes that are not UTF-8 are
  // replaced, never a reason to fail.
  return ApiResponse{status, json{{"error", message}}.dump(-1, ' ', false, json::error_handler_t::replace),
                     "application/json", "", ""};
}

std::string Rfc3339(UnixNanos t) {
  if (t == 0) return "";
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E*SZ", absl::FromUnixNanos(t), absl::UTCTimeZone());
}

const Wave* ChooseWave(const CommittedState& cs, const std::string& wave) {
  const Methodology& m = *cs.methodology;
  if (!wave.empty()) return m.FindWave(wave);
  const std::set<std::string> with_data = cs.state.Waves();
  for (auto it = m.waves.rbegin(); it != m.waves.rend(); ++it) {
    if (with_data.count(it->id)) return &*it;
  }
  return &m.waves.back();
}

json InstrumentJson(const InstrumentQuota& iq) {
  return json{{"instrument", std::string(WireName(iq.instrument))},
              {"target", iq.target},
              {"net", iq.net},
              {"accepted", iq.accepted},
              {"flagged", iq.flagged},
              {"rejected", iq.rejected},
              {"surplus", iq.surplus},
              {"rate", iq.rate},
              {"projected", iq.projected},
              {"expected_by_now", iq.expected_by_now},
              {"status", std::string(WireName(iq.status))}};
}

json TotalsJson(const QuotaTotals& t) {
  json by_status = json::object();
  for (QuotaStatus s : {QuotaStatus::kBehind, QuotaStatus::kAtRisk, QuotaStatus::kEarly,
                        QuotaStatus::kOnTrack, QuotaStatus::kComplete}) {
    by_status[std::string(WireName(s))] = t.wijken_by_status[static_cast<int>(s)];
  }
  json instruments = json::array();
  for (const InstrumentQuota& iq : t.instruments) instruments.push_back(InstrumentJson(iq));
  return json{{"invited", t.invited},
              {"counted", t.counted},
              {"response_rate", t.response_rate},
              {"status", std::string(WireName(t.status))},
              {"wijken_by_status", by_status},
              {"cells_behind_count", t.cells_behind},
              {"risk", t.risk},  // the riskiest wijk's
              {"instruments", instruments}};
}

json GroupJson(const QualityGroup& g) {
  json flags = json::object();
  for (QualityFlag f : kAllQualityFlags) flags[std::string(WireName(f))] = g.by_flag[static_cast<int>(f)];
  json rejected = json::object();
  int64_t rejected_total = 0;
  for (RejectReason r : kAllRejectReasons) {
    const int64_t n = g.rejected[static_cast<int>(r)];
    if (n > 0) rejected[std::string(WireName(r))] = n;
    rejected_total += n;
  }
  const int64_t counted = g.accepted + g.flagged;
  json j{{"counted", counted},
         {"accepted", g.accepted},
         {"flagged", g.flagged},
         {"flag_rate", counted > 0 ? static_cast<double>(g.flagged) / counted : 0.0},
         {"flags", flags},
         {"rejected", rejected},
         {"rejected_total", rejected_total},
         {"answers", g.answers},
         {"dont_know", g.dont_know},
         {"refused", g.refused},
         {"not_applicable", g.not_applicable},
         {"dont_know_rate", g.answers > 0 ? static_cast<double>(g.dont_know) / g.answers : 0.0},
         {"refusal_rate", g.answers > 0 ? static_cast<double>(g.refused) / g.answers : 0.0}};
  // Absent when no duration was counted (never null: as protobuf JSON leaves out what is unset).
  if (std::optional<Quartiles> q = DurationQuartiles(g.durations)) {
    j["duration_seconds"] = {{"q1", q->q1}, {"median", q->median}, {"q3", q->q3}, {"n", q->count}};
  }
  return j;
}

// A list of groups, each naming its mode (as by_interviewer names its interviewer).
json ByModeJson(const std::array<QualityGroup, kModeCount>& by_mode) {
  json j = json::array();
  for (Mode m : kAllModes) {
    json g{{"mode", std::string(WireName(m))}};
    g.update(GroupJson(by_mode[static_cast<int>(m)]));
    j.push_back(std::move(g));
  }
  return j;
}

// The event-time watermark of a document: absent until there is one (never null).
void SetWatermark(json& j, UnixNanos watermark) {
  if (watermark != 0) j["watermark"] = Rfc3339(watermark);
}

}  // namespace

Api::Api(const StateHub& hub, ApiOptions options) : hub_(hub), options_(std::move(options)) {}

std::string ContentETag(std::string_view content_type, std::string_view body) {
  const Digest256 d = Sha256(Cat(content_type, std::string_view("\0", 1), body));
  return Cat("\"", ToHex(d.data(), 16), "\"");
}

ApiResponse Api::Cached(const std::string& key,
                        const std::function<ApiResponse(const CommittedState&)>& make) {
  std::shared_ptr<const CommittedState> cs = hub_.Current();
  if (!cs) return Error(503, "the state is not loaded yet");
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (cs->version != cache_version_) {
      cache_.clear();
      cache_version_ = cs->version;
    }
    auto it = cache_.find(key);
    if (it != cache_.end()) return it->second;  // carries its etag
  }
  ApiResponse r = make(*cs);
  if (r.status == 200) r.etag = ContentETag(r.content_type, r.body);
  for (const auto& [task, position] : cs->reflected) {
    if (task >= 0) r.input_offsets += Cat(r.input_offsets.empty() ? "" : ",", task, "=", position.responses);
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (cs->version == cache_version_ && r.status == 200) cache_[key] = r;
  return r;
}

ApiResponse Api::Quotas(const std::string& wave_id) {
  return Cached("quotas/" + wave_id, [&](const CommittedState& cs) {
    const Wave* wave = ChooseWave(cs, wave_id);
    if (!wave) return Error(404, Cat("wave ", Quoted(wave_id), " is not configured"));
    const DistrictRegister& d = *cs.districts;
    const ViewContext ctx = options_.views.ContextFor(*cs.methodology, d, *wave);
    const UnixNanos watermark = cs.state.Watermark(wave->id);
    const std::vector<WijkQuota> quotas = ComputeAllQuotas(cs.state, *wave, ctx);
    json wijken = json::array();
    for (const WijkQuota& q : quotas) wijken.push_back(QuotaToJson(ToQuotaSnapshot(q, *wave, watermark, cs.state, ctx)));
    json gebieden = json::array();
    for (const Gebied& g : d.gebieden()) {
      std::vector<const WijkQuota*> members;
      json ids = json::array();
      for (int w : g.wijken) {
        members.push_back(&quotas[static_cast<size_t>(w)]);
        ids.push_back(d.wijken()[static_cast<size_t>(w)].id);
      }
      json t = TotalsJson(SumQuotas(members, cs.methodology->quota));
      t["gebied"] = g.id;
      t["gebied_name"] = g.name;
      t["wijken"] = ids;
      gebieden.push_back(std::move(t));
    }
    std::vector<const WijkQuota*> all;
    for (const WijkQuota& q : quotas) all.push_back(&q);
    json city = TotalsJson(SumQuotas(all, cs.methodology->quota));
    city["stad"] = std::string(kCityUnit);
    city["stad_name"] = options_.views.city_name;
    const FieldworkProgress p = ProgressAt(*wave, watermark, *cs.methodology);
    json out{{"wave", wave->id},
             {"window_start", FormatDay(wave->window_first_day)},
             {"window_end", FormatDay(wave->window_last_day)},
             {"days_elapsed", p.elapsed},
             {"days_remaining", p.remaining},
             {"fieldwork_days", wave->fieldwork_days},
             {"provisional", ctx.provisional},
             {"methodology_hash", cs.methodology->sha256},
             {"register_hash", d.sha256()},
             {"stad", city},
             {"gebieden", gebieden},
             {"wijken", wijken}};
    SetWatermark(out, watermark);
    return Ok(out);
  });
}

ApiResponse Api::Quota(const std::string& wijk, const std::string& wave_id) {
  return Cached("quota/" + wijk + "/" + wave_id, [&](const CommittedState& cs) {
    const Wave* wave = ChooseWave(cs, wave_id);
    if (!wave) return Error(404, Cat("wave ", Quoted(wave_id), " is not configured"));
    std::optional<int> idx = cs.districts->FindWijk(wijk);
    if (!idx) return Error(404, Cat("wijk ", Quoted(wijk), " is not in the district register"));
    const ViewContext ctx = options_.views.ContextFor(*cs.methodology, *cs.districts, *wave);
    const UnixNanos watermark = cs.state.Watermark(wave->id);
    const Wijk& w = cs.districts->wijken()[static_cast<size_t>(*idx)];
    WijkQuota q = ComputeWijkQuota(w, *idx, cs.state.Find(StateKey{wave->id, w.id}), *wave, watermark, *cs.methodology);
    return Ok(QuotaToJson(ToQuotaSnapshot(q, *wave, watermark, cs.state, ctx)));
  });
}

ApiResponse Api::Scores(const std::string& wave_id) {
  return Cached("scores/" + wave_id, [&](const CommittedState& cs) {
    const Wave* wave = ChooseWave(cs, wave_id);
    if (!wave) return Error(404, Cat("wave ", Quoted(wave_id), " is not configured"));
    const ViewContext ctx = options_.views.ContextFor(*cs.methodology, *cs.districts, *wave);
    json units = json::array();
    for (const UnitRef& u : AllUnits(*cs.districts, options_.views.city_name)) {
      units.push_back(ScoresToJson(ComputeScores(u, cs.state, *wave, ctx)));
    }
    json out{{"wave", wave->id},
             {"window_start", FormatDay(wave->window_first_day)},
             {"window_end", FormatDay(wave->window_last_day)},
             {"provisional", ctx.provisional},
             {"precision_target", cs.methodology->estimation.precision_target},
             {"methodology_hash", cs.methodology->sha256},
             {"units", units}};
    SetWatermark(out, cs.state.Watermark(wave->id));
    return Ok(out);
  });
}

ApiResponse Api::Score(const std::string& level, const std::string& unit, const std::string& wave_id) {
  return Cached("score/" + level + "/" + unit + "/" + wave_id, [&](const CommittedState& cs) {
    const Wave* wave = ChooseWave(cs, wave_id);
    if (!wave) return Error(404, Cat("wave ", Quoted(wave_id), " is not configured"));
    std::optional<UnitRef> u = FindUnit(*cs.districts, level, unit, options_.views.city_name);
    if (!u) return Error(404, Cat("no unit ", level, "/", unit, " (levels: wijk, gebied, stad)"));
    const ViewContext ctx = options_.views.ContextFor(*cs.methodology, *cs.districts, *wave);
    return Ok(ScoresToJson(ComputeScores(*u, cs.state, *wave, ctx)));
  });
}

ApiResponse Api::Pace(const std::string& level, const std::string& unit, const std::string& wave_id) {
  return Cached("pace/" + level + "/" + unit + "/" + wave_id, [&](const CommittedState& cs) {
    const Wave* wave = ChooseWave(cs, wave_id);
    if (!wave) return Error(404, Cat("wave ", Quoted(wave_id), " is not configured"));
    std::optional<UnitRef> u = FindUnit(*cs.districts, level, unit, options_.views.city_name);
    if (!u) return Error(404, Cat("no unit ", level, "/", unit, " (levels: wijk, gebied, stad)"));
    const ViewContext ctx = options_.views.ContextFor(*cs.methodology, *cs.districts, *wave);
    std::vector<PaceMember> members;
    for (int w : u->wijken) {
      const Wijk& wijk = cs.districts->wijken()[static_cast<size_t>(w)];
      members.push_back(PaceMember{wijk.target, cs.state.Find(StateKey{wave->id, wijk.id})});
    }
    const UnixNanos watermark = cs.state.Watermark(wave->id);
    json instruments = json::array();
    for (const InstrumentPace& p : ComputePace(members, *wave, watermark, *cs.methodology)) {
      json days = json::array();
      for (const PaceDay& d : p.days) {
        days.push_back(json{{"date", FormatDay(d.day)}, {"net", d.net}, {"cumulative", d.cumulative},
                            {"expected", d.expected}});
      }
      instruments.push_back(json{{"instrument", v1::Instrument_Name(ToWire(p.instrument))},
                                 {"target", p.target},
                                 {"days", std::move(days)}});
    }
    json out{{"wave", wave->id},
             {"level", u->level},
             {"unit", u->unit},
             {"unit_name", u->name},
             {"fieldwork_days", wave->fieldwork_days},
             {"first_day", FormatDay(wave->rounds.empty() ? wave->window_first_day : wave->rounds.front().first_day)},
             {"last_day", FormatDay(wave->rounds.empty() ? wave->window_last_day : wave->rounds.back().last_day)},
             {"provisional", ctx.provisional},
             {"instruments", std::move(instruments)}};
    SetWatermark(out, watermark);
    return Ok(out);
  });
}

ApiResponse Api::Quality(const std::string& wave_id) {
  return Cached("quality/" + wave_id, [&](const CommittedState& cs) {
    const Wave* wave = ChooseWave(cs, wave_id);
    if (!wave) return Error(404, Cat("wave ", Quoted(wave_id), " is not configured"));
    const DistrictRegister& d = *cs.districts;
    const Methodology& m = *cs.methodology;
    QualityGroup total;
    std::array<QualityGroup, kModeCount> by_mode{};
    std::map<std::string, QualityGroup> by_interviewer;
    std::map<std::string, std::map<std::string, int64_t>> interviewer_wijken;  // counted per wijk
    std::map<uint16_t, int64_t> dropped;
    int64_t unknown_items = 0, other_items = 0;
    json wijken = json::array();
    for (const Wijk& w : d.wijken()) {
      const WijkState* s = cs.state.Find(StateKey{wave->id, w.id});
      static const WijkState kEmpty;
      const QualityTally& t = (s ? *s : kEmpty).quality;
      total.Add(t.total);
      for (int i = 0; i < kModeCount; ++i) by_mode[static_cast<size_t>(i)].Add(t.by_mode[static_cast<size_t>(i)]);
      for (const auto& [id, g] : t.by_interviewer) {
        by_interviewer[id].Add(g);
        interviewer_wijken[id][w.id] = g.accepted + g.flagged;
      }
      for (const auto& [item, n] : t.dropped_by_item) dropped[item] += n;
      unknown_items += t.unknown_items;
      other_items += t.other_instrument_items;
      json wj = GroupJson(t.total);
      wj["wijk"] = w.id;
      wj["wijk_name"] = w.name;
      wj["gebied"] = d.gebieden()[w.gebied].id;
      wj["gebied_name"] = d.gebieden()[w.gebied].name;
      wj["by_mode"] = ByModeJson(t.by_mode);
      wijken.push_back(std::move(wj));
    }
    json interviewers = json::array();
    for (const auto& [id, g] : by_interviewer) {
      json ij = GroupJson(g);
      ij["interviewer"] = id;
      json wijken_of = json::array();
      for (const auto& [wijk, n] : interviewer_wijken[id]) wijken_of.push_back(wijk);
      ij["wijken"] = wijken_of;
      ij["counted_by_wijk"] = interviewer_wijken[id];
      interviewers.push_back(std::move(ij));  // in id order: judging them is the reader's
    }
    json dropped_json = json::object();
    for (const auto& [item, n] : dropped) dropped_json[m.codebook.items()[item].id] = n;
    // Records that could not be attributed to a wijk of this wave.
    QualityGroup unattributed;
    if (const WijkState* s = cs.state.Find(StateKey{wave->id, ""})) unattributed.Add(s->quality.total);
    if (const WijkState* s = cs.state.Find(StateKey{"", ""})) unattributed.Add(s->quality.total);
    // Records that name no known wave are in every wave's document.
    const UnixNanos watermark = cs.state.Watermark(wave->id);
    const FieldworkProgress p = ProgressAt(*wave, watermark, m);
    json waves = json::array();
    for (const std::string& w : cs.state.Waves()) {
      if (m.FindWave(w)) waves.push_back(w);
    }
    json out{{"wave", wave->id},
             {"window_start", FormatDay(wave->window_first_day)},
             {"window_end", FormatDay(wave->window_last_day)},
             {"waves", waves},
             {"days_elapsed", p.elapsed},
             {"provisional", options_.views.Provisional(*wave)},
             {"total", GroupJson(total)},
             {"by_mode", ByModeJson(by_mode)},
             {"by_interviewer", interviewers},
             {"wijken", wijken},
             {"dropped_answers_by_item", dropped_json},
             {"unknown_items", unknown_items},
             {"other_instrument_items", other_items},
             {"unattributed_rejected", GroupJson(unattributed)["rejected"]}};
    SetWatermark(out, watermark);
    return Ok(out);
  });
}


bool IfNoneMatchHits(std::string_view header, std::string_view etag) {
  auto opaque = [](std::string_view tag) {
    if (tag.substr(0, 2) == "W/") tag.remove_prefix(2);
    return tag;
  };
  const std::string_view mine = opaque(etag);
  size_t i = 0;
  while (i < header.size()) {
    while (i < header.size() && (header[i] == ' ' || header[i] == '\t' || header[i] == ',')) ++i;
    if (i >= header.size()) break;
    if (header[i] == '*') return true;
    // An entity-tag: [W/]"…" (no quote inside); anything else ends the list.
    size_t start = i;
    if (header.substr(i, 2) == "W/") i += 2;
    if (i >= header.size() || header[i] != '"') return false;
    const size_t close = header.find('"', i + 1);
    if (close == std::string_view::npos) return false;
    if (opaque(header.substr(start, close + 1 - start)) == mine) return true;
    i = close + 1;
  }
  return false;
}

}  // namespace wijkpuls
