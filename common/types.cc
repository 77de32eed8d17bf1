// TxnId text form: see types.h.
#include "common/types.h"

#include <charconv>

namespace kv2pc {

std::string TxnId::ToString() const {
  // Appended piece by piece: `"T" + std::to_string(...)` trips GCC 12's -Wrestrict false
  // positive (GCC bug 105651) in optimized builds.
  std::string out = "T";
  out += std::to_string(coordinator);
  out += '.';
  out += std::to_string(incarnation);
  out += '.';
  out += std::to_string(seq);
  return out;
}

namespace {
bool ParseUint(std::string_view s, uint64_t max, uint64_t* out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size() && *out <= max;
}
}  // namespace

std::optional<TxnId> TxnId::Parse(std::string_view text) {
  if (text.size() < 6 || (text[0] != 'T' && text[0] != 't')) return std::nullopt;
  text.remove_prefix(1);
  size_t d1 = text.find('.');
  if (d1 == std::string_view::npos) return std::nullopt;
  size_t d2 = text.find('.', d1 + 1);
  if (d2 == std::string_view::npos) return std::nullopt;
  uint64_t c, i, s;
  if (!ParseUint(text.substr(0, d1), UINT32_MAX, &c) ||
      !ParseUint(text.substr(d1 + 1, d2 - d1 - 1), UINT32_MAX, &i) ||
      !ParseUint(text.substr(d2 + 1), UINT64_MAX, &s)) {
    return std::nullopt;
  }
  TxnId t{static_cast<uint32_t>(c), static_cast<uint32_t>(i), s};
  if (!t.valid()) return std::nullopt;
  return t;
}

std::string CoordinatorName(uint32_t index) { return "coordinator-" + std::to_string(index); }

}  // namespace kv2pc
