#include <filesystem>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "engine/catalog.h"
#include "tools/cli.h"
#include "tools/commands.h"

namespace sevex::cli {

namespace {
const Command kPolicy{
    "policy",
    "check [DIR|FILE...] [--policies DIR]",
    "Work with scheme policies.",
    "policy check: load and check policy sets (DIR) or single scheme files (FILE, checked against\n"
    "the registry of --policies or the default set). With no argument, the default set. Checks:\n"
    "syntax and schema, unknown attributes, type errors, unreachable levels, gapped, overlapping\n"
    "or non-monotone anchors, shadowed rules, matrices with holes, score bands with gaps.\n"
    "Every problem is printed as file:line:col: message; exit 2 when there is any.",
    {kPoliciesOption},
    -1};

std::string Decision(const v1::Decision& d) {
  switch (d.kind_case()) {
    case v1::Decision::kRules: return absl::StrCat(d.rules().rule_size(), " rules");
    case v1::Decision::kMatrix: return absl::StrCat("matrix ", d.matrix().rows(), " x ", d.matrix().columns());
    case v1::Decision::kScore: return absl::StrCat("weighted score over ", d.score().component_size(), " components");
    case v1::Decision::kMaximum: return absl::StrCat("maximum of ", d.maximum().viewpoint_size(), " viewpoints");
    default: return "?";
  }
}

void Summarise(const engine::CompiledPolicy& p) {
  std::cout << "  " << p.id() << " " << p.proto().version() << ": " << p.level_count() << " levels, "
            << Decision(p.proto().decision()) << ", " << p.hash() << "\n";
}

int Check(const Args& args) {
  if (args.positional.empty()) {
    auto catalog = LoadCatalog(args);
    if (!catalog.ok()) return Fail("policy check", catalog.status());
    std::cout << "ok: " << catalog->origin() << ": " << catalog->policies().size() << " schemes\n";
    for (const auto& p : catalog->policies()) Summarise(*p);
    return kExitOk;
  }
  int exit = kExitOk;
  std::optional<absl::StatusOr<engine::Catalog>> registry_source;
  for (const std::string& target : args.positional) {
    std::error_code ec;
    if (std::filesystem::is_directory(target, ec)) {
      auto files = engine::ReadPolicyDirectory(target);
      absl::StatusOr<engine::Catalog> catalog =
          files.ok() ? engine::Catalog::Load(*files, target) : absl::StatusOr<engine::Catalog>(files.status());
      if (!catalog.ok()) {
        std::cerr << catalog.status().message() << "\n";
        exit = std::max(exit, ExitCodeFor(catalog.status()));
        continue;
      }
      std::cout << "ok: " << target << ": " << catalog->policies().size() << " schemes\n";
      for (const auto& p : catalog->policies()) Summarise(*p);
      continue;
    }
    if (!registry_source) registry_source = LoadCatalog(args);
    if (!registry_source->ok()) return Fail("policy check", registry_source->status());
    auto text = engine::ReadFileBounded(target, 4 << 20);
    if (!text.ok()) {
      std::cerr << text.status().message() << "\n";
      exit = std::max(exit, ExitCodeFor(text.status()));
      continue;
    }
    auto policy = (*registry_source)->LoadPolicy(*text, target);
    if (!policy.ok()) {
      std::cerr << policy.status().message() << "\n";
      exit = std::max(exit, ExitCodeFor(policy.status()));
      continue;
    }
    std::cout << "ok: " << target << "\n";
    Summarise(**policy);
  }
  return exit;
}
}  // namespace

int RunPolicy(const std::vector<std::string>& argv) {
  if (argv.empty() || argv[0] == "--help" || argv[0] == "help") {
    std::cout << Usage(kPolicy);
    return argv.empty() ? kExitBadInput : kExitOk;
  }
  const std::string verb = argv[0];
  const std::vector<std::string> rest(argv.begin() + 1, argv.end());
  if (verb == "check") {
    Command command = kPolicy;
    command.name = "policy check";
    command.synopsis = "[DIR|FILE...] [--policies DIR]";
    auto args = ParseArgs(command, rest);
    if (!args.ok()) return Fail(command.name, args.status());
    if (args->help) {
      std::cout << Usage(command);
      return kExitOk;
    }
    return Check(*args);
  }
  return Fail("policy", absl::InvalidArgumentError(absl::StrCat("unknown verb '", verb, "' (known: check)")));
}

namespace {
const Command kAttributes{
    "attributes",
    "[--policies DIR] [--format json|text]",
    "List the attribute registry: every attribute a notice may carry, its type, values and meaning.",
    "",
    {kPoliciesOption, kFormatOption},
    0};
}  // namespace

int RunAttributes(const std::vector<std::string>& argv) {
  auto args = ParseArgs(kAttributes, argv);
  if (!args.ok()) return Fail(kAttributes.name, args.status());
  if (args->help) {
    std::cout << Usage(kAttributes);
    return kExitOk;
  }
  auto format = OutputFormat(*args);
  if (!format.ok()) return Fail(kAttributes.name, format.status());
  auto catalog = LoadCatalog(*args);
  if (!catalog.ok()) return Fail(kAttributes.name, catalog.status());
  const auto& registry = catalog->registry();
  v1::AttributeRegistry proto;
  for (int i = 0; i < registry.size(); ++i) *proto.add_attribute() = registry.def(i);
  if (*format == "json") {
    std::cout << ToJson(proto, true) << "\n";
    return kExitOk;
  }
  for (const auto& d : proto.attribute()) {
    std::string type = v1::AttributeDef::Type_Name(d.type());
    if (d.type() == v1::AttributeDef::ENUM) {
      type = absl::StrCat(d.ordered() ? "ordered enum {" : "enum {", absl::StrJoin(d.values(), ", "), "}");
    } else if (!d.unit().empty()) {
      absl::StrAppend(&type, " (", d.unit(), ")");
    }
    std::cout << d.name() << ": " << type << "\n    " << d.meaning() << "\n";
  }
  return kExitOk;
}

}  // namespace sevex::cli
