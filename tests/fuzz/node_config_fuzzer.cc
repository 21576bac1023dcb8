// node_config_fuzzer — a node's configuration file (textproto of v1::NodeConfig) read and
// checked by LoadNodeConfig, as `sevex node --config FILE --check` does. The input is written
// to a file in a private temporary directory (the loader reads a path; relative paths in it
// resolve against that directory).
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "node/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string path = [] {
    const auto dir = std::filesystem::temp_directory_path() / ("sevex-config-fuzz-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    return (dir / "node.textproto").string();
  }();
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  auto config = sevex::node::LoadNodeConfig(path);
  (void)config;
  return 0;
}
