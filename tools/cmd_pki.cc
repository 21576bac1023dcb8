#include <filesystem>
#include <iostream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "base/json_writer.h"
#include "tools/cli.h"
#include "tools/commands.h"
#include "node/signing.h"
#include "transport/pki.h"

namespace sevex::cli {
namespace {

constexpr char kDevelopmentOnly[] =
    "For development and tests only: production nodes use certificates from their national PKI.\n"
    "TLS keys are ECDSA P-256, origin-signing keys Ed25519; all written 0600, never overwritten.";

const Command kPkiInit{"pki init", "--dir DIR [--name NAME] [--days N]",
                       "Create a development certificate authority: DIR/ca.key and DIR/ca.crt.", kDevelopmentOnly,
                       {{"dir", "DIR", "where the CA lives (created 0700)"},
                        {"name", "NAME", "the CA's common name (default: sevex development CA)"},
                        {"days", "N", "validity in days (default: 3650)"}},
                       0};
const Command kPkiIssue{"pki issue", "--dir DIR --node-id ID [--days N]",
                        "Issue a node's TLS key and certificate for sevex://ID and its origin-signing key pair.",
                        absl::StrCat("Writes DIR/ID.key and DIR/ID.crt (TLS, ECDSA P-256) and DIR/ID.sign.key and\n"
                                     "DIR/ID.sign.pub (Ed25519, the node's origin signatures on its notices).\n",
                                     kDevelopmentOnly),
                        {{"dir", "DIR", "the CA's directory"},
                         {"node-id", "ID", "the node's identity, e.g. cl.csirt"},
                         {"days", "N", "validity in days (default: 365)"}},
                        0};
const Command kPkiShow{"pki show", "CERT.crt [--format json|text]",
                       "Show a certificate's identity, validity and pin (SHA-256 of its public key).", "",
                       {kFormatOption},
                       1};

absl::StatusOr<int> Days(const Args& args, int fallback) {
  if (!args.Has("days")) return fallback;
  int days = 0;
  if (!absl::SimpleAtoi(args.Get("days"), &days) || days <= 0 || days > 36500) {
    return absl::InvalidArgumentError(absl::StrCat("--days ", args.Get("days"), ": expected a whole number of days, 1..36500"));
  }
  return days;
}

int Init(const Args& args) {
  if (!args.Has("dir")) return Fail("pki init", absl::InvalidArgumentError("--dir DIR is required"));
  auto days = Days(args, 3650);
  if (!days.ok()) return Fail("pki init", days.status());
  const absl::Status s = transport::InitCa(args.Get("dir"), args.Get("name", "sevex development CA"), *days);
  if (!s.ok()) return Fail("pki init", s);
  std::cout << "created " << args.Get("dir") << "/" << transport::kCaCertFile << " and " << transport::kCaKeyFile
            << " (development only)\n";
  return kExitOk;
}

int Issue(const Args& args) {
  if (!args.Has("dir") || !args.Has("node-id")) {
    return Fail("pki issue", absl::InvalidArgumentError("--dir DIR and --node-id ID are required"));
  }
  auto days = Days(args, 365);
  if (!days.ok()) return Fail("pki issue", days.status());
  transport::IssueOptions options;
  options.node_id = args.Get("node-id");
  options.days = *days;
  const std::string base = absl::StrCat(args.Get("dir"), "/", options.node_id);
  for (const char* ext : {".sign.key", ".sign.pub"}) {
    if (std::error_code ec; std::filesystem::exists(base + ext, ec)) {
      return Fail("pki issue", absl::AlreadyExistsError(absl::StrCat(base, ext, " already exists; not overwriting it")));
    }
  }
  const absl::Status s = transport::IssueNode(args.Get("dir"), options);
  if (!s.ok()) return Fail("pki issue", s);
  const absl::Status k = node::WriteSigningKeyPair(base + ".sign.key", base + ".sign.pub");
  if (!k.ok()) return Fail("pki issue", k);
  std::cout << "issued " << base << ".crt and .key for sevex://" << options.node_id << ", and " << base
            << ".sign.key and .sign.pub (origin signatures)\n";
  return kExitOk;
}

int Show(const Args& args) {
  auto format = OutputFormat(args);
  if (!format.ok()) return Fail("pki show", format.status());
  if (args.positional.empty()) return Fail("pki show", absl::InvalidArgumentError("which certificate? (sevex pki show FILE)"));
  auto info = transport::ReadCertificate(args.positional[0]);
  if (!info.ok()) return Fail("pki show", info.status());
  if (*format == "json") {
    base::JsonWriter w({.layout = base::JsonWriter::Layout::kSpaced});
    w.BeginObject().Key("subject").String(info->subject).Key("issuer").String(info->issuer);
    w.Key("node_id").String(info->node_id).Key("spki_sha256").String(info->spki_sha256);
    w.Key("not_before").String(info->not_before).Key("not_after").String(info->not_after);
    w.Key("is_ca").Bool(info->is_ca).EndObject();
    std::cout << w.text() << "\n";
    return kExitOk;
  }
  std::cout << "subject:   " << info->subject << "\nissuer:    " << info->issuer << "\n";
  if (!info->node_id.empty()) {
    std::cout << "identity:  sevex://" << info->node_id << "\n";
  } else if (!info->is_ca) {
    std::cout << "identity:  none (" << info->identity_error << ")\n";
  }
  std::cout << "valid:     " << info->not_before << " to " << info->not_after << "\n"
            << "pin:       sha256 " << info->spki_sha256 << "\n"
            << "ca:        " << (info->is_ca ? "yes" : "no") << "\n";
  return kExitOk;
}

}  // namespace

int RunPki(const std::vector<std::string>& argv) {
  static const Command* const kVerbs[] = {&kPkiInit, &kPkiIssue, &kPkiShow};
  std::string usage = "usage: sevex pki <verb> [options]   (sevex pki <verb> --help for each)\n\n";
  absl::StrAppend(&usage, kDevelopmentOnly, "\n\nverbs:\n");
  for (const Command* c : kVerbs) absl::StrAppend(&usage, "  ", c->name.substr(4), "\t", c->summary, "\n");
  if (argv.empty() || argv[0] == "--help" || argv[0] == "help") {
    std::cout << usage;
    return argv.empty() ? kExitBadInput : kExitOk;
  }
  const std::vector<std::string> rest(argv.begin() + 1, argv.end());
  for (const Command* command : kVerbs) {
    if (command->name != absl::StrCat("pki ", argv[0])) continue;
    auto args = ParseArgs(*command, rest);
    if (!args.ok()) return Fail(command->name, args.status());
    if (args->help) {
      std::cout << Usage(*command);
      return kExitOk;
    }
    if (command == &kPkiInit) return Init(*args);
    if (command == &kPkiIssue) return Issue(*args);
    return Show(*args);
  }
  std::cerr << "sevex pki: unknown verb '" << argv[0] << "'\n\n" << usage;
  return kExitBadInput;
}

}  // namespace sevex::cli
