#include "engine/json_reader.h"

#include <simdjson.h>

#include <cmath>
#include <limits>
#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/time_util.h"

namespace sevex::engine {

namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;
using simdjson::dom::element;
using simdjson::dom::element_type;

const char* TypeWord(element_type t) {
  switch (t) {
    case element_type::ARRAY: return "an array";
    case element_type::OBJECT: return "an object";
    case element_type::INT64:
    case element_type::UINT64:
    case element_type::DOUBLE: return "a number";
    case element_type::STRING: return "a string";
    case element_type::BOOL: return "a boolean";
    case element_type::NULL_VALUE: return "null";
  }
  return "?";
}

std::string Path(absl::string_view parent, absl::string_view child) {
  return parent.empty() ? std::string(child) : absl::StrCat(parent, ".", child);
}

class Converter {
 public:
  absl::Status ToMessage(element e, Message* m, const std::string& path) {
    const Descriptor* d = m->GetDescriptor();
    const std::string& full = d->full_name();
    if (full == "google.protobuf.Timestamp" || full == "google.protobuf.Duration") return WellKnownTime(e, m, path);
    if (full == "google.protobuf.Value") return ToValue(e, static_cast<google::protobuf::Value*>(m), path);
    if (full == "google.protobuf.Struct") {
      if (e.type() != element_type::OBJECT) return Wrong(path, "an object", e);
      return ToStruct(e, static_cast<google::protobuf::Struct*>(m), path);
    }
    if (full == "google.protobuf.ListValue") {
      if (e.type() != element_type::ARRAY) return Wrong(path, "an array", e);
      return ToList(e, static_cast<google::protobuf::ListValue*>(m), path);
    }
    if (e.type() != element_type::OBJECT) return Wrong(path, "an object", e);
    const Reflection* r = m->GetReflection();
    const simdjson::dom::object fields = e.get_object().value_unsafe();
    for (auto [key, value] : fields) {
      const std::string name(key);
      const FieldDescriptor* f = d->FindFieldByCamelcaseName(name);
      if (f == nullptr) f = d->FindFieldByName(name);
      const std::string here = Path(path, name);
      if (f == nullptr) return absl::InvalidArgumentError(absl::StrCat(here, ": unknown field of ", d->name()));
      if (value.type() == element_type::NULL_VALUE &&
          !(f->message_type() != nullptr && f->message_type()->full_name() == "google.protobuf.Value" && !f->is_repeated())) {
        r->ClearField(m, f);
        continue;
      }
      if (f->is_map()) {
        if (value.type() != element_type::OBJECT) return Wrong(here, "an object", value);
        const FieldDescriptor* kf = f->message_type()->map_key();
        const FieldDescriptor* vf = f->message_type()->map_value();
        if (kf->cpp_type() != FieldDescriptor::CPPTYPE_STRING) {
          return absl::InternalError(absl::StrCat(here, ": only string-keyed maps are supported"));
        }
        const simdjson::dom::object entries = value.get_object().value_unsafe();
        for (auto [k, v] : entries) {
          Message* entry = r->AddMessage(m, f);
          entry->GetReflection()->SetString(entry, kf, std::string(k));
          if (auto s = Field(v, entry, vf, absl::StrCat(here, "[\"", std::string(k), "\"]")); !s.ok()) return s;
        }
      } else if (f->is_repeated()) {
        if (value.type() != element_type::ARRAY) return Wrong(here, "an array", value);
        size_t i = 0;
        const simdjson::dom::array items = value.get_array().value_unsafe();
        for (element item : items) {
          if (auto s = Repeated(item, m, f, absl::StrCat(here, "[", i++, "]")); !s.ok()) return s;
        }
      } else {
        if (auto s = Field(value, m, f, here); !s.ok()) return s;
      }
    }
    return absl::OkStatus();
  }

