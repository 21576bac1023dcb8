#include "node/json_value.h"

#include <cmath>
#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace sevex::node {

namespace {

// Length of the valid UTF-8 sequence starting at s[i], or 0 when it is not one (overlong
// forms, surrogates and code points above U+10FFFF are invalid).
size_t Utf8Length(absl::string_view s, size_t i) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = b(i);
  size_t n;
  uint32_t cp;
  if (c < 0x80) return 1;
  if ((c & 0xE0) == 0xC0) {
    n = 2;
    cp = c & 0x1F;
  } else if ((c & 0xF0) == 0xE0) {
    n = 3;
    cp = c & 0x0F;
  } else if ((c & 0xF8) == 0xF0) {
    n = 4;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    if ((b(i + k) & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b(i + k) & 0x3F);
  }
  if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000)) return 0;
  if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return n;
}

void Newline(std::string* out, int indent, int depth) {
  if (indent == 0) return;
  out->push_back('\n');
  out->append(static_cast<size_t>(indent * depth), ' ');
}

}  // namespace

std::string JsonQuote(absl::string_view text) {
  std::string out = "\"";
  out.reserve(text.size() + 2);
  for (size_t i = 0; i < text.size();) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    switch (c) {
      case '"':
        out += "\\\"";
        ++i;
        continue;
      case '\\':
        out += "\\\\";
        ++i;
        continue;
      case '\b':
        out += "\\b";
        ++i;
        continue;
      case '\f':
        out += "\\f";
        ++i;
        continue;
      case '\n':
        out += "\\n";
        ++i;
        continue;
      case '\r':
        out += "\\r";
        ++i;
        continue;
      case '\t':
        out += "\\t";
        ++i;
        continue;
      default:
        break;
    }
    if (c < 0x20 || c == 0x7F) {
      absl::StrAppendFormat(&out, "\\u%04x", c);
      ++i;
      continue;
    }
    const size_t n = Utf8Length(text, i);
    if (n == 0) {
      out += "\\ufffd";
      ++i;
      continue;
    }
    out.append(text.data() + i, n);
    i += n;
  }
  out += "\"";
  return out;
}

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
  std::string out;
  WriteTo(&out, indent, 0);
  return out;
}

void JsonValue::WriteTo(std::string* out, int indent, int depth) const {
  if (std::holds_alternative<std::nullptr_t>(value_)) {
    out->append("null");
  } else if (const bool* b = std::get_if<bool>(&value_)) {
    out->append(*b ? "true" : "false");
  } else if (const int64_t* i = std::get_if<int64_t>(&value_)) {
    absl::StrAppend(out, *i);
  } else if (const double* d = std::get_if<double>(&value_)) {
    if (!std::isfinite(*d)) {
      out->append("null");  // JSON has no NaN or infinity
    } else if (*d == std::floor(*d) && std::fabs(*d) < 1e15) {
      absl::StrAppend(out, static_cast<int64_t>(*d));
    } else {
      absl::StrAppendFormat(out, "%.17g", *d);
    }
  } else if (const std::string* s = std::get_if<std::string>(&value_)) {
    out->append(JsonQuote(*s));
  } else if (const Members* m = std::get_if<Members>(&value_)) {
    out->push_back('{');
    bool first = true;
    for (const auto& [k, v] : m->items) {
      if (!first) out->push_back(',');
      first = false;
      Newline(out, indent, depth + 1);
      out->append(JsonQuote(k));
      out->append(indent == 0 ? ":" : ": ");
      v.WriteTo(out, indent, depth + 1);
    }
    if (!m->items.empty()) Newline(out, indent, depth);
    out->push_back('}');
  } else if (const Elements* e = std::get_if<Elements>(&value_)) {
    out->push_back('[');
    bool first = true;
    for (const auto& v : e->items) {
      if (!first) out->push_back(',');
      first = false;
      Newline(out, indent, depth + 1);
      v.WriteTo(out, indent, depth + 1);
    }
    if (!e->items.empty()) Newline(out, indent, depth);
    out->push_back(']');
  }
}

}  // namespace sevex::node
