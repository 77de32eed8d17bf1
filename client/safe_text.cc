// See safe_text.h.
#include "client/safe_text.h"

#include <cstdint>

namespace kv2pc {

namespace {

void AppendHexEscape(unsigned char byte, std::string* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  out->push_back('\\');
  out->push_back('x');
  out->push_back(kHex[byte >> 4]);
  out->push_back(kHex[byte & 0xf]);
}

// Length of the well-formed UTF-8 sequence of two or more bytes that starts `s`, and its code
// point in *cp; 0 when `s` does not start with one. The ranges are those of the Unicode
// standard's table "Well-Formed UTF-8 Byte Sequences", which exclude overlong forms and
// surrogates by restricting the second byte.
size_t DecodeMultiByte(std::string_view s, uint32_t* cp) {
  auto byte = [&](size_t i) { return static_cast<unsigned char>(s[i]); };
  const unsigned char lead = byte(0);
  size_t len;
  unsigned char lo = 0x80, hi = 0xbf;  // allowed range of the second byte
  if (lead >= 0xc2 && lead <= 0xdf) {
    len = 2;
  } else if (lead >= 0xe0 && lead <= 0xef) {
    len = 3;
    if (lead == 0xe0) lo = 0xa0;  // overlong
    if (lead == 0xed) hi = 0x9f;  // surrogates
  } else if (lead >= 0xf0 && lead <= 0xf4) {
    len = 4;
    if (lead == 0xf0) lo = 0x90;  // overlong
    if (lead == 0xf4) hi = 0x8f;  // above U+10FFFF
  } else {
    return 0;
  }
  if (s.size() < len || byte(1) < lo || byte(1) > hi) return 0;
  uint32_t value = lead & (0xff >> (len + 1));
  for (size_t i = 1; i < len; i++) {
    if ((byte(i) & 0xc0) != 0x80) return 0;
    value = (value << 6) | (byte(i) & 0x3f);
  }
  *cp = value;
  return len;
}

// C1 controls, and the characters that can make a terminal show text other than in byte
// order (the "Trojan Source" attack): line/paragraph separators and bidi controls.
bool IsUnsafeCodePoint(uint32_t cp) {
  return (cp >= 0x80 && cp <= 0x9f) || cp == 0x2028 || cp == 0x2029 ||
         (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

}  // namespace

std::string SafeText(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  size_t i = 0;
  while (i < bytes.size()) {
    const unsigned char c = static_cast<unsigned char>(bytes[i]);
    if (c < 0x80) {
      if (c == '\\') {
        out += "\\\\";
      } else if (c >= 0x20 && c < 0x7f) {
        out.push_back(static_cast<char>(c));
      } else {
        AppendHexEscape(c, &out);
      }
      i++;
      continue;
    }
    uint32_t cp = 0;
    size_t len = DecodeMultiByte(bytes.substr(i), &cp);
    if (len == 0) {
      AppendHexEscape(c, &out);  // not UTF-8: escape this byte, resynchronise on the next
      i++;
    } else if (IsUnsafeCodePoint(cp)) {
      for (size_t j = 0; j < len; j++)
        AppendHexEscape(static_cast<unsigned char>(bytes[i + j]), &out);
      i += len;
    } else {
      out.append(bytes.substr(i, len));
      i += len;
    }
  }
  return out;
}

}  // namespace kv2pc
