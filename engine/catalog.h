// catalog.h — a loaded policy set: the attribute registry, the shared scale and every scheme.
//
// A policy set is a directory (or the copy embedded in the binary) holding
// `attributes.textproto`, `shared-scale.textproto` and `schemes/<id>.textproto`.
//
//   ASSIGN_OR_RETURN(auto files, ReadPolicyDirectory("policies"));
//   ASSIGN_OR_RETURN(Catalog catalog, Catalog::Load(files));
//   const CompiledPolicy* au = catalog.Find("au-asd");
#ifndef SEVEX_ENGINE_CATALOG_H_
#define SEVEX_ENGINE_CATALOG_H_

#include <filesystem>
#include <memory>
#include <string>
#include "absl/strings/string_view.h"
#include <vector>

#include "absl/status/statusor.h"
#include "engine/policy.h"
#include "engine/registry.h"
#include "engine/shared_scale.h"

namespace sevex::engine {

// One file of a policy set; `path` is relative to the set's root ("schemes/au-asd.textproto").
struct PolicyFile {
  std::string path;
  std::string contents;
};

inline constexpr absl::string_view kRegistryFile = "attributes.textproto";
inline constexpr absl::string_view kScaleFile = "shared-scale.textproto";
inline constexpr absl::string_view kSchemesDir = "schemes";

// Reads the registry, the scale and every `schemes/*.textproto` of `dir`. Files larger than
// 4 MiB are refused (policies are small; a larger file is a mistake or an attack).
absl::StatusOr<std::vector<PolicyFile>> ReadPolicyDirectory(const std::filesystem::path& dir);
absl::StatusOr<std::string> ReadFileBounded(const std::filesystem::path& path, size_t max_bytes);

// Immutable after Load(); thread-safe. Move-only; policies keep pointing at the registry,
// which lives on the heap.
class Catalog {
 public:
  // Loads and checks every file; all errors of all files come back together, one per line,
  // each naming "<origin>/<path>:line:col". `origin` says where the set came from (a
  // directory, or "embedded").
  static absl::StatusOr<Catalog> Load(const std::vector<PolicyFile>& files, absl::string_view origin);

  const AttributeRegistry& registry() const { return *registry_; }
  const SharedScale& scale() const { return *scale_; }
  const std::string& origin() const { return origin_; }
  // nullptr when there is no such scheme.
  const CompiledPolicy* Find(absl::string_view scheme_id) const;
  // Sorted by id.
  const std::vector<std::unique_ptr<CompiledPolicy>>& policies() const { return policies_; }
  std::string SchemeIds() const;  // "au-asd, eu-nis2", for messages

  // Loads one more policy file against this catalog's registry (for `policy check FILE`).
  absl::StatusOr<std::unique_ptr<CompiledPolicy>> LoadPolicy(absl::string_view text,
                                                             const std::string& file) const;

 private:
  Catalog() = default;
  std::string origin_;
  std::unique_ptr<AttributeRegistry> registry_;
  std::unique_ptr<SharedScale> scale_;
  std::vector<std::unique_ptr<CompiledPolicy>> policies_;
};

}  // namespace sevex::engine

#endif  // SEVEX_ENGINE_CATALOG_H_
