// Printing keys and values, which are arbitrary bytes, on a terminal without letting them
// move the cursor, change colours, or pass one string off as another. Used by the kv2pc CLI
// (client/cli.cc, client/shell.cc); the escapes are the ones client/tokenizer.h reads back.
#pragma once

#include <string>
#include <string_view>

namespace kv2pc {

// Returns `bytes` as text that is safe to print:
//   - printable ASCII (0x20-0x7e) as is, except the backslash, which becomes "\\";
//   - well-formed UTF-8 sequences (no overlong forms, no surrogates, at most U+10FFFF) as is,
//     unless the character is a control (U+0080-U+009F) or one that reorders or breaks the
//     displayed text (U+2028, U+2029, the bidirectional embeddings, overrides and isolates);
//   - every other byte as "\xNN" (two lower-case hex digits).
// So two different byte strings never print the same. Never fails.
std::string SafeText(std::string_view bytes);

}  // namespace kv2pc
