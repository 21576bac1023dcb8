#include "node/json_value.h"

#include <cstdlib>

#include "base/json_writer.h"

namespace sevex::node {

std::string JsonQuote(absl::string_view text) { return base::JsonString(text); }

JsonValue JsonValue::Object() {
  JsonValue v;
  v.value_ = Members{};
  return v;
}

JsonValue JsonValue::Array() {
  JsonValue v;
  v.value_ = Elements{};
  return v;
}

JsonValue& JsonValue::Add(std::string key, JsonValue value) {
  auto* members = std::get_if<Members>(&value_);
  if (members == nullptr) std::abort();
  members->items.emplace_back(std::move(key), std::move(value));
  return *this;
}

JsonValue& JsonValue::Push(JsonValue value) {
  auto* elements = std::get_if<Elements>(&value_);
  if (elements == nullptr) std::abort();
  elements->items.push_back(std::move(value));
  return *this;
}

size_t JsonValue::size() const {
  if (const auto* m = std::get_if<Members>(&value_)) return m->items.size();
  if (const auto* e = std::get_if<Elements>(&value_)) return e->items.size();
  return 0;
}

const JsonValue* JsonValue::Find(absl::string_view key) const {
  const auto* m = std::get_if<Members>(&value_);
  if (m == nullptr) return nullptr;
  for (const auto& [k, v] : m->items) {
    if (k == key) return &v;
  }
  return nullptr;
}

std::string JsonValue::Write(int indent) const {
  base::JsonWriter w({.layout = indent == 0 ? base::JsonWriter::Layout::kCompact : base::JsonWriter::Layout::kBlock,
                      .indent = indent});
  WriteTo(w);
  return w.Release();
}

void JsonValue::WriteTo(base::JsonWriter& w) const {
  if (std::holds_alternative<std::nullptr_t>(value_)) {
    w.Null();
  } else if (const bool* b = std::get_if<bool>(&value_)) {
    w.Bool(*b);
  } else if (const int64_t* i = std::get_if<int64_t>(&value_)) {
    w.Int(*i);
  } else if (const double* d = std::get_if<double>(&value_)) {
    w.Double(*d);
  } else if (const std::string* s = std::get_if<std::string>(&value_)) {
    w.String(*s);
  } else if (const Members* m = std::get_if<Members>(&value_)) {
    w.BeginObject();
    for (const auto& [k, v] : m->items) {
      w.Key(k);
      v.WriteTo(w);
    }
    w.EndObject();
  } else if (const Elements* e = std::get_if<Elements>(&value_)) {
    w.BeginArray();
    for (const auto& v : e->items) v.WriteTo(w);
    w.EndArray();
  }
}

}  // namespace sevex::node
