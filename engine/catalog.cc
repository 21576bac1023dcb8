#include "engine/catalog.h"

#include <algorithm>
#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/status_macros.h"

namespace sevex::engine {
namespace {

constexpr size_t kMaxPolicyFileBytes = 4 << 20;

std::string JoinPath(absl::string_view origin, absl::string_view path) {
  if (origin.empty()) return std::string(path);
  if (absl::EndsWith(origin, "/")) return absl::StrCat(origin, path);
  return absl::StrCat(origin, "/", path);
}

}  // namespace

absl::StatusOr<std::string> ReadFileBounded(const std::filesystem::path& path, size_t max_bytes) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) return absl::NotFoundError(absl::StrCat(path.string(), ": cannot read: ", ec.message()));
  if (size > max_bytes) {
    return absl::InvalidArgumentError(
        absl::StrCat(path.string(), ": file is ", size, " bytes; at most ", max_bytes, " are accepted"));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat(path.string(), ": cannot open"));
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

absl::StatusOr<std::vector<PolicyFile>> ReadPolicyDirectory(const std::filesystem::path& dir) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    return absl::NotFoundError(absl::StrCat(dir.string(), ": not a policy directory"));
  }
  std::vector<PolicyFile> files;
  for (absl::string_view name : {kRegistryFile, kScaleFile}) {
    ASSIGN_OR_RETURN(std::string text, ReadFileBounded(dir / std::string(name), kMaxPolicyFileBytes));
    files.push_back({std::string(name), std::move(text)});
  }
  std::vector<std::filesystem::path> schemes;
  for (const auto& entry : std::filesystem::directory_iterator(dir / std::string(kSchemesDir), ec)) {
    if (entry.path().extension() == ".textproto") schemes.push_back(entry.path());
  }
  if (ec) return absl::NotFoundError(absl::StrCat((dir / std::string(kSchemesDir)).string(), ": ", ec.message()));
  std::sort(schemes.begin(), schemes.end());
  for (const auto& path : schemes) {
    ASSIGN_OR_RETURN(std::string text, ReadFileBounded(path, kMaxPolicyFileBytes));
    files.push_back({absl::StrCat(kSchemesDir, "/", path.filename().string()), std::move(text)});
  }
  return files;
}

absl::StatusOr<Catalog> Catalog::Load(const std::vector<PolicyFile>& files, absl::string_view origin) {
  Catalog catalog;
  catalog.origin_ = std::string(origin);
  auto find = [&](absl::string_view path) -> const PolicyFile* {
    for (const auto& f : files) {
      if (f.path == path) return &f;
    }
    return nullptr;
  };
  const PolicyFile* registry = find(kRegistryFile);
  const PolicyFile* scale = find(kScaleFile);
  if (registry == nullptr || scale == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(origin, ": a policy set needs ", kRegistryFile, " and ", kScaleFile));
  }
  ASSIGN_OR_RETURN(AttributeRegistry reg, AttributeRegistry::Parse(registry->contents, JoinPath(origin, registry->path)));
  catalog.registry_ = std::make_unique<AttributeRegistry>(std::move(reg));
  ASSIGN_OR_RETURN(SharedScale sc, SharedScale::Parse(scale->contents, JoinPath(origin, scale->path)));
  catalog.scale_ = std::make_unique<SharedScale>(std::move(sc));

  std::vector<std::string> errors;
  for (const PolicyFile& f : files) {
    if (!absl::StartsWith(f.path, absl::StrCat(kSchemesDir, "/"))) continue;
    const std::string file = JoinPath(origin, f.path);
    absl::StatusOr<std::unique_ptr<CompiledPolicy>> policy = catalog.LoadPolicy(f.contents, file);
    if (!policy.ok()) {
      errors.emplace_back(policy.status().message());
      continue;
    }
    const std::string expected = absl::StrCat(kSchemesDir, "/", (*policy)->id(), ".textproto");
    if (f.path != expected) {
      errors.push_back(absl::StrCat(file, ": scheme '", (*policy)->id(), "' must live in ", expected));
      continue;
    }
    catalog.policies_.push_back(std::move(policy).value());
  }
  if (!errors.empty()) return absl::InvalidArgumentError(absl::StrJoin(errors, "\n"));
  if (catalog.policies_.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(origin, ": no scheme policies in ", kSchemesDir, "/"));
  }
  std::sort(catalog.policies_.begin(), catalog.policies_.end(),
            [](const auto& a, const auto& b) { return a->id() < b->id(); });
  return catalog;
}

absl::StatusOr<std::unique_ptr<CompiledPolicy>> Catalog::LoadPolicy(absl::string_view text,
                                                                    const std::string& file) const {
  return CompiledPolicy::Load(text, file, *registry_);
}

const CompiledPolicy* Catalog::Find(absl::string_view scheme_id) const {
  for (const auto& p : policies_) {
    if (p->id() == scheme_id) return p.get();
  }
  return nullptr;
}

std::string Catalog::SchemeIds() const {
  std::vector<std::string> ids;
  for (const auto& p : policies_) ids.push_back(p->id());
  return absl::StrJoin(ids, ", ");
}

}  // namespace sevex::engine
