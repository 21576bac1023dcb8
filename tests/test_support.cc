#include "test_support.h"

#include "absl/strings/str_cat.h"
#include "embedded_policies.h"
#include "engine/notice.h"
#include "gtest/gtest.h"

namespace sevex::testing {

const engine::Catalog& Shipped() {
  static const engine::Catalog* catalog = [] {
    auto c = engine::Catalog::Load(policies::Embedded(), "embedded:policies");
    if (!c.ok()) {
      ADD_FAILURE() << c.status();
      std::abort();
    }
    return new engine::Catalog(std::move(c).value());
  }();
  return *catalog;
}

std::string ShippedText(absl::string_view path) {
  for (const auto& f : policies::Embedded()) {
    if (f.path == path) return f.contents;
  }
  return "";
}

v1::Notice NoticeFromJson(absl::string_view json) {
  auto notices = engine::ParseNotices(json, "test");
  if (!notices.ok() || notices->size() != 1) {
    ADD_FAILURE() << "not one notice: " << json << ": " << notices.status();
    return v1::Notice();
  }
  return (*notices)[0];
}

absl::StatusOr<engine::AttributeSet> Attributes(absl::string_view json_object) {
  const v1::Notice notice = NoticeFromJson(absl::StrCat(R"({"attributes": )", json_object, "}"));
  return engine::BindAttributes(Shipped().registry(), notice.attributes());
}

absl::StatusOr<std::unique_ptr<engine::CompiledPolicy>> LoadPolicy(absl::string_view text) {
  return Shipped().LoadPolicy(text, "test.textproto");
}

std::string LevelOf(absl::string_view scheme, absl::string_view attributes_json) {
  const engine::CompiledPolicy* policy = Shipped().Find(scheme);
  if (policy == nullptr) return absl::StrCat("<no scheme ", scheme, ">");
  auto attrs = Attributes(attributes_json);
  if (!attrs.ok()) return absl::StrCat("<error: ", attrs.status().message(), ">");
  return policy->level(policy->Assess(*attrs).level).id();
}

}  // namespace sevex::testing
