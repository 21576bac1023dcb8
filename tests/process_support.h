// process_support.h — for tests that run the `sevex` binary as a user does: a shell command
// with its standard output captured, and the processes still running afterwards.
#ifndef SEVEX_TESTS_PROCESS_SUPPORT_H_
#define SEVEX_TESTS_PROCESS_SUPPORT_H_

#include <string>
#include <vector>

namespace sevex::testing {

struct Outcome {
  int exit_code = -1;  // -1 when the command did not exit normally
  std::string out;     // standard output; standard error passes through
};

// Runs `command` under /bin/sh.
Outcome Shell(const std::string& command);

// Processes (other than this one) whose command line mentions `needle`, as "pid: command line".
std::vector<std::string> ProcessesMentioning(const std::string& needle);

}  // namespace sevex::testing

#endif  // SEVEX_TESTS_PROCESS_SUPPORT_H_
