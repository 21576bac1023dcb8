// json_value.h — a JSON value built in code and written as text, for the exports (STIX 2.1,
// JSON lines). Object members keep the order they were added in, so the same input always
// gives the same bytes. The text is written by base::JsonWriter (base/json_writer.h), which
// decides escaping and number formatting for all of sevex.
//
//   JsonValue o = JsonValue::Object();
//   o.Add("type", "incident").Add("criticality", 70).Add("labels", JsonValue::Array().Push("a"));
//   std::string text = o.Write();          // {"type":"incident","criticality":70,"labels":["a"]}
//   std::string pretty = o.Write(2);       // indented by two spaces
#ifndef SEVEX_NODE_JSON_VALUE_H_
#define SEVEX_NODE_JSON_VALUE_H_

#include <cstdint>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "absl/strings/string_view.h"
#include "base/json_writer.h"

namespace sevex::node {

class JsonValue {
 public:
  JsonValue() : value_(nullptr) {}
  JsonValue(const char* s) : value_(std::string(s)) {}        // NOLINT: implicit by design
  JsonValue(std::string s) : value_(std::move(s)) {}          // NOLINT
  JsonValue(absl::string_view s) : value_(std::string(s)) {}  // NOLINT
  JsonValue(bool b) : value_(b) {}                            // NOLINT
  JsonValue(int v) : value_(static_cast<int64_t>(v)) {}       // NOLINT
  JsonValue(int64_t v) : value_(v) {}                         // NOLINT
  JsonValue(uint32_t v) : value_(static_cast<int64_t>(v)) {}  // NOLINT
  JsonValue(double v) : value_(v) {}                          // NOLINT

  static JsonValue Object();
  static JsonValue Array();

  // Appends a member (objects) or an element (arrays); returns *this for chaining. Adding to a
  // value of another kind is a programming error and aborts.
  JsonValue& Add(std::string key, JsonValue value);
  JsonValue& Push(JsonValue value);

  bool is_object() const { return std::holds_alternative<Members>(value_); }
  bool is_array() const { return std::holds_alternative<Elements>(value_); }
  // Members of an object, elements of an array; empty for other kinds.
  size_t size() const;
  // The member named `key` of an object, or nullptr.
  const JsonValue* Find(absl::string_view key) const;

  // Compact when `indent` is 0; else one member or element per line.
  std::string Write(int indent = 0) const;

 private:
  struct Members {
    std::vector<std::pair<std::string, JsonValue>> items;
  };
  struct Elements {
    std::vector<JsonValue> items;
  };
  void WriteTo(base::JsonWriter& w) const;

  std::variant<std::nullptr_t, bool, int64_t, double, std::string, Members, Elements> value_;
};

// `text` as a JSON string literal, quotes included: base::JsonString, kept under this name for
// the callers of the exports.
std::string JsonQuote(absl::string_view text);

}  // namespace sevex::node

#endif  // SEVEX_NODE_JSON_VALUE_H_
