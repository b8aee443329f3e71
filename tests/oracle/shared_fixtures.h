#pragma once
// The upstream xtcp2 fixtures, read in place from ../shared/fixtures beside the project checkout
// (never copied into the project). Tests skip, saying so, when the directory is absent.

#include <string>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "support/files.h"

namespace xtcp::testing {

inline std::string SharedFixturesDir() {
  return XTCP_SOURCE_DIR "/../shared/fixtures/xtcp2-testdata";
}

inline std::string SharedFixture(std::string_view relative) {
  return absl::StrCat(SharedFixturesDir(), "/",
                      absl::string_view(relative.data(), relative.size()));
}

}  // namespace xtcp::testing

#define XTCP_REQUIRE_SHARED_FIXTURES()                                                           \
  do {                                                                                           \
    if (!::xtcp::testing::FileExists(::xtcp::testing::SharedFixturesDir())) {                    \
      GTEST_SKIP() << "shared fixtures not present at " << ::xtcp::testing::SharedFixturesDir(); \
    }                                                                                            \
  } while (0)
