// spdlog, as every wijkpuls source file includes it (instead of
// <spdlog/spdlog.h>).
//
// Debian's spdlog formats through the shared libfmt 9, whose format.h does
// not declare that its core, `fmt::detail::vformat_to<char>`, is already
// instantiated in libfmt.so: every file that logs an argument compiled it
// again, 6 of its 9 s at -O2 (measured 2026-12-01). Declaring the
// instantiation extern makes such a file cost what including spdlog costs.
// GCC only: clang mangles that signature differently and would not link.
#pragma once

#include <spdlog/spdlog.h>

#if !defined(__clang__) && defined(SPDLOG_FMT_EXTERNAL) && !defined(FMT_HEADER_ONLY) && \
    FMT_VERSION >= 90000 && FMT_VERSION < 100000
FMT_BEGIN_NAMESPACE
namespace detail {
extern template FMT_API void vformat_to<char>(buffer<char>&, basic_string_view<char>,
                                             basic_format_args<FMT_BUFFER_CONTEXT(char)>, locale_ref);
}  // namespace detail
FMT_END_NAMESPACE
#endif