 private:
  static absl::Status Wrong(const std::string& path, absl::string_view expected, element e) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": expected ", expected, ", got ", TypeWord(e.type())));
  }

  absl::Status WellKnownTime(element e, Message* m, const std::string& path) {
    if (e.type() != element_type::STRING) return Wrong(path, "a string such as \"2026-11-20T08:00:00Z\"", e);
    const std::string text(e.get_string().value_unsafe());
    bool ok;
    if (m->GetDescriptor()->full_name() == "google.protobuf.Timestamp") {
      ok = google::protobuf::util::TimeUtil::FromString(text, static_cast<google::protobuf::Timestamp*>(m));
    } else {
      ok = google::protobuf::util::TimeUtil::FromString(text, static_cast<google::protobuf::Duration*>(m));
    }
    if (!ok) return absl::InvalidArgumentError(absl::StrCat(path, ": '", text, "' is not an RFC 3339 time"));
    return absl::OkStatus();
  }

  absl::Status ToValue(element e, google::protobuf::Value* v, const std::string& path) {
    switch (e.type()) {
      case element_type::NULL_VALUE: v->set_null_value(google::protobuf::NULL_VALUE); break;
      case element_type::BOOL: v->set_bool_value(e.get_bool().value_unsafe()); break;
      case element_type::INT64: v->set_number_value(static_cast<double>(e.get_int64().value_unsafe())); break;
      case element_type::UINT64: v->set_number_value(static_cast<double>(e.get_uint64().value_unsafe())); break;
      case element_type::DOUBLE: v->set_number_value(e.get_double().value_unsafe()); break;
      case element_type::STRING: v->set_string_value(std::string(e.get_string().value_unsafe())); break;
      case element_type::ARRAY: return ToList(e, v->mutable_list_value(), path);
      case element_type::OBJECT: return ToStruct(e, v->mutable_struct_value(), path);
    }
    return absl::OkStatus();
  }
  absl::Status ToStruct(element e, google::protobuf::Struct* s, const std::string& path) {
    const simdjson::dom::object fields = e.get_object().value_unsafe();
    for (auto [k, v] : fields) {
      const std::string key(k);
      if (auto st = ToValue(v, &(*s->mutable_fields())[key], Path(path, key)); !st.ok()) return st;
    }
    return absl::OkStatus();
  }
  absl::Status ToList(element e, google::protobuf::ListValue* l, const std::string& path) {
    size_t i = 0;
    const simdjson::dom::array items = e.get_array().value_unsafe();
    for (element item : items) {
      if (auto st = ToValue(item, l->add_values(), absl::StrCat(path, "[", i++, "]")); !st.ok()) return st;
    }
    return absl::OkStatus();
  }

  // A JSON number or numeric string as an integer in [lo, hi].
  template <typename T>
  absl::Status Integer(element e, const std::string& path, T* out) {
    constexpr double lo = static_cast<double>(std::numeric_limits<T>::min());
    constexpr double hi = static_cast<double>(std::numeric_limits<T>::max());
    switch (e.type()) {
      case element_type::INT64: {
        const int64_t v = e.get_int64().value_unsafe();
        if (static_cast<double>(v) < lo || static_cast<double>(v) > hi || (std::is_unsigned_v<T> && v < 0)) break;
        *out = static_cast<T>(v);
        return absl::OkStatus();
      }
      case element_type::UINT64: {
        const uint64_t v = e.get_uint64().value_unsafe();
        if (static_cast<double>(v) > hi) break;
        *out = static_cast<T>(v);
        return absl::OkStatus();
      }
      case element_type::DOUBLE: {
        const double v = e.get_double().value_unsafe();
        if (v != std::floor(v) || v < lo || v > hi) break;
        *out = static_cast<T>(v);
        return absl::OkStatus();
      }
      case element_type::STRING: {
        const std::string_view sv = e.get_string().value_unsafe();
        if (absl::SimpleAtoi(absl::string_view(sv.data(), sv.size()), out)) return absl::OkStatus();
        break;
      }
      default:
        return Wrong(path, "a whole number", e);
    }
    return absl::InvalidArgumentError(absl::StrCat(path, ": not a whole number in range"));
  }

  absl::Status Double(element e, const std::string& path, double* out) {
    switch (e.type()) {
      case element_type::INT64: *out = static_cast<double>(e.get_int64().value_unsafe()); return absl::OkStatus();
      case element_type::UINT64: *out = static_cast<double>(e.get_uint64().value_unsafe()); return absl::OkStatus();
      case element_type::DOUBLE: *out = e.get_double().value_unsafe(); return absl::OkStatus();
      case element_type::STRING: {
        const std::string_view s = e.get_string().value_unsafe();
        if (s == "NaN") *out = std::numeric_limits<double>::quiet_NaN();
        else if (s == "Infinity") *out = std::numeric_limits<double>::infinity();
        else if (s == "-Infinity") *out = -std::numeric_limits<double>::infinity();
        else if (!absl::SimpleAtod(absl::string_view(s.data(), s.size()), out)) return Wrong(path, "a number", e);
        return absl::OkStatus();
      }
      default:
        return Wrong(path, "a number", e);
    }
  }

  absl::Status Enum(element e, const FieldDescriptor* f, const std::string& path, int* out) {
    const auto* en = f->enum_type();
    if (e.type() == element_type::STRING) {
      const std::string name(e.get_string().value_unsafe());
      if (const auto* v = en->FindValueByName(name)) {
        *out = v->number();
        return absl::OkStatus();
      }
      std::string names;
      for (int i = 0; i < en->value_count(); ++i) absl::StrAppend(&names, i ? ", " : "", en->value(i)->name());
      return absl::InvalidArgumentError(absl::StrCat(path, ": '", name, "' is not one of ", names));
    }
    int32_t n = 0;
    if (auto s = Integer(e, path, &n); !s.ok()) return Wrong(path, "an enum name", e);
    if (en->FindValueByNumber(n) == nullptr) return absl::InvalidArgumentError(absl::StrCat(path, ": ", n, " is not a value of ", en->name()));
    *out = n;
    return absl::OkStatus();
  }

