#include "base/json_writer.h"

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <system_error>

#include "absl/strings/str_cat.h"

namespace sevex::base {

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

constexpr char kHex[] = "0123456789abcdef";

}  // namespace

void AppendJsonString(std::string* out, absl::string_view text) {
  out->reserve(out->size() + text.size() + 2);
  out->push_back('"');
  for (size_t i = 0; i < text.size();) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    const char* escape = nullptr;
    switch (c) {
      case '"':
        escape = "\\\"";
        break;
      case '\\':
        escape = "\\\\";
        break;
      case '\b':
        escape = "\\b";
        break;
      case '\f':
        escape = "\\f";
        break;
      case '\n':
        escape = "\\n";
        break;
      case '\r':
        escape = "\\r";
        break;
      case '\t':
        escape = "\\t";
        break;
      default:
        break;
    }
    if (escape != nullptr) {
      out->append(escape);
      ++i;
    } else if (c < 0x20 || c == 0x7F) {
      const char u[] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xF]};
      out->append(u, sizeof u);
      ++i;
    } else if (const size_t n = Utf8Length(text, i); n == 0) {
      out->append("\\ufffd");
      ++i;
    } else {
      out->append(text.data() + i, n);
      i += n;
    }
  }
  out->push_back('"');
}

std::string JsonString(absl::string_view text) {
  std::string out;
  AppendJsonString(&out, text);
  return out;
}

void AppendJsonNumber(std::string* out, double value) {
  if (!std::isfinite(value)) {
    out->append("null");
  } else if (value == std::floor(value) && std::fabs(value) < 1e15) {
    absl::StrAppend(out, static_cast<int64_t>(value));
  } else {
    char buf[32];
    const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
    if (ec != std::errc()) std::abort();  // 32 bytes hold the longest double
    out->append(buf, end);
  }
}

void JsonWriter::NewLine(int level) {
  out_.push_back('\n');
  out_.append(static_cast<size_t>(options_.indent * level), ' ');
  line_ = level;
}

void JsonWriter::BeforeItem() {
  Frame& f = stack_.back();
  if (f.count > 0) out_.push_back(',');
  if (f.layout == Layout::kBlock || f.wrap) {
    NewLine(f.line + 1);
  } else if (f.count > 0 && f.layout == Layout::kSpaced) {
    out_.push_back(' ');
  }
  f.wrap = false;
  ++f.count;
}

void JsonWriter::BeforeValue() {
  if (stack_.empty()) {
    if (done_) std::abort();  // a second top-level value
    done_ = true;
    return;
  }
  Frame& f = stack_.back();
  if (f.object) {
    if (!f.key_pending) std::abort();  // a member needs a Key first
    f.key_pending = false;
  } else {
    BeforeItem();
  }
}

JsonWriter& JsonWriter::Key(absl::string_view key) {
  if (stack_.empty() || !stack_.back().object || stack_.back().key_pending) std::abort();
  BeforeItem();
  AppendJsonString(&out_, key);
  out_.append(stack_.back().layout == Layout::kCompact ? ":" : ": ");
  stack_.back().key_pending = true;
  return *this;
}

void JsonWriter::Begin(bool object, Layout layout, char open) {
  BeforeValue();
  out_.push_back(open);
  stack_.push_back(Frame{object, layout, line_});
}

void JsonWriter::End(bool object, char close) {
  if (stack_.empty() || stack_.back().object != object || stack_.back().key_pending) std::abort();
  const Frame f = stack_.back();
  stack_.pop_back();
  if (f.layout == Layout::kBlock && f.count > 0) NewLine(f.line);
  out_.push_back(close);
}

JsonWriter& JsonWriter::BeginObject(Layout layout) {
  Begin(true, layout, '{');
  return *this;
}

JsonWriter& JsonWriter::EndObject() {
  End(true, '}');
  return *this;
}

JsonWriter& JsonWriter::BeginArray(Layout layout) {
  Begin(false, layout, '[');
  return *this;
}

JsonWriter& JsonWriter::EndArray() {
  End(false, ']');
  return *this;
}

JsonWriter& JsonWriter::String(absl::string_view value) {
  BeforeValue();
  AppendJsonString(&out_, value);
  return *this;
}

JsonWriter& JsonWriter::Int(int64_t value) {
  BeforeValue();
  absl::StrAppend(&out_, value);
  return *this;
}

JsonWriter& JsonWriter::Uint(uint64_t value) {
  BeforeValue();
  absl::StrAppend(&out_, value);
  return *this;
}

JsonWriter& JsonWriter::Double(double value) {
  BeforeValue();
  AppendJsonNumber(&out_, value);
  return *this;
}

JsonWriter& JsonWriter::Bool(bool value) {
  BeforeValue();
  out_.append(value ? "true" : "false");
  return *this;
}

JsonWriter& JsonWriter::Null() {
  BeforeValue();
  out_.append("null");
  return *this;
}

JsonWriter& JsonWriter::Wrap() {
  if (stack_.empty()) std::abort();
  stack_.back().wrap = true;
  return *this;
}

}  // namespace sevex::base
