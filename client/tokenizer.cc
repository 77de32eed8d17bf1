// See tokenizer.h.
#include "client/tokenizer.h"

#include "client/safe_text.h"

namespace kv2pc {

namespace {

bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

Status ErrorAt(size_t index, const std::string& what, std::string_view hint = "") {
  return Status::InvalidArgument(what + " at column " + std::to_string(index + 1) +
                                 std::string(hint));
}

}  // namespace

Result<std::vector<std::string>> TokenizeLine(std::string_view line) {
  std::vector<std::string> words;
  std::string word;
  bool in_word = false;  // distinguishes "" (an empty word) from no word at all
  size_t i = 0;
  while (i < line.size()) {
    const char c = line[i];
    if (IsSpace(c)) {
      if (in_word) words.push_back(std::move(word));
      word.clear();
      in_word = false;
      i++;
      continue;
    }
    in_word = true;
    if (c != '"') {
      word.push_back(c);
      i++;
      continue;
    }
    const size_t open = i++;
    for (;;) {
      if (i >= line.size()) return ErrorAt(open, "unterminated quote");
      const char q = line[i];
      if (q == '"') {
        i++;
        break;
      }
      if (q != '\\') {
        word.push_back(q);
        i++;
        continue;
      }
      if (i + 1 >= line.size()) return ErrorAt(open, "unterminated quote");
      const char e = line[i + 1];
      switch (e) {
        case '"':
        case '\\':
          word.push_back(e);
          i += 2;
          break;
        case 'n':
          word.push_back('\n');
          i += 2;
          break;
        case 't':
          word.push_back('\t');
          i += 2;
          break;
        case 'x': {
          int hi = i + 2 < line.size() ? HexValue(line[i + 2]) : -1;
          int lo = i + 3 < line.size() ? HexValue(line[i + 3]) : -1;
          if (hi < 0 || lo < 0) return ErrorAt(i, "\\x needs two hex digits");
          word.push_back(static_cast<char>(hi * 16 + lo));
          i += 4;
          break;
        }
        default:
          return ErrorAt(i, "unknown escape \\" + SafeText(std::string_view(&e, 1)),
                         " (inside quotes use \\\" \\\\ \\n \\t or \\xNN)");
      }
    }
  }
  if (in_word) words.push_back(std::move(word));
  return words;
}

}  // namespace kv2pc
