# Build helpers: one xtcp_cc_library() per component, shared warning and sanitizer flags.

set(XTCP_WARNINGS -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wcast-align
    -Wunused -Woverloaded-virtual -Wimplicit-fallthrough -Wno-missing-field-initializers)
if(XTCP_WERROR)
  list(APPEND XTCP_WARNINGS -Werror)
endif()

if(XTCP_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
  # tcmalloc and ASan both replace malloc; the sanitizer build uses the sanitizer's allocator.
  set(XTCP_TCMALLOC OFF CACHE BOOL "" FORCE)
endif()

if(XTCP_TSAN)
  # ThreadSanitizer (clang). Debian's abseil is not built with TSan; src/common/tsan_absl_shim.cc
  # tells TSan about absl::Mutex/CondVar/Notification (linked into every executable here).
  add_compile_options(-fsanitize=thread -fno-omit-frame-pointer)
  add_link_options(-fsanitize=thread)
  set(XTCP_TCMALLOC OFF CACHE BOOL "" FORCE)
endif()

# clang checks the ABSL_GUARDED_BY / ABSL_LOCKS_EXCLUDED annotations (-Wthread-safety); with
# XTCP_WERROR a lock used against its annotations fails the build.
if(CMAKE_CXX_COMPILER_ID MATCHES "Clang")
  list(APPEND XTCP_WARNINGS -Wthread-safety)
endif()

if(XTCP_FUZZ)
  # Instrument the libraries for coverage feedback; the fuzz target adds -fsanitize=fuzzer itself.
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
  set(XTCP_TCMALLOC OFF CACHE BOOL "" FORCE)
endif()

# Profile-guided optimisation with GCC (see profiles/README.md):
#   XTCP_PGO_GENERATE=ON  instrument; running the binary writes .gcda files into XTCP_PGO_DIR
#   XTCP_PGO=ON           optimise with the .gcda files in XTCP_PGO_DIR (default: profiles/gcc)
# Profile file names are made relative to the build directory (-fprofile-prefix-path), so a
# profile captured in one build directory applies in another. A stale profile (changed sources)
# is ignored function by function, never an error.
set(XTCP_PGO_DIR "${PROJECT_SOURCE_DIR}/profiles/gcc" CACHE PATH "Directory of the GCC PGO profile")
option(XTCP_PGO_GENERATE "Instrument the build to capture a PGO profile into XTCP_PGO_DIR" OFF)
if(XTCP_PGO_GENERATE)
  add_compile_options(-fprofile-generate=${XTCP_PGO_DIR} -fprofile-update=atomic
                      -fprofile-prefix-path=${PROJECT_BINARY_DIR})
  add_link_options(-fprofile-generate=${XTCP_PGO_DIR})
elseif(XTCP_PGO)
  add_compile_options(-fprofile-use=${XTCP_PGO_DIR} -fprofile-partial-training
                      -fprofile-prefix-path=${PROJECT_BINARY_DIR} -Wno-missing-profile
                      -Wno-coverage-mismatch)
endif()

# xtcp_cc_library(NAME name SRCS a.cc b.cc DEPS dep1 dep2)
function(xtcp_cc_library)
  cmake_parse_arguments(ARG "" "NAME" "SRCS;DEPS" ${ARGN})
  add_library(${ARG_NAME} STATIC ${ARG_SRCS})
  target_include_directories(${ARG_NAME} PUBLIC ${PROJECT_SOURCE_DIR}/include ${PROJECT_SOURCE_DIR}/src
                             ${PROJECT_BINARY_DIR}/generated)
  target_compile_options(${ARG_NAME} PRIVATE ${XTCP_WARNINGS})
  target_link_libraries(${ARG_NAME} PUBLIC ${ARG_DEPS})
  add_dependencies(${ARG_NAME} xtcp_layering)
endfunction()

# xtcp_cc_test(NAME name SRCS a_test.cc DEPS lib1 lib2 [LABELS l1 l2] [RESOURCE_LOCK r] [TIMEOUT s])
# Tests that create namespaces or count the daemon's threads share RESOURCE_LOCK netns, so ctest -j
# never runs two of them at once.
function(xtcp_cc_test)
  cmake_parse_arguments(ARG "" "NAME;RESOURCE_LOCK;TIMEOUT" "SRCS;DEPS;LABELS" ${ARGN})
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 300)
  endif()
  add_executable(${ARG_NAME} ${ARG_SRCS})
  target_compile_options(${ARG_NAME} PRIVATE ${XTCP_WARNINGS})
  target_include_directories(${ARG_NAME} PRIVATE ${PROJECT_SOURCE_DIR}/tests)
  target_link_libraries(${ARG_NAME} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gmock GTest::gtest_main)
  target_compile_definitions(${ARG_NAME} PRIVATE
      XTCP_SOURCE_DIR="${PROJECT_SOURCE_DIR}" XTCP_BINARY_DIR="${PROJECT_BINARY_DIR}")
  set(props TIMEOUT ${ARG_TIMEOUT})
  if(ARG_LABELS)
    list(APPEND props LABELS "${ARG_LABELS}")
  endif()
  if(ARG_RESOURCE_LOCK)
    list(APPEND props RESOURCE_LOCK ${ARG_RESOURCE_LOCK})
  endif()
  gtest_discover_tests(${ARG_NAME} DISCOVERY_TIMEOUT 60 PROPERTIES ${props})
endfunction()

# The layering check (cmake/layering.cmake) runs whenever a source under src/ changes; every
# library depends on it, so a forbidden #include fails the normal build before compiling.
file(GLOB_RECURSE XTCP_LAYERED_SOURCES CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/src/*.h
     ${PROJECT_SOURCE_DIR}/src/*.cc)
add_custom_command(
  OUTPUT ${PROJECT_BINARY_DIR}/layering.stamp
  COMMAND ${CMAKE_COMMAND} -DXTCP_SOURCE_DIR=${PROJECT_SOURCE_DIR}
          -DXTCP_STAMP=${PROJECT_BINARY_DIR}/layering.stamp -P ${PROJECT_SOURCE_DIR}/cmake/layering.cmake
  DEPENDS ${XTCP_LAYERED_SOURCES} ${PROJECT_SOURCE_DIR}/cmake/layering.cmake
  COMMENT "Checking #include layering (cmake/layering.cmake)")
add_custom_target(xtcp_layering DEPENDS ${PROJECT_BINARY_DIR}/layering.stamp)
