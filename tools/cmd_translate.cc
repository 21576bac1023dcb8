#include <iostream>

#include "absl/strings/str_cat.h"
#include "engine/notice.h"
#include "engine/translate.h"
#include "tools/cli.h"
#include "tools/commands.h"

namespace sevex::cli {

namespace {
const Command kTranslate{
    "translate",
    "--to ID (--from ID --level LEVEL | [--from ID] [FILE|-]) [--policies DIR] [--format json|text]",
    "Express a level of one scheme in another, or translate notices.",
    "With --level: the level's interval on the shared axis is mapped onto the target's levels\n"
    "(method interval). With notices: the target's rules re-assess the notice when they can\n"
    "decide exactly (method reassessed); otherwise the source level - the --from scheme's\n"
    "assessment of the notice, or the notice's origin_assessment - is mapped by interval.\n"
    "JSON output carries scheme, level, levels (all possible, most severe first) and method.",
    {{"to", "ID", "target scheme"},
     {"from", "ID", "source scheme"},
     {"level", "LEVEL", "source level id (needs --from)"},
     kPoliciesOption,
     kFormatOption},
    1};

void Print(const v1::Translation& t, const std::string& format, bool pretty) {
  if (format == "json") {
    std::cout << ToJson(t, pretty) << "\n";
  } else {
    std::cout << TranslationText(t);
  }
}
}  // namespace

int RunTranslate(const std::vector<std::string>& argv) {
  auto args = ParseArgs(kTranslate, argv);
  if (!args.ok()) return Fail(kTranslate.name, args.status());
  if (args->help) {
    std::cout << Usage(kTranslate);
    return kExitOk;
  }
  auto format = OutputFormat(*args);
  if (!format.ok()) return Fail(kTranslate.name, format.status());
  if (!args->Has("to")) return Fail(kTranslate.name, absl::InvalidArgumentError("--to ID is required"));
  auto catalog = LoadCatalog(*args);
  if (!catalog.ok()) return Fail(kTranslate.name, catalog.status());
  engine::Translator translator(*catalog);

  if (args->Has("level")) {
    if (!args->Has("from")) return Fail(kTranslate.name, absl::InvalidArgumentError("--level needs --from ID"));
    if (!args->positional.empty()) {
      return Fail(kTranslate.name, absl::InvalidArgumentError("give either --level or a notice file, not both"));
    }
    auto t = translator.TranslateLevel(args->Get("from"), args->Get("level"), args->Get("to"));
    if (!t.ok()) return Fail(kTranslate.name, t.status());
    Print(*t, *format, true);
    return kExitOk;
  }

  std::string where;
  auto text = ReadInput(args->positional, &where);
  if (!text.ok()) return Fail(kTranslate.name, text.status());
  auto notices = engine::ParseNotices(*text, where);
  if (!notices.ok()) return Fail(kTranslate.name, notices.status());
  std::vector<v1::Translation> out;
  for (size_t i = 0; i < notices->size(); ++i) {
    const std::string which = notices->size() > 1 ? absl::StrCat(" (notice ", i + 1, ")") : "";
    auto attrs = engine::CheckNotice(catalog->registry(), (*notices)[i]);
    if (!attrs.ok()) {
      return Fail(kTranslate.name, absl::InvalidArgumentError(absl::StrCat(where, which, ": ", attrs.status().message())));
    }
    auto t = translator.TranslateNotice((*notices)[i], *attrs, args->Get("from"), args->Get("to"));
    if (!t.ok()) return Fail(kTranslate.name, absl::InvalidArgumentError(absl::StrCat(where, which, ": ", t.status().message())));
    out.push_back(std::move(t).value());
  }
  for (const auto& t : out) Print(t, *format, out.size() == 1);
  return kExitOk;
}

}  // namespace sevex::cli
