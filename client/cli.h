// The kv2pc command-line tool: one command from the arguments, or the shell (shell.h).
//
//   kv2pc [--coordinator tcp://HOST:PORT] [--data-dir D] [--timeout-ms N] [--raw] [COMMAND]
//
//   kv2pc put greeting hello     -> OK                        (exit 0)
//   kv2pc get greeting           -> hello                     (exit 0)
//   kv2pc get nothing            -> "(not found)" on stderr   (exit 1)
//   kv2pc --raw get blob > f     -> the value's exact bytes, no newline
//   kv2pc del greeting           -> OK
//   kv2pc ping participant-0     -> pong: participant-0 (participant)   (exit 1: no answer)
//   kv2pc                        -> the shell; reads commands from stdin
//
// get/put/del each run in their own transaction. Errors print one "error: ..." line on stderr;
// exit statuses are in cli_options.h (2: usage or no cluster, 3: the operation failed).
// How the coordinator is found: cli_options.h.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

#include "client/cli_options.h"

namespace kv2pc {

// Runs the CLI on `args` (argv without the program name) and returns the exit status.
// `interactive` tells whether `in` is a terminal (the shell then prompts). Never throws.
int RunCli(const std::vector<std::string>& args, const CliEnvironment& env, std::istream& in,
           std::ostream& out, std::ostream& err, bool interactive);

}  // namespace kv2pc
