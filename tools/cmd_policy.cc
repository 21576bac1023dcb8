#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "base/json_writer.h"
#include "engine/catalog.h"
#include "engine/notice.h"
#include "engine/policy_diff.h"
#include "tools/cli.h"
#include "tools/commands.h"
#include "tools/policy_views.h"

namespace sevex::cli {

namespace {
const Command kPolicyCheck{
    "policy check",
    "[DIR|FILE...] [--policies DIR]",
    "Load and check policy sets (DIR) or single scheme files (FILE).",
    "A FILE is checked against the registry of --policies or the default set; with no argument,\n"
    "the default set. Checks: syntax and schema, unknown attributes, type errors, unreachable\n"
    "levels, gapped, overlapping or non-monotone anchors, shadowed rules, matrices with holes,\n"
    "score bands with gaps. Every problem is printed as file:line:col: message; exit 2 if any.",
    {kPoliciesOption},
    -1};
const Command kPolicyShow{
    "policy show",
    "ID [--policies DIR] [--format json|text]",
    "Show a scheme: levels, anchors, clocks, decision, sources, interpretation and notional parts.",
    "JSON: the policy as data, with its hash.",
    {kPoliciesOption, kFormatOption},
    1};
const Command kPolicyMatrix{
    "policy matrix",
    "[--policies DIR] [--format text|json|svg] [--output FILE]",
    "The N x N table: every level of every scheme translated into every scheme by interval.",
    "svg draws a heat map for people (open it in a browser).",
    {kPoliciesOption, {"format", "text|json|svg", "output format (default: text)"},
     {"output", "FILE", "write to FILE instead of standard output"}},
    0};
const Command kPolicyDiff{
    "policy diff",
    "OLD NEW [--corpus FILE] [--policies DIR] [--format json|text]",
    "What changes between two versions of a scheme policy, and which notices change level.",
    "OLD and NEW are policy files, or a scheme id of the policy set. With --corpus (JSON lines,\n"
    "one notice per line) every notice is assessed under both and the changes are counted by\n"
    "direction and by level transition. Progress goes to standard error after one second.",
    {kPoliciesOption, kFormatOption, {"corpus", "FILE", "notices as JSON lines"}},
    2};

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

int Show(const Args& args) {
  auto format = OutputFormat(args);
  if (!format.ok()) return Fail("policy show", format.status());
  if (args.positional.empty()) return Fail("policy show", absl::InvalidArgumentError("which scheme? (sevex policy show ID)"));
  auto catalog = LoadCatalog(args);
  if (!catalog.ok()) return Fail("policy show", catalog.status());
  const engine::CompiledPolicy* p = catalog->Find(args.positional[0]);
  if (p == nullptr) {
    return Fail("policy show", absl::InvalidArgumentError(absl::StrCat("unknown scheme '", args.positional[0],
                                                                       "' (known: ", catalog->SchemeIds(), ")")));
  }
  if (*format == "json") {
    std::string json = ToJson(p->proto(), true);
    // Add the hash beside the policy's own fields.
    json.insert(1, absl::StrCat("\n \"policy_hash\": ", base::JsonString(p->hash()), ","));
    std::cout << json << "\n";
  } else {
    std::cout << PolicyShowText(*p, catalog->scale());
  }
  return kExitOk;
}

int Matrix(const Args& args) {
  const std::string format = args.Get("format", "text");
  if (format != "text" && format != "json" && format != "svg") {
    return Fail("policy matrix", absl::InvalidArgumentError(absl::StrCat("--format ", format, ": expected text, json or svg")));
  }
  auto catalog = LoadCatalog(args);
  if (!catalog.ok()) return Fail("policy matrix", catalog.status());
  const auto cells = TranslationMatrix(*catalog);
  const std::string out = format == "svg" ? MatrixSvg(*catalog, cells)
                          : format == "json" ? MatrixJson(cells) + "\n"
                                             : MatrixText(*catalog, cells);
  if (!args.Has("output")) {
    std::cout << out;
    return kExitOk;
  }
  std::ofstream file(args.Get("output"), std::ios::binary | std::ios::trunc);
  file << out;
  file.close();
  if (!file) return Fail("policy matrix", absl::InternalError(absl::StrCat(args.Get("output"), ": cannot write")));
  std::cerr << "wrote " << args.Get("output") << "\n";
  return kExitOk;
}

// A policy named on the command line: a file, or a scheme id of the policy set.
absl::StatusOr<const engine::CompiledPolicy*> ResolvePolicy(const engine::Catalog& catalog, const std::string& name,
                                                            std::vector<std::unique_ptr<engine::CompiledPolicy>>& owned) {
  std::error_code ec;
  if (std::filesystem::is_regular_file(name, ec)) {
    auto text = engine::ReadFileBounded(name, 4 << 20);
    if (!text.ok()) return text.status();
    auto p = catalog.LoadPolicy(*text, name);
    if (!p.ok()) return p.status();
    owned.push_back(std::move(p).value());
    return owned.back().get();
  }
  if (const engine::CompiledPolicy* p = catalog.Find(name)) return p;
  return absl::NotFoundError(absl::StrCat("'", name, "' is neither a policy file nor a scheme (known: ", catalog.SchemeIds(), ")"));
}

// Reads a JSON-lines corpus line by line (each line at most 1 MiB) and feeds `diff`.
absl::Status FeedCorpus(const engine::Catalog& catalog, const std::string& path, engine::CorpusDiff& diff) {
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) return absl::NotFoundError(absl::StrCat(path, ": cannot open"));
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> closer(file, &std::fclose);
  std::vector<char> buf(engine::kMaxNoticeJsonBytes + 2);
  const auto start = std::chrono::steady_clock::now();
  auto next_progress = start + std::chrono::seconds(1);
  bool progress_shown = false;
  int64_t line_no = 0;
  engine::NoticeReader reader;
  while (std::fgets(buf.data(), buf.size(), file) != nullptr) {
    ++line_no;
    absl::string_view line(buf.data());
    if (!line.empty() && line.back() != '\n' && !std::feof(file)) {
      return absl::InvalidArgumentError(absl::StrCat(path, ":", line_no, ": line longer than ", engine::kMaxNoticeJsonBytes, " bytes"));
    }
    line = absl::StripAsciiWhitespace(line);
    if (line.empty()) continue;
    const std::string where = absl::StrCat(path, ":", line_no);
    auto notices = reader.Parse(line, where);
    if (!notices.ok()) return notices.status();
    for (const auto& n : *notices) {
      auto attrs = engine::CheckNotice(catalog.registry(), n);
      if (!attrs.ok()) return absl::InvalidArgumentError(absl::StrCat(where, ": ", attrs.status().message()));
      diff.Add(n.id().empty() ? absl::StrCat("line ", line_no) : n.id(), *attrs);
    }
    if ((line_no & 1023) == 0 && std::chrono::steady_clock::now() >= next_progress) {
      std::cerr << "policy diff: " << diff.total() << " notices assessed, " << diff.changed() << " changed...\n";
      next_progress += std::chrono::seconds(1);
      progress_shown = true;
    }
  }
  if (std::ferror(file)) return absl::InternalError(absl::StrCat(path, ": read error"));
  if (progress_shown) std::cerr << "policy diff: " << diff.total() << " notices assessed, done\n";
  return absl::OkStatus();
}

const char* DirectionWord(engine::CorpusDiff::Direction d) {
  switch (d) {
    case engine::CorpusDiff::Direction::kMoreSevere: return "more severe";
    case engine::CorpusDiff::Direction::kLessSevere: return "less severe";
    default: return "same severity";
  }
}

int Diff(const Args& args) {
  auto format = OutputFormat(args);
  if (!format.ok()) return Fail("policy diff", format.status());
  if (args.positional.size() != 2) return Fail("policy diff", absl::InvalidArgumentError("give OLD and NEW"));
  auto catalog = LoadCatalog(args);
  if (!catalog.ok()) return Fail("policy diff", catalog.status());
  std::vector<std::unique_ptr<engine::CompiledPolicy>> owned;
  auto old_policy = ResolvePolicy(*catalog, args.positional[0], owned);
  if (!old_policy.ok()) return Fail("policy diff", old_policy.status());
  auto new_policy = ResolvePolicy(*catalog, args.positional[1], owned);
  if (!new_policy.ok()) return Fail("policy diff", new_policy.status());
  const auto changes = engine::DescribeChanges((*old_policy)->proto(), (*new_policy)->proto());
  std::optional<engine::CorpusDiff> corpus;
  if (args.Has("corpus")) {
    corpus.emplace(**old_policy, **new_policy);
    if (absl::Status s = FeedCorpus(*catalog, args.Get("corpus"), *corpus); !s.ok()) return Fail("policy diff", s);
  }
  const auto& o = **old_policy;
  const auto& n = **new_policy;
  using Direction = engine::CorpusDiff::Direction;
  if (*format == "json") {
    // {"old": …, "new": …, "changes": […], "corpus": {…}}: one member per line, each member's
    // value on that line (the corpus' lists on lines of their own).
    base::JsonWriter w({.layout = base::JsonWriter::Layout::kSpaced});
    w.BeginObject(base::JsonWriter::Layout::kBlock);
    for (const auto& [key, p] : {std::pair{"old", &o}, std::pair{"new", &n}}) {
      w.Key(key).BeginObject();
      w.Key("scheme").String(p->id()).Key("version").String(p->proto().version());
      w.Key("policy_hash").String(p->hash()).EndObject();
    }
    w.Key("changes").BeginArray();
    for (const auto& c : changes) w.String(c);
    w.EndArray();
    if (corpus) {
      w.Key("corpus").BeginObject();
      w.Key("notices").Int(corpus->total()).Key("changed").Int(corpus->changed());
      w.Key("more_severe").Int(corpus->count(Direction::kMoreSevere));
      w.Key("less_severe").Int(corpus->count(Direction::kLessSevere));
      w.Key("same_severity").Int(corpus->count(Direction::kSameSeverity));
      w.Wrap().Key("transitions").BeginArray();
      for (int a = 0; a < o.level_count(); ++a) {
        for (int b = 0; b < n.level_count(); ++b) {
          const int64_t c = corpus->transitions()[a][b];
          if (c == 0) continue;
          w.BeginObject().Key("from").String(o.level(a).id()).Key("to").String(n.level(b).id());
          w.Key("count").Int(c).EndObject();
        }
      }
      w.EndArray();
      w.Wrap().Key("changed_notices").BeginArray();
      for (const auto& ch : corpus->listed()) {
        w.BeginObject().Key("id").String(ch.notice_id).Key("from").String(ch.from).Key("to").String(ch.to);
        w.Key("direction").String(DirectionWord(ch.direction)).EndObject();
      }
      w.EndArray().EndObject();
    }
    w.EndObject();
    std::cout << w.text() << "\n";
    return kExitOk;
  }
  std::cout << "old: " << o.id() << " " << o.proto().version() << " " << o.hash() << "\n"
            << "new: " << n.id() << " " << n.proto().version() << " " << n.hash() << "\n";
  if (changes.empty()) {
    std::cout << "\nno changes in the policy\n";
  } else {
    std::cout << "\n" << changes.size() << " change" << (changes.size() == 1 ? "" : "s") << " in the policy:\n";
    for (const auto& c : changes) std::cout << "  " << c << "\n";
  }
  if (corpus) {
    std::cout << "\ncorpus: " << corpus->total() << " notices, " << corpus->changed() << " change level ("
              << corpus->count(Direction::kMoreSevere) << " more severe, " << corpus->count(Direction::kLessSevere)
              << " less severe, " << corpus->count(Direction::kSameSeverity) << " same severity)\n";
    for (int a = 0; a < o.level_count(); ++a) {
      for (int b = 0; b < n.level_count(); ++b) {
        const int64_t c = corpus->transitions()[a][b];
        if (c == 0 || o.level(a).id() == n.level(b).id()) continue;
        std::cout << "  " << o.level(a).id() << " -> " << n.level(b).id() << ": " << c << "\n";
      }
    }
    const size_t shown = std::min<size_t>(corpus->listed().size(), 20);
    if (shown > 0) std::cout << "first changed notices:\n";
    for (size_t i = 0; i < shown; ++i) {
      const auto& ch = corpus->listed()[i];
      std::cout << "  " << ch.notice_id << ": " << ch.from << " -> " << ch.to << " (" << DirectionWord(ch.direction) << ")\n";
    }
  }
  return kExitOk;
}
}  // namespace

