// kv2pc: the command-line client. Everything but reading the process state is in cli.h.
#include <unistd.h>

#include <iostream>
#include <string>
#include <vector>

#include "client/cli.h"
#include "client/cli_options.h"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  return kv2pc::RunCli(args, kv2pc::CliEnvironment::FromProcess(), std::cin, std::cout, std::cerr,
                       isatty(STDIN_FILENO) == 1);
}
