// Splits a line of the kv2pc shell (client/shell.h) into words. Keys and values are bytes, so
// a word may hold spaces and any byte; client/safe_text.h prints values with the same escapes.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace kv2pc {

// Returns the words of `line`:
//   - words are separated by runs of whitespace (space, tab, CR, LF, VT, FF);
//   - a double-quoted part ("...") may contain whitespace and the escapes \" \\ \n \t and
//     \xNN (two hex digits, any byte); "" is an empty word;
//   - quoted and unquoted parts next to each other form one word (a"b c"d is `ab cd`), as in
//     a POSIX shell; outside quotes a backslash is an ordinary character.
// Returns InvalidArgument, naming the 1-based column, for an unterminated quote, an unknown
// escape or a \x not followed by two hex digits.
Result<std::vector<std::string>> TokenizeLine(std::string_view line);

}  // namespace kv2pc
