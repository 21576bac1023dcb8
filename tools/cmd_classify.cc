#include <iostream>

#include "absl/strings/str_cat.h"
#include "engine/assess.h"
#include "engine/notice.h"
#include "tools/cli.h"
#include "tools/commands.h"

namespace sevex::cli {

namespace {
const Command kClassify{
    "classify",
    "--scheme ID [--policies DIR] [--format json|text] [FILE|-]",
    "Assess notices (JSON) under a national scheme and print each assessment.",
    "Input: one notice object, a JSON array of notices, or JSON lines, from FILE or standard\n"
    "input. A notice needs only its attributes: {\"attributes\": {\"victim_tier\": \"national\", ...}}.\n"
    "JSON output: one object per notice (pretty when there is one, one per line otherwise)\n"
    "with scheme, level, shared {band, low, high}, possible_levels, exact, explanation,\n"
    "missing_attributes, policy_hash, reporting.",
    {{"scheme", "ID", "scheme to assess under, e.g. au-asd"}, kPoliciesOption, kFormatOption},
    1};
}  // namespace

int RunClassify(const std::vector<std::string>& argv) {
  auto args = ParseArgs(kClassify, argv);
  if (!args.ok()) return Fail(kClassify.name, args.status());
  if (args->help) {
    std::cout << Usage(kClassify);
    return kExitOk;
  }
  auto format = OutputFormat(*args);
  if (!format.ok()) return Fail(kClassify.name, format.status());
  if (!args->Has("scheme")) return Fail(kClassify.name, absl::InvalidArgumentError("--scheme ID is required (e.g. --scheme au-asd)"));
  auto catalog = LoadCatalog(*args);
  if (!catalog.ok()) return Fail(kClassify.name, catalog.status());
  const engine::CompiledPolicy* policy = catalog->Find(args->Get("scheme"));
  if (policy == nullptr) {
    return Fail(kClassify.name, absl::InvalidArgumentError(absl::StrCat(
                                    "unknown scheme '", args->Get("scheme"), "' (known: ", catalog->SchemeIds(), ")")));
  }
  std::string where;
  auto text = ReadInput(args->positional, &where);
  if (!text.ok()) return Fail(kClassify.name, text.status());
  auto notices = engine::ParseNotices(*text, where);
  if (!notices.ok()) return Fail(kClassify.name, notices.status());

  // Check every notice before printing anything, so a bad one does not leave half an output.
  std::vector<v1::Assessment> out;
  for (size_t i = 0; i < notices->size(); ++i) {
    const v1::Notice& n = (*notices)[i];
    auto attrs = engine::CheckNotice(catalog->registry(), n);
    if (!attrs.ok()) {
      const std::string which = notices->size() > 1 ? absl::StrCat(" (notice ", i + 1, ")") : "";
      return Fail(kClassify.name, absl::InvalidArgumentError(absl::StrCat(where, which, ": ", attrs.status().message())));
    }
    out.push_back(engine::AssessNotice(*catalog, *policy, *attrs, &n));
  }
  for (const auto& a : out) {
    if (*format == "json") {
      std::cout << ToJson(a, out.size() == 1) << "\n";
    } else {
      std::cout << AssessmentText(a);
    }
  }
  return kExitOk;
}

}  // namespace sevex::cli