int RunPolicy(const std::vector<std::string>& argv) {
  static const Command* const kVerbs[] = {&kPolicyCheck, &kPolicyShow, &kPolicyMatrix, &kPolicyDiff};
  std::string usage = "usage: sevex policy <verb> [options]   (sevex policy <verb> --help for each)\n\nverbs:\n";
  for (const Command* c : kVerbs) absl::StrAppend(&usage, "  ", c->name.substr(7), "\t", c->summary, "\n");
  if (argv.empty() || argv[0] == "--help" || argv[0] == "help") {
    std::cout << usage;
    return argv.empty() ? kExitBadInput : kExitOk;
  }
  const std::vector<std::string> rest(argv.begin() + 1, argv.end());
  for (const Command* command : kVerbs) {
    if (command->name != absl::StrCat("policy ", argv[0])) continue;
    auto args = ParseArgs(*command, rest);
    if (!args.ok()) return Fail(command->name, args.status());
    if (args->help) {
      std::cout << Usage(*command);
      return kExitOk;
    }
    if (command == &kPolicyCheck) return Check(*args);
    if (command == &kPolicyShow) return Show(*args);
    if (command == &kPolicyMatrix) return Matrix(*args);
    return Diff(*args);
  }
  std::cerr << "sevex policy: unknown verb '" << argv[0] << "'\n\n" << usage;
  return kExitBadInput;
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
