#include "model/yaml_reader.h"

#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>

#include "model/text.h"

namespace wijkpuls::yaml {
namespace {

std::string Join(const std::string& path, std::string_view key) {
  return path.empty() ? std::string(key) : Cat(path, ".", key);
}

std::string Describe(const YAML::Node& n) {
  if (!n || n.IsNull()) return "nothing";
  if (n.IsScalar()) return Cat("\"", n.Scalar(), "\"");
  if (n.IsSequence()) return "a list";
  return "a map";
}

}  // namespace

void Field::Fail(std::string what) const { throw FieldError{path_, std::move(what)}; }

Field Field::Required(std::string_view key) const {
  if (!node_.IsMap()) Fail("must be a map");
  YAML::Node child = node_[std::string(key)];
  Field f(child, Join(path_, key));
  if (!child || child.IsNull()) f.Fail("is required");
  return f;
}

std::optional<Field> Field::Optional(std::string_view key) const {
  if (IsNull()) return std::nullopt;
  if (!node_.IsMap()) Fail("must be a map");
  YAML::Node child = node_[std::string(key)];
  if (!child || child.IsNull()) return std::nullopt;
  return Field(child, Join(path_, key));
}

void Field::AllowOnly(std::initializer_list<std::string_view> allowed) const {
  if (IsNull()) return;
  if (!node_.IsMap()) Fail("must be a map");
  for (const auto& kv : node_) {
    const std::string key = kv.first.as<std::string>();
    bool ok = false;
    for (std::string_view a : allowed) ok = ok || a == key;
    if (!ok) {
      std::string list;
      for (std::string_view a : allowed) list += Cat(list.empty() ? "" : ", ", a);
      Field(kv.second, Join(path_, key)).Fail(Cat("unknown key (known here: ", list, ")"));
    }
  }
}

std::string Field::String() const {
  if (!node_.IsScalar()) Fail(Cat("must be a text value, found ", Describe(node_)));
  std::string s = node_.Scalar();
  if (s.empty()) Fail("must not be empty");
  return s;
}

std::string Field::Text() const {
  if (!node_.IsScalar()) Fail(Cat("must be a text value, found ", Describe(node_)));
  return node_.Scalar();
}

int64_t Field::Int(int64_t min, int64_t max) const {
  if (!node_.IsScalar()) Fail(Cat("must be a whole number, found ", Describe(node_)));
  int64_t v = 0;
  try {
    v = node_.as<int64_t>();
  } catch (const YAML::Exception&) {
    Fail(Cat("must be a whole number, found ", Describe(node_)));
  }
  if (v < min || v > max) Fail(Cat("must be between ", min, " and ", max, ", found ", v));
  return v;
}

double Field::Double() const {
  if (!node_.IsScalar()) Fail(Cat("must be a number, found ", Describe(node_)));
  double v = 0;
  try {
    v = node_.as<double>();
  } catch (const YAML::Exception&) {
    Fail(Cat("must be a number, found ", Describe(node_)));
  }
  // .nan and .inf are YAML numbers, but no setting has a use for them.
  if (!std::isfinite(v)) Fail(Cat("must be a finite number, found ", Describe(node_)));
  return v;
}

bool Field::Bool() const {
  if (!node_.IsScalar()) Fail(Cat("must be true or false, found ", Describe(node_)));
  try {
    return node_.as<bool>();
  } catch (const YAML::Exception&) {
    Fail(Cat("must be true or false, found ", Describe(node_)));
  }
}

std::vector<Field> Field::Items() const {
  if (!node_.IsSequence()) Fail(Cat("must be a list, found ", Describe(node_)));
  std::vector<Field> out;
  for (size_t i = 0; i < node_.size(); ++i) {
    out.emplace_back(node_[i], Cat(path_, "[", i, "]"));
  }
  return out;
}

std::vector<std::pair<std::string, Field>> Field::Entries() const {
  if (!node_.IsMap()) Fail(Cat("must be a map, found ", Describe(node_)));
  std::vector<std::pair<std::string, Field>> out;
  for (const auto& kv : node_) {
    std::string key = kv.first.as<std::string>();
    out.emplace_back(key, Field(kv.second, Join(path_, key)));
  }
  return out;
}

std::vector<int64_t> Field::IntList(int64_t min, int64_t max) const {
  std::vector<int64_t> out;
  for (const Field& f : Items()) out.push_back(f.Int(min, max));
  return out;
}

namespace {

// A key given twice in one map, or a key that is not a plain scalar (a list
// or a map as a key). YAML forbids the first, but yaml-cpp keeps both and
// answers with the first: an override appended at the end of a file would be
// ignored without a word. The second made yaml-cpp's conversion fail with no
// key named. `path` is the map's key path ("" at the top).
struct BadKey {
  std::string path;
  YAML::Mark mark;
  std::string what;
};
std::optional<BadKey> FindBadKey(const YAML::Node& node, const std::string& path) {
  if (node.IsMap()) {
    std::set<std::string> seen;
    for (const auto& kv : node) {
      if (!kv.first.IsScalar()) {
        return BadKey{path.empty() ? "(top level)" : path, kv.first.Mark(),
                      Cat("a key must be a plain name, found ", Describe(kv.first))};
      }
      const std::string key = kv.first.Scalar();
      const std::string at = path.empty() ? key : Cat(path, ".", key);
      if (!seen.insert(key).second) return BadKey{at, kv.first.Mark(), "is given twice"};
      if (auto r = FindBadKey(kv.second, at)) return r;
    }
  } else if (node.IsSequence()) {
    for (size_t i = 0; i < node.size(); ++i) {
      if (auto r = FindBadKey(node[i], Cat(path, "[", i, "]"))) return r;
    }
  }
  return std::nullopt;
}

}  // namespace

absl::Status ParseYaml(std::string_view text, const std::string& source,
                       const std::function<void(const Field&)>& read) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::ParserException& e) {
    return absl::InvalidArgumentError(Cat(source, ": line ", e.mark.line + 1, ", column ",
                                                   e.mark.column + 1, ": not valid YAML: ", e.msg));
  }
  if (!root || root.IsNull()) return absl::InvalidArgumentError(Cat(source, ": is empty"));
  try {
    if (auto bad = FindBadKey(root, "")) {
      return absl::InvalidArgumentError(Cat(source, ": line ", bad->mark.line + 1, ": ", bad->path, ": ", bad->what));
    }
    read(Field(root, ""));
  } catch (const FieldError& e) {
    return absl::InvalidArgumentError(
        Cat(source, ": ", e.key.empty() ? "(top level)" : e.key, ": ", e.what));
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(Cat(source, ": ", e.what()));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadFileToString(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(Cat(path, ": cannot be read: ", std::strerror(errno)));
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

absl::Status ReadYamlFile(const std::string& path, const std::function<void(const Field&)>& read) {
  absl::StatusOr<std::string> text = ReadFileToString(path);
  if (!text.ok()) return text.status();
  return ParseYaml(*text, path, read);
}

}  // namespace wijkpuls::yaml
