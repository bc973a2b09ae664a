#include "publish/views_json.h"

#include <google/protobuf/util/json_util.h>

#include "nlohmann/json.hpp"

namespace wijkpuls {
namespace {

using nlohmann::json;

std::string Print(const google::protobuf::Message& msg) {
  google::protobuf::util::JsonPrintOptions options;
  options.always_print_primitive_fields = true;
  options.preserve_proto_field_names = true;
  std::string text;
  google::protobuf::util::MessageToJsonString(msg, &text, options);
  return text;
}

json ToJsonValue(const google::protobuf::Message& msg) { return json::parse(Print(msg)); }

// A unit's scores in the protobuf JSON mapping, without the fields that carry
// no number: a score without a value (SUPPRESSED, or too few components)
// publishes no value, score, interval, band or delta; the fields the proto
// defines for indicators only (value, value_se, n_eff) or for themes and
// indices only (components), or for indices only (the reference), are left
// out elsewhere. Printing them as 0 showed numbers nobody computed.
json ScoresToJsonValue(const v1::ProvisionalScores& scores) {
  json j = ToJsonValue(scores);
  using Fields = std::initializer_list<const char*>;
  static constexpr Fields no_value = {"value", "value_se", "score", "score_se", "ci_low", "ci_high", "band", "delta",
                                      "half_width"};
  static constexpr Fields at_close = {"has_value_at_close", "half_width_at_close", "status_at_close"};
  static constexpr Fields indicator_only = {"value", "value_se", "n_eff"};
  static constexpr Fields not_for_indicators = {"components_used", "components_total"};
  static constexpr Fields index_only = {"has_reference", "reference", "delta", "has_target", "target",
                                        "probability_above_target"};
  auto drop = [](json& score, Fields fields) {
    for (const char* f : fields) score.erase(f);
  };
  for (json& score : j["indicators"]) {
    drop(score, not_for_indicators);
    drop(score, index_only);
  }
  for (json& score : j["themes"]) {
    drop(score, indicator_only);
    drop(score, index_only);
  }
  for (json& score : j["indices"]) {
    drop(score, indicator_only);
    score.erase("parent");
    if (!score.value("has_reference", false)) drop(score, {"reference", "delta"});
    if (!score.value("has_target", false)) drop(score, {"target", "probability_above_target"});
    if (!score.value("has_value", false)) drop(score, {"probability_above_target"});
  }
  // The projection to the close of fieldwork is computed for wijken only.
  const bool wijk = j.value("level", "") == "wijk";
  if (!wijk) {
    for (const char* f : {"precision_at_close", "gebied", "focus"}) j.erase(f);
  }
  for (const char* list : {"indicators", "themes", "indices"}) {
    for (json& score : j[list]) {
      if (!score.value("has_value", false)) drop(score, no_value);
      if (!wijk) {
        drop(score, at_close);
      } else if (!score.value("has_value_at_close", false)) {
        score.erase("half_width_at_close");
      }
    }
  }
  return j;
}

}  // namespace

std::string ViewJson(const google::protobuf::Message& msg) { return Print(msg); }

std::string ScoresJson(const v1::ProvisionalScores& scores) { return ScoresToJsonValue(scores).dump(); }

std::string QuotaJson(const v1::QuotaSnapshot& snapshot) {
  json j = ToJsonValue(snapshot);
  for (json& p : j["precision"]) {
    if (!p.value("has_half_width", false)) p.erase("half_width");
    if (!p.value("has_half_width_at_close", false)) p.erase("half_width_at_close");
    if (p.value("has_responses_needed", false)) {
      p.erase("needed_reason");
    } else {
      p.erase("responses_needed");
    }
  }
  return j.dump();
}

}  // namespace wijkpuls