// Sets (or, for repeated fields, adds) one value; `kAdd` selects which.
#define SEVEX_SET_OR_ADD(Type, value)                 \
  do {                                                \
    if (add) {                                        \
      r->Add##Type(m, f, value);                      \
    } else {                                          \
      r->Set##Type(m, f, value);                      \
    }                                                 \
  } while (0)

  absl::Status Scalar(element e, Message* m, const FieldDescriptor* f, const std::string& path, bool add) {
    const Reflection* r = m->GetReflection();
    switch (f->cpp_type()) {
      case FieldDescriptor::CPPTYPE_MESSAGE: {
        Message* sub = add ? r->AddMessage(m, f) : r->MutableMessage(m, f);
        return ToMessage(e, sub, path);
      }
      case FieldDescriptor::CPPTYPE_STRING: {
        if (e.type() != element_type::STRING) return Wrong(path, "a string", e);
        std::string s(e.get_string().value_unsafe());
        if (f->type() == FieldDescriptor::TYPE_BYTES) {
          std::string raw;
          if (!absl::Base64Unescape(s, &raw) && !absl::WebSafeBase64Unescape(s, &raw)) {
            return absl::InvalidArgumentError(absl::StrCat(path, ": not base64"));
          }
          s = std::move(raw);
        }
        SEVEX_SET_OR_ADD(String, std::move(s));
        return absl::OkStatus();
      }
      case FieldDescriptor::CPPTYPE_BOOL:
        if (e.type() != element_type::BOOL) return Wrong(path, "true or false", e);
        SEVEX_SET_OR_ADD(Bool, e.get_bool().value_unsafe());
        return absl::OkStatus();
      case FieldDescriptor::CPPTYPE_INT32: {
        int32_t v = 0;
        if (auto s = Integer(e, path, &v); !s.ok()) return s;
        SEVEX_SET_OR_ADD(Int32, v);
        return absl::OkStatus();
      }
      case FieldDescriptor::CPPTYPE_INT64: {
        int64_t v = 0;
        if (auto s = Integer(e, path, &v); !s.ok()) return s;
        SEVEX_SET_OR_ADD(Int64, v);
        return absl::OkStatus();
      }
      case FieldDescriptor::CPPTYPE_UINT32: {
        uint32_t v = 0;
        if (auto s = Integer(e, path, &v); !s.ok()) return s;
        SEVEX_SET_OR_ADD(UInt32, v);
        return absl::OkStatus();
      }
      case FieldDescriptor::CPPTYPE_UINT64: {
        uint64_t v = 0;
        if (auto s = Integer(e, path, &v); !s.ok()) return s;
        SEVEX_SET_OR_ADD(UInt64, v);
        return absl::OkStatus();
      }
      case FieldDescriptor::CPPTYPE_DOUBLE:
      case FieldDescriptor::CPPTYPE_FLOAT: {
        double v = 0;
        if (auto s = Double(e, path, &v); !s.ok()) return s;
        if (f->cpp_type() == FieldDescriptor::CPPTYPE_FLOAT) {
          SEVEX_SET_OR_ADD(Float, static_cast<float>(v));
        } else {
          SEVEX_SET_OR_ADD(Double, v);
        }
        return absl::OkStatus();
      }
      case FieldDescriptor::CPPTYPE_ENUM: {
        int v = 0;
        if (auto s = Enum(e, f, path, &v); !s.ok()) return s;
        SEVEX_SET_OR_ADD(EnumValue, v);
        return absl::OkStatus();
      }
    }
    return absl::InternalError(absl::StrCat(path, ": unsupported field type"));
  }
