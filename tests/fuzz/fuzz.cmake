# SPDX-License-Identifier: MIT
# tests/fuzz: libFuzzer harnesses, built only with -DRELHOST_FUZZ=ON and clang (see README.md).
# Without the option, or with another compiler, nothing here is built or registered.
option(RELHOST_FUZZ "Build the libFuzzer harnesses (clang only; always with ASan and UBSan)" OFF)
set(RELHOST_FUZZ_SECONDS 60 CACHE STRING
    "Seconds each fuzz test runs (RELHOST_FUZZ_SECONDS in the environment overrides it)")
if(NOT RELHOST_FUZZ)
  return()
endif()
if(NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
  message(WARNING "RELHOST_FUZZ=ON needs clang (libFuzzer), not ${CMAKE_C_COMPILER_ID}: "
                  "no fuzz target is built. Configure a fresh build folder with CC=clang.")
  return()
endif()
include(CheckCSourceCompiles)
set(CMAKE_REQUIRED_FLAGS "-fsanitize=fuzzer,address,undefined")
set(CMAKE_REQUIRED_LINK_OPTIONS "-fsanitize=fuzzer,address,undefined")
check_c_source_compiles(
  "#include <stddef.h>\n#include <stdint.h>\nint LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }"
  RELHOST_HAVE_LIBFUZZER)
unset(CMAKE_REQUIRED_FLAGS)
unset(CMAKE_REQUIRED_LINK_OPTIONS)
if(NOT RELHOST_HAVE_LIBFUZZER)
  message(WARNING "RELHOST_FUZZ=ON: ${CMAKE_C_COMPILER} cannot link -fsanitize=fuzzer: "
                  "no fuzz target is built")
  return()
endif()

set(_fuzz_flags -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
    -fno-omit-frame-pointer -g)

# plugins/metrics_regex's feed(): every chunking posts what one chunk posts.
add_executable(fuzz_metrics_regex_feed ${CMAKE_CURRENT_LIST_DIR}/feed_fuzz.c
  ${PROJECT_SOURCE_DIR}/tests/support/mock_host.c ${METRICS_REGEX_SOURCES})
target_include_directories(fuzz_metrics_regex_feed PRIVATE ${PROJECT_SOURCE_DIR}/tests/support)
target_compile_options(fuzz_metrics_regex_feed PRIVATE ${_fuzz_flags})
target_link_options(fuzz_metrics_regex_feed PRIVATE ${_fuzz_flags})
target_link_libraries(fuzz_metrics_regex_feed PRIVATE relhost_core PkgConfig::PCRE2)

# Replays tests/fuzz/crashes/*, then runs the fuzzer on a fresh copy of the checked-in corpus
# (the corpus in git never changes); fails on any crash, sanitizer report or oracle abort. The
# run bounds itself (-max_total_time, any RELHOST_FUZZ_SECONDS), so ctest's timeout is a week.
add_test(NAME fuzz_metrics_regex_feed
  COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/run_fuzz.sh $<TARGET_FILE:fuzz_metrics_regex_feed>
          ${CMAKE_CURRENT_LIST_DIR}/corpus/feed ${CMAKE_BINARY_DIR}/fuzz-work/feed
          ${RELHOST_FUZZ_SECONDS} ${CMAKE_CURRENT_LIST_DIR}/crashes)
set_tests_properties(fuzz_metrics_regex_feed PROPERTIES TIMEOUT 604800 LABELS fuzz)
