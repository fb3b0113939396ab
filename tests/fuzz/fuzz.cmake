# SPDX-License-Identifier: MIT
# tests/fuzz: libFuzzer harnesses, built only with -DRELHOST_FUZZ=ON and clang (see README.md).
# Without the option, or with another compiler, nothing here is built or registered.
option(RELHOST_FUZZ "Build the libFuzzer harnesses (clang only; always with ASan and UBSan)" OFF)
set(RELHOST_FUZZ_SECONDS 30 CACHE STRING
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

# The core, compiled again with coverage and the sanitizers, for the harnesses of core code (the
# plain relhost_core carries neither, so libFuzzer would be blind inside it).
get_target_property(_core_sources relhost_core SOURCES)
add_library(relhost_core_fuzz STATIC ${_core_sources})
target_include_directories(relhost_core_fuzz PUBLIC
  $<TARGET_PROPERTY:relhost_core,INTERFACE_INCLUDE_DIRECTORIES>)
target_compile_definitions(relhost_core_fuzz PUBLIC
  $<TARGET_PROPERTY:relhost_core,INTERFACE_COMPILE_DEFINITIONS>)
target_link_libraries(relhost_core_fuzz PUBLIC PkgConfig::LIBCONFIG PkgConfig::JANSSON
                      PkgConfig::PCRE2 ${CMAKE_DL_LIBS} m)
target_include_directories(relhost_core_fuzz PRIVATE ${CURL_INCLUDE_DIRS}) # loaded lazily, as in relhost_core
target_compile_options(relhost_core_fuzz PRIVATE -fsanitize=fuzzer-no-link,address,undefined
                       -fno-sanitize-recover=undefined -fno-omit-frame-pointer -g)

set(_fuzz_support ${CMAKE_CURRENT_LIST_DIR}/fuzz_util.c ${CMAKE_CURRENT_LIST_DIR}/fuzz_host.c
    ${PROJECT_SOURCE_DIR}/tests/support/mock_host.c)

# relhost_add_fuzz(NAME CORPUS dir SOURCES file.c... [CORE core-target|NONE] [LIBS target...]
#                  [TIMES n])
# Target and ctest entry fuzz_<NAME>: replays tests/fuzz/crashes/<CORPUS>/*, then fuzzes a fresh
# copy of tests/fuzz/corpus/<CORPUS>/ (the corpus in git never changes); fails on any crash,
# sanitizer report or oracle abort. The run bounds itself (-max_total_time: TIMES, default 1,
# times RELHOST_FUZZ_SECONDS), so ctest's timeout is a week.
add_custom_target(fuzz_all) # every harness: what CI builds
function(relhost_add_fuzz NAME)
  cmake_parse_arguments(F "" "CORPUS;CORE;TIMES" "SOURCES;LIBS" ${ARGN})
  if(NOT F_CORE)
    set(F_CORE relhost_core_fuzz)
  endif()
  if(NOT F_TIMES)
    set(F_TIMES 1)
  endif()
  add_executable(fuzz_${NAME} ${F_SOURCES})
  add_dependencies(fuzz_all fuzz_${NAME})
  target_include_directories(fuzz_${NAME} PRIVATE ${PROJECT_SOURCE_DIR}/tests/support
                             ${CMAKE_CURRENT_FUNCTION_LIST_DIR})
  target_compile_options(fuzz_${NAME} PRIVATE ${_fuzz_flags})
  target_link_options(fuzz_${NAME} PRIVATE ${_fuzz_flags})
  if(F_CORE STREQUAL "NONE") # a plugin whose own helpers share names with the core's
    target_include_directories(fuzz_${NAME} PRIVATE ${PROJECT_SOURCE_DIR}/include)
    target_link_libraries(fuzz_${NAME} PRIVATE ${F_LIBS})
  else()
    target_link_libraries(fuzz_${NAME} PRIVATE ${F_CORE} ${F_LIBS})
  endif()
  add_test(NAME fuzz_${NAME}
    COMMAND sh ${CMAKE_CURRENT_FUNCTION_LIST_DIR}/run_fuzz.sh $<TARGET_FILE:fuzz_${NAME}>
            ${CMAKE_CURRENT_FUNCTION_LIST_DIR}/corpus/${F_CORPUS}
            ${CMAKE_BINARY_DIR}/fuzz-work/${F_CORPUS} ${RELHOST_FUZZ_SECONDS}
            ${CMAKE_CURRENT_FUNCTION_LIST_DIR}/crashes/${F_CORPUS} ${F_TIMES})
  set_tests_properties(fuzz_${NAME} PROPERTIES TIMEOUT 604800 LABELS fuzz)
endfunction()

# plugins/metrics_regex's feed(): every chunking posts what one chunk posts. (It links the plain
# core: only the plugin is under test there.) Twice the others' time (60 s in CI): the log reader
# decides what a release measured.
relhost_add_fuzz(metrics_regex_feed CORPUS feed CORE relhost_core TIMES 2
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/feed_fuzz.c ${PROJECT_SOURCE_DIR}/tests/support/mock_host.c
          ${METRICS_REGEX_SOURCES}
  LIBS PkgConfig::PCRE2)
# and every answer of its hand matcher for the SPS pattern (fast.c) is checked against PCRE2
target_compile_definitions(fuzz_metrics_regex_feed PRIVATE MR_FAST_CHECK=1)

# core/plan: plan_parse() of any plan file and --set values.
relhost_add_fuzz(plan_parse CORPUS plan
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/plan_fuzz.c ${CMAKE_CURRENT_LIST_DIR}/fuzz_util.c)

# core/record: state_open() of any snapshot and journal, read-only and writable; record_read().
relhost_add_fuzz(state_open CORPUS state
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/state_fuzz.c ${CMAKE_CURRENT_LIST_DIR}/fuzz_util.c)

# core/record: record_decode() of any bytes (an entry of the status page's index).
relhost_add_fuzz(record_decode CORPUS record
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/record_fuzz.c ${CMAKE_CURRENT_LIST_DIR}/fuzz_util.c)

# The plugins' reply and output parsers, each plugin's own files compiled in (instrumented).
set(_pl ${PROJECT_SOURCE_DIR}/plugins)
relhost_add_fuzz(asana_reply CORPUS asana
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/asana_fuzz.c ${_fuzz_support} ${_pl}/asana/asana.c
          ${_pl}/asana/asana_api.c ${_pl}/asana/asana_tasks.c ${_pl}/common/pl_host.c
          ${_pl}/common/pl_text.c ${_pl}/common/pl_http.c)
relhost_add_fuzz(github_reply CORPUS github
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/github_fuzz.c ${_fuzz_support} ${_pl}/github/github.c
          ${_pl}/github/github_api.c ${_pl}/github/github_actions.c ${_pl}/common/pl_host.c
          ${_pl}/common/pl_text.c ${_pl}/common/pl_http.c)
relhost_add_fuzz(metrics_wandb_reply CORPUS metrics_wandb
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/wandb_fuzz.c ${_fuzz_support} ${METRICS_WANDB_SOURCES})
relhost_add_fuzz(runner_slurm_output CORPUS runner_slurm CORE NONE LIBS m
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/slurm_fuzz.c ${_fuzz_support} ${_pl}/runner_slurm/runner_slurm.c
          ${_pl}/runner_slurm/slurm_script.c ${_pl}/runner_slurm/slurm_parse.c
          ${_pl}/runner_slurm/slurm_poll.c ${_pl}/runner_slurm/slurm_array.c
          ${_pl}/common/pl_host.c)
relhost_add_fuzz(runner_skypilot_output CORPUS runner_skypilot CORE NONE
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/sky_fuzz.c ${CMAKE_CURRENT_LIST_DIR}/fuzz_util.c
          ${_pl}/runner_skypilot/sky_parse.c)