#undef SEVEX_SET_OR_ADD

  absl::Status Field(element e, Message* m, const FieldDescriptor* f, const std::string& path) {
    return Scalar(e, m, f, path, /*add=*/false);
  }
  absl::Status Repeated(element e, Message* m, const FieldDescriptor* f, const std::string& path) {
    return Scalar(e, m, f, path, /*add=*/true);
  }
};

absl::Status ParseError(simdjson::error_code code) {
  return absl::InvalidArgumentError(absl::StrCat("not valid JSON: ", simdjson::error_message(code)));
}

}  // namespace

struct JsonReader::Impl {
  simdjson::dom::parser parser;
  Converter converter;
  simdjson::error_code init = simdjson::SUCCESS;
};

JsonReader::JsonReader() : impl_(std::make_unique<Impl>()) {
  // Bounded nesting: notices are shallow; deeper input is refused, not recursed into.
  impl_->init = impl_->parser.allocate(1 << 16, kMaxDepth);
}

JsonReader::~JsonReader() = default;

absl::Status JsonReader::Read(absl::string_view json, google::protobuf::Message* out) {
  out->Clear();
  if (impl_->init != simdjson::SUCCESS) return ParseError(impl_->init);
  element root;
  if (auto code = impl_->parser.parse(json.data(), json.size()).get(root); code != simdjson::SUCCESS) {
    return ParseError(code);
  }
  return impl_->converter.ToMessage(root, out, "");
}

absl::Status JsonReader::ReadArray(absl::string_view json,
                                   const std::function<google::protobuf::Message*(size_t)>& add) {
  if (impl_->init != simdjson::SUCCESS) return ParseError(impl_->init);
  element root;
  if (auto code = impl_->parser.parse(json.data(), json.size()).get(root); code != simdjson::SUCCESS) {
    return ParseError(code);
  }
  if (root.type() != element_type::ARRAY) {
    return absl::InvalidArgumentError(absl::StrCat("expected an array, got ", TypeWord(root.type())));
  }
  size_t i = 0;
  const simdjson::dom::array items = root.get_array().value_unsafe();
  for (element item : items) {
    google::protobuf::Message* m = add(i);
    m->Clear();
    if (auto s = impl_->converter.ToMessage(item, m, absl::StrCat("[", i, "]")); !s.ok()) return s;
    ++i;
  }
  return absl::OkStatus();
}

}  // namespace sevex::engine
