#include "serve/openapi.h"

#include <google/protobuf/descriptor.h>

#include <map>
#include <set>
#include <string_view>

#include "model/types.h"
#include "nlohmann/json.hpp"
#include "wijkpuls/v1/wijkpuls.pb.h"

namespace wijkpuls {

const std::string& OpenApiSkeleton();  // serve/openapi.json, embedded

namespace {

using google::protobuf::Descriptor;
using google::protobuf::EnumDescriptor;
using google::protobuf::FieldDescriptor;
using nlohmann::json;

// Fields the JSON leaves out in some messages (publish/views_json.cc): every
// other field of a message is always printed (always_print_primitive_fields),
// but for singular message fields, which are absent when unset.
const std::map<std::string_view, std::set<std::string_view>>& SometimesAbsent() {
  static const auto* kAbsent = new std::map<std::string_view, std::set<std::string_view>>{
      {"IndexPrecision", {"half_width", "half_width_at_close", "needed_reason", "responses_needed"}},
      // A score prints what its kind and its status give it: id, has_value, n
      // and status always.
      {"Score",
       {"value", "value_se", "score", "score_se", "ci_low", "ci_high", "n_eff", "band", "components_used",
        "components_total", "has_reference", "reference", "delta", "half_width", "has_value_at_close",
        "half_width_at_close", "status_at_close", "has_target", "target", "probability_above_target", "parent"}},
      // The projection to the close, the gebied and the focus: wijk units only.
      {"ProvisionalScores", {"precision_at_close", "gebied", "focus"}},
  };
  return *kAbsent;
}

json Ref(std::string_view name) { return json{{"$ref", "#/components/schemas/" + std::string(name)}}; }

json EnumSchema(const EnumDescriptor& e) {
  json values = json::array();
  for (int i = 0; i < e.value_count(); ++i) values.push_back(e.value(i)->name());
  return json{{"type", "string"}, {"enum", values}, {"description", "enum " + e.full_name() + " (by name)"}};
}

class Generator {
 public:
  explicit Generator(json& schemas) : schemas_(schemas) {}

  void Message(const Descriptor& d) {
    if (schemas_.contains(d.name())) return;
    schemas_[d.name()] = json::object();  // claimed before its fields (recursion)
    json properties = json::object();
    json required = json::array();
    const auto absent = SometimesAbsent().find(d.name());
    for (int i = 0; i < d.field_count(); ++i) {
      const FieldDescriptor& f = *d.field(i);
      json type = Field(f);
      if (f.is_repeated()) type = json{{"type", "array"}, {"items", type}};
      properties[f.name()] = type;
      const bool maybe_absent = (!f.is_repeated() && f.type() == FieldDescriptor::TYPE_MESSAGE) ||
                                (absent != SometimesAbsent().end() && absent->second.count(f.name()));
      if (!maybe_absent) required.push_back(f.name());
    }
    schemas_[d.name()] = json{{"type", "object"},
                              {"description", "message " + d.full_name() + " in the protobuf JSON mapping"},
                              {"additionalProperties", false},
                              {"required", required},
                              {"properties", properties}};
  }

 private:
  json Field(const FieldDescriptor& f) {
    switch (f.type()) {
      case FieldDescriptor::TYPE_DOUBLE:
      case FieldDescriptor::TYPE_FLOAT:
        return json{{"type", "number"}};
      case FieldDescriptor::TYPE_INT32:
      case FieldDescriptor::TYPE_SINT32:
      case FieldDescriptor::TYPE_SFIXED32:
      case FieldDescriptor::TYPE_UINT32:
      case FieldDescriptor::TYPE_FIXED32:
        return json{{"type", "integer"}};
      case FieldDescriptor::TYPE_INT64:
      case FieldDescriptor::TYPE_SINT64:
      case FieldDescriptor::TYPE_SFIXED64:
      case FieldDescriptor::TYPE_UINT64:
      case FieldDescriptor::TYPE_FIXED64:
        return json{{"type", "string"}, {"pattern", "^-?[0-9]+$"}};  // 64-bit integers are strings in JSON
      case FieldDescriptor::TYPE_BOOL:
        return json{{"type", "boolean"}};
      case FieldDescriptor::TYPE_STRING:
        return json{{"type", "string"}};
      case FieldDescriptor::TYPE_BYTES:
        return json{{"type", "string"}, {"contentEncoding", "base64"}};
      case FieldDescriptor::TYPE_ENUM: {
        const EnumDescriptor& e = *f.enum_type();
        if (!schemas_.contains(e.name())) schemas_[e.name()] = EnumSchema(e);
        return Ref(e.name());
      }
      case FieldDescriptor::TYPE_MESSAGE:
      case FieldDescriptor::TYPE_GROUP: {
        const Descriptor& m = *f.message_type();
        if (m.full_name() == "google.protobuf.Timestamp") return Ref("Instant");
        Message(m);
        return Ref(m.name());
      }
    }
    return json::object();
  }

  json& schemas_;
};

// The names the quality document uses for a model enum's values (WireName).
template <typename E, size_t N>
json Names(const std::array<E, N>& all) {
  json names = json::array();
  for (E v : all) names.push_back(std::string(WireName(v)));
  return names;
}

// An object of counts keyed by those names; with every name when `every_key`.
template <typename E, size_t N>
json Counts(const std::array<E, N>& all, bool every_key) {
  const json names = Names(all);
  json properties = json::object();
  for (const json& n : names) properties[n.get<std::string>()] = Ref("Count");
  json c{{"type", "object"}, {"additionalProperties", false}, {"properties", properties}};
  if (every_key) c["required"] = names;
  return c;
}

}  // namespace

const std::string& OpenApiDocument() {
  static const std::string* kDocument = [] {
    json doc = json::parse(OpenApiSkeleton());
    json& schemas = doc["components"]["schemas"];
    Generator g(schemas);
    g.Message(*v1::QuotaSnapshot::descriptor());
    g.Message(*v1::ProvisionalScores::descriptor());
    schemas["Mode"] = json{{"type", "string"}, {"enum", Names(kAllModes)}};
    // Flags: every flag is counted (0 too); rejections: only the reasons seen.
    schemas["FlagCounts"] = Counts(kAllQualityFlags, /*every_key=*/true);
    schemas["RejectCounts"] = Counts(kAllRejectReasons, /*every_key=*/false);
    return new std::string(doc.dump(1));
  }();
  return *kDocument;
}

}  // namespace wijkpuls
