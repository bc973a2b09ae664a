#include "model/methodology.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <set>

#include "model/text.h"
#include "absl/time/civil_time.h"
#include "model/digest.h"
#include "model/yaml_reader.h"

namespace wijkpuls {
namespace {

using yaml::Field;

const absl::CivilDay kEpochDay(1970, 1, 1);

DayNumber ToDayNumber(absl::CivilDay d) { return static_cast<DayNumber>(d - kEpochDay); }
absl::CivilDay ToCivil(DayNumber n) { return kEpochDay + n; }

DayNumber ReadDay(const Field& f) {
  std::optional<DayNumber> d = ParseDay(f.String());
  if (!d) f.Fail("must be a date as YYYY-MM-DD");
  return *d;
}

void ReadWaves(const Field& root, Methodology& m) {
  std::set<std::string> seen;
  for (const Field& w : root.Required("waves").Items()) {
    w.AllowOnly({"id", "window_start", "window_end", "grace_days", "rounds"});
    Wave wave;
    wave.id = w.Required("id").String();
    // Part of the output topics' keys (`<wave>/<wijk>`) and of URLs.
    if (wave.id.empty() || wave.id.size() > 64 ||
        !std::all_of(wave.id.begin(), wave.id.end(), [](char c) {
          return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
        })) {
      w.Required("id").Fail("must be 1-64 characters of [A-Za-z0-9._-]");
    }
    if (!seen.insert(wave.id).second) w.Required("id").Fail("wave defined twice");
    wave.window_first_day = ReadDay(w.Required("window_start"));
    wave.window_last_day = ReadDay(w.Required("window_end"));
    if (wave.window_last_day < wave.window_first_day) {
      w.Required("window_end").Fail("is before window_start");
    }
    wave.grace_days = static_cast<int>(w.Required("grace_days").Int(0, 366));
    DayNumber previous_last = wave.window_first_day - 1;
    for (const Field& r : w.Required("rounds").Items()) {
      r.AllowOnly({"start", "end"});
      FieldworkRound round{ReadDay(r.Required("start")), ReadDay(r.Required("end"))};
      if (round.last_day < round.first_day) r.Required("end").Fail("is before start");
      if (round.first_day <= previous_last) {
        r.Required("start").Fail("rounds must be in order, apart, and inside the window");
      }
      if (round.last_day > wave.window_last_day) r.Required("end").Fail("is after window_end");
      previous_last = round.last_day;
      wave.fieldwork_days += round.last_day - round.first_day + 1;
      wave.rounds.push_back(round);
    }
    if (wave.rounds.empty()) w.Required("rounds").Fail("needs at least one round");
    wave.window_start = m.StartOfDay(wave.window_first_day);
    wave.grace_end = m.StartOfDay(wave.window_last_day + 1 + wave.grace_days);
    m.waves.push_back(std::move(wave));
  }
  if (m.waves.empty()) root.Required("waves").Fail("needs at least one wave");
}

void ReadCodebook(const Field& root, Methodology& m) {
  std::map<std::string, std::vector<int>> scales;
  for (auto& [name, f] : root.Required("scales").Entries()) {
    std::vector<int> codes;
    for (int64_t c : f.IntList(0, 96)) codes.push_back(static_cast<int>(c));
    if (codes.empty()) f.Fail("needs at least one code");
    scales[name] = codes;
  }
  if (auto mc = root.Optional("missing_codes")) {
    mc->AllowOnly({"not_applicable", "dont_know", "refused"});
    // The codes are fixed by the contract; the keys document them.
    if (mc->Required("not_applicable").Int(0, 999) != kNotApplicable ||
        mc->Required("dont_know").Int(0, 999) != kDontKnow ||
        mc->Required("refused").Int(0, 999) != kRefused) {
      mc->Fail("the contract fixes 97 not applicable, 98 don't know, 99 refused");
    }
  }
  Field instruments = root.Required("instruments");
  instruments.AllowOnly({"VEILIGHEIDSMONITOR", "WIJKONDERZOEK"});
  for (Instrument ins : kAllInstruments) {
    Field f = instruments.Required(WireName(ins));
    f.AllowOnly({"short", "items"});
    for (auto& [id, scale] : f.Required("items").Entries()) {
      auto it = scales.find(scale.String());
      if (it == scales.end()) scale.Fail(Cat("unknown scale \"", scale.String(), "\""));
      if (m.codebook.Find(id)) scale.Fail("item defined twice");
      m.codebook.Add(ItemDef{id, ins, it->first, it->second});
    }
  }
}

void ReadIndicators(const Field& root, Methodology& m) {
  std::set<std::string> ids;
  for (const Field& f : root.Required("indicators").Items()) {
    f.AllowOnly({"id", "index", "theme", "item", "type", "codes", "dir", "mu0", "sigma0"});
    IndicatorDef d;
    d.id = f.Required("id").String();
    if (!ids.insert(d.id).second) f.Required("id").Fail("indicator defined twice");
    d.index = f.Required("index").String();
    d.theme = f.Required("theme").String();
    std::optional<int> item = m.codebook.Find(f.Required("item").String());
    if (!item) f.Required("item").Fail("not an item of the codebook");
    d.item = *item;
    const ItemDef& def = m.codebook.items()[d.item];
    std::string type = f.Required("type").String();
    if (type == "percent") {
      d.type = IndicatorType::kPercent;
      for (int64_t c : f.Required("codes").IntList(0, 96)) {
        if (!def.IsSubstantive(static_cast<int>(c))) {
          f.Required("codes").Fail(Cat(c, " is not on the scale of ", def.id));
        }
        d.codes.push_back(static_cast<int>(c));
      }
    } else if (type == "mean") {
      d.type = IndicatorType::kMean;
      if (f.Optional("codes")) f.Required("codes").Fail("only percent indicators have codes");
    } else {
      f.Required("type").Fail("must be percent or mean");
    }
    d.dir = static_cast<int>(f.Required("dir").Int(-1, 1));
    if (d.dir == 0) f.Required("dir").Fail("must be 1 or -1");
    d.mu0 = f.Required("mu0").Double();
    d.sigma0 = f.Required("sigma0").Double();
    if (!(d.sigma0 > 0)) f.Required("sigma0").Fail("must be greater than 0");
    m.indicators.push_back(std::move(d));
  }
  if (m.indicators.empty()) root.Required("indicators").Fail("needs at least one indicator");

  for (const Field& f : root.Required("indices").Items()) {
    f.AllowOnly({"id", "name"});
    m.indices.push_back(IndexDef{f.Required("id").String(), f.Required("name").String(), {}});
  }
  // Themes in order of first appearance; each theme belongs to one index.
  for (size_t i = 0; i < m.indicators.size(); ++i) {
    const IndicatorDef& d = m.indicators[i];
    auto index_it = std::find_if(m.indices.begin(), m.indices.end(),
                                 [&](const IndexDef& x) { return x.id == d.index; });
    if (index_it == m.indices.end()) {
      Field(YAML::Node(), Cat("indicators[", i, "].index"))
          .Fail(Cat("\"", d.index, "\" is not in indices"));
    }
    auto theme_it = std::find_if(m.themes.begin(), m.themes.end(),
                                 [&](const ThemeDef& t) { return t.id == d.theme; });
    if (theme_it == m.themes.end()) {
      m.themes.push_back(ThemeDef{d.theme, d.index, {}});
      index_it->themes.push_back(static_cast<int>(m.themes.size() - 1));
      theme_it = m.themes.end() - 1;
    } else if (theme_it->index != d.index) {
      Field(YAML::Node(), Cat("indicators[", i, "].theme"))
          .Fail(Cat("theme \"", d.theme, "\" is already part of index ", theme_it->index));
    }
    theme_it->indicators.push_back(static_cast<int>(i));
  }
  for (const IndexDef& x : m.indices) {
    if (x.themes.empty()) root.Required("indices").Fail(x.id + " has no indicators");
  }
  m.indicators_of_item_.assign(m.codebook.items().size(), {});
  for (size_t i = 0; i < m.indicators.size(); ++i) {
    m.indicators_of_item_[m.indicators[i].item].push_back(static_cast<int>(i));
  }
}

void ReadEstimation(const Field& root, Methodology& m) {
  Field f = root.Required("estimation");
  f.AllowOnly({"suppress_below_n", "low_precision_below_n", "z", "score_center", "score_scale",
               "bands", "precision_target", "proportion_interval"});
  EstimationParams& e = m.estimation;
  if (std::optional<Field> pi = f.Optional("proportion_interval")) {
    const std::string v = pi->String();
    if (v == "wilson") {
      e.proportion_interval = ProportionInterval::kWilson;
    } else if (v == "wald") {
      e.proportion_interval = ProportionInterval::kWald;
    } else {
      pi->Fail("must be wilson or wald");
    }
  }
  e.suppress_below_n = f.Required("suppress_below_n").Int(1, 1'000'000);
  e.low_precision_below_n = f.Required("low_precision_below_n").Int(e.suppress_below_n, 1'000'000);
  e.z = f.Required("z").Double();
  if (!(e.z > 0)) f.Required("z").Fail("must be greater than 0");
  e.score_center = f.Required("score_center").Double();
  e.score_scale = f.Required("score_scale").Double();
  if (!(e.score_scale > 0)) f.Required("score_scale").Fail("must be greater than 0");
  if (std::optional<Field> t = f.Optional("precision_target")) {
    e.precision_target = t->Double();
    if (!(e.precision_target > 0)) t->Fail("must be greater than 0 (score points)");
  }
  Field b = f.Required("bands");
  b.AllowOnly({"much_worse_below", "worse_below", "average_up_to", "better_up_to"});
  e.much_worse_below = b.Required("much_worse_below").Double();
  e.worse_below = b.Required("worse_below").Double();
  e.average_up_to = b.Required("average_up_to").Double();
  e.better_up_to = b.Required("better_up_to").Double();
  if (!(e.much_worse_below <= e.worse_below && e.worse_below <= e.average_up_to &&
        e.average_up_to <= e.better_up_to)) {
    b.Fail("band edges must be in increasing order");
  }
}

void ReadQuality(const Field& root, Methodology& m) {
  Field f = root.Required("quality");
  f.AllowOnly({"speeder_min_seconds", "straightliner", "high_item_nonresponse_min"});
  QualityRules& q = m.quality;
  for (int64_t& s : q.speeder_min_seconds) s = 0;
  for (auto& [mode, secs] : f.Required("speeder_min_seconds").Entries()) {
    std::optional<Mode> md = ParseMode(mode);
    if (!md) secs.Fail("not a mode (WEB, PAPER, PHONE, FACE_TO_FACE)");
    q.speeder_min_seconds[static_cast<int>(*md)] = secs.Int(0, 86'400);
  }
  Field s = f.Required("straightliner");
  s.AllowOnly({"instrument", "items", "min_same"});
  std::optional<Instrument> ins = ParseInstrument(s.Required("instrument").String());
  if (!ins) s.Required("instrument").Fail("not an instrument");
  q.straightliner_instrument = *ins;
  q.straightliner_items.clear();
  for (const Field& item : s.Required("items").Items()) {
    std::optional<int> idx = m.codebook.Find(item.String());
    if (!idx || m.codebook.items()[*idx].instrument != *ins) {
      item.Fail("not an item of the straightliner instrument");
    }
    q.straightliner_items.push_back(*idx);
  }
  q.straightliner_min_same = static_cast<int>(
      s.Required("min_same").Int(1, static_cast<int64_t>(q.straightliner_items.size())));
  Field h = f.Required("high_item_nonresponse_min");
  h.AllowOnly({"VEILIGHEIDSMONITOR", "WIJKONDERZOEK"});
  for (Instrument i : kAllInstruments) {
    q.high_item_nonresponse_min[static_cast<int>(i)] = static_cast<int>(
        h.Required(WireName(i)).Int(1, static_cast<int64_t>(m.codebook.ItemsOf(i).size())));
  }
}

void ReadQuota(const Field& root, Methodology& m) {
  Field f = root.Required("quota");
  f.AllowOnly({"count_flagged_in_net", "pace_window_days", "early_days", "at_risk_fraction",
               "cell_behind_fraction"});
  QuotaRules& q = m.quota;
  q.count_flagged_in_net = f.Required("count_flagged_in_net").Bool();
  q.pace_window_days = static_cast<int>(f.Required("pace_window_days").Int(1, 366));
  q.early_days = static_cast<int>(f.Required("early_days").Int(0, 366));
  auto fraction = [&](const char* key, int64_t& millionths) {
    const Field field = f.Required(key);
    const double v = field.Double();
    if (!(v > 0 && v <= 1)) field.Fail("must be in (0, 1]");
    millionths = std::llround(v * 1e6);
    if (std::fabs(v * 1e6 - static_cast<double>(millionths)) > 1e-6) {
      field.Fail("at most six decimals");
    }
  };
  fraction("at_risk_fraction", q.at_risk_millionths);
  fraction("cell_behind_fraction", q.cell_behind_millionths);
}

// focus: { "wijk/<id>": { VI: 90 }, "wijk/<id>": {} }: the wijken the
// scores page highlights, each with optional index targets.
void ReadFocus(const Field& root, Methodology& m) {
  std::optional<Field> focus = root.Optional("focus");
  if (!focus) return;
  for (auto& [unit, targets] : focus->Entries()) {
    if (unit.rfind("wijk/", 0) != 0 || unit.size() == 5) targets.Fail("must be wijk/<id>");
    auto& mine = m.focus[unit.substr(5)];
    for (auto& [index, v] : targets.Entries()) {
      bool known = std::any_of(m.indices.begin(), m.indices.end(),
                               [&id = index](const IndexDef& x) { return x.id == id; });
      if (!known) v.Fail("not an index id");
      mine[index] = v.Double();
    }
  }
}

void ReadReferences(const Field& root, Methodology& m) {
  std::optional<Field> refs = root.Optional("references");
  if (!refs) return;
  for (auto& [unit, values] : refs->Entries()) {
    if (unit.rfind("wijk/", 0) != 0 && unit.rfind("gebied/", 0) != 0 && unit != "stad/stad") {
      values.Fail("unit must be wijk/<id>, gebied/<id> or stad/stad");
    }
    for (auto& [index, v] : values.Entries()) {
      bool known = std::any_of(m.indices.begin(), m.indices.end(),
                               [&id = index](const IndexDef& x) { return x.id == id; });
      if (!known) v.Fail("not an index id");
      m.references[unit][index] = v.Double();
    }
  }
}

}  // namespace

int Wave::RoundDaysThrough(DayNumber day) const {
  int n = 0;
  for (const FieldworkRound& r : rounds) {
    if (day < r.first_day) break;
    n += std::min(day, r.last_day) - r.first_day + 1;
  }
  return n;
}

std::vector<DayNumber> Wave::LastRoundDays(DayNumber day, int limit) const {
  std::vector<DayNumber> out;
  for (auto r = rounds.rbegin(); r != rounds.rend() && static_cast<int>(out.size()) < limit; ++r) {
    for (DayNumber d = std::min(day, r->last_day);
         d >= r->first_day && static_cast<int>(out.size()) < limit; --d) {
      out.push_back(d);
    }
  }
  return out;
}

bool ItemDef::IsSubstantive(int code) const {
  return std::find(scale_codes.begin(), scale_codes.end(), code) != scale_codes.end();
}

bool IndicatorDef::Counts(int code) const {
  return std::find(codes.begin(), codes.end(), code) != codes.end();
}

std::optional<int> Codebook::Find(std::string_view item_id) const {
  auto it = index_.find(item_id);
  if (it == index_.end()) return std::nullopt;
  return it->second;
}

void Codebook::Add(ItemDef item) {
  const int idx = static_cast<int>(items_.size());
  index_.emplace(item.id, idx);
  by_instrument_[static_cast<int>(item.instrument)].push_back(idx);
  items_.push_back(std::move(item));
}

const Wave* Methodology::FindWave(std::string_view id) const {
  for (const Wave& w : waves) {
    if (w.id == id) return &w;
  }
  return nullptr;
}

DayNumber Methodology::LocalDay(UnixNanos t) const {
  absl::Time at = absl::FromUnixNanos(t);
  return ToDayNumber(absl::CivilDay(absl::ToCivilSecond(at, time_zone)));
}

UnixNanos Methodology::StartOfDay(DayNumber day) const {
  return absl::ToUnixNanos(absl::FromCivil(absl::CivilSecond(ToCivil(day)), time_zone));
}

std::optional<DayNumber> ParseDay(std::string_view iso) {
  absl::CivilDay d;
  if (iso.size() != 10 || !absl::ParseCivilTime(std::string(iso), &d)) return std::nullopt;
  return ToDayNumber(d);
}

std::string FormatDay(DayNumber day) { return absl::FormatCivilTime(ToCivil(day)); }

absl::StatusOr<Methodology> ParseMethodology(std::string_view text, const std::string& source) {
  Methodology m;
  m.path = source;
  m.sha256 = Sha256Hex(text);
  absl::Status st = yaml::ParseYaml(text, source, [&](const Field& root) {
    root.AllowOnly({"version", "waves", "time_zone", "future_tolerance_seconds", "missing_codes",
                    "scales", "instruments", "indicators", "indices", "estimation", "quality",
                    "quota", "references", "focus"});
    if (root.Required("version").Int(1, 1) != 1) root.Fail("unsupported version");
    m.time_zone_name = root.Required("time_zone").String();
    if (!absl::LoadTimeZone(m.time_zone_name, &m.time_zone)) {
      root.Required("time_zone").Fail("unknown time zone (is tzdata installed?)");
    }
    m.future_tolerance_seconds = root.Required("future_tolerance_seconds").Int(0, 86'400);
    ReadWaves(root, m);
    ReadCodebook(root, m);
    ReadIndicators(root, m);
    ReadEstimation(root, m);
    ReadQuality(root, m);
    ReadQuota(root, m);
    ReadReferences(root, m);
    ReadFocus(root, m);
  });
  if (!st.ok()) return st;
  return m;
}

absl::StatusOr<Methodology> LoadMethodology(const std::string& path) {
  absl::StatusOr<std::string> text = yaml::ReadFileToString(path);
  if (!text.ok()) return text.status();
  return ParseMethodology(*text, path);
}

}  // namespace wijkpuls
