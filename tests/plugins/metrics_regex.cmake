# SPDX-License-Identifier: MIT
# plugins/metrics_regex: unit tests (cmocka) and a differential test against the seed's regexes.
relhost_unit_test(test_plugins_metrics_regex
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/metrics_regex.c ${CMAKE_CURRENT_LIST_DIR}/metrics_regex_internals.c
          ${CMAKE_CURRENT_LIST_DIR}/metrics_regex_common.c ${PROJECT_SOURCE_DIR}/tests/support/mock_host.c
          ${METRICS_REGEX_SOURCES}
  LIBS PkgConfig::PCRE2)

# Feeds stdin to the plugin in seeded random chunks and prints the metrics as JSON lines.
add_executable(metrics_regex_feed ${CMAKE_CURRENT_LIST_DIR}/metrics_regex_feed.c
  ${PROJECT_SOURCE_DIR}/tests/support/mock_host.c)
target_include_directories(metrics_regex_feed PRIVATE ${PROJECT_SOURCE_DIR}/tests/support)
target_link_libraries(metrics_regex_feed PRIVATE relhost_core ${CMAKE_DL_LIBS})
add_dependencies(metrics_regex_feed metrics_regex)
target_compile_definitions(metrics_regex_feed PRIVATE
  METRICS_REGEX_SO="$<TARGET_FILE:metrics_regex>")
relhost_script_test(test_plugins_metrics_regex_diff ${PYTHON3}
  ${CMAKE_CURRENT_LIST_DIR}/metrics_regex_diff.py $<TARGET_FILE:metrics_regex_feed>)

# bench/extract drives the real .so through this (see bench/README.md); built with the tests.
add_executable(extract_driver ${PROJECT_SOURCE_DIR}/bench/extract_driver.c)
target_link_libraries(extract_driver PRIVATE relhost_core ${CMAKE_DL_LIBS})
add_dependencies(extract_driver metrics_regex)

# Issue 14: a table of logs (coloured, progress bars, markers, refusals) fed at every chunking.
relhost_unit_test(test_plugins_metrics_regex_table
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/metrics_regex_table.c ${PROJECT_SOURCE_DIR}/tests/support/mock_host.c
          ${METRICS_REGEX_SOURCES}
  LIBS PkgConfig::PCRE2)

# Issue 14 part 7: format presets (sb3, sample_factory, rl_games, rllib, hf_trainer, tqdm) on
# real-shaped output at every chunking, and keys() declaring their keys.
relhost_unit_test(test_plugins_metrics_regex_presets
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/metrics_regex_presets.c ${PROJECT_SOURCE_DIR}/tests/support/mock_host.c
          ${METRICS_REGEX_SOURCES}
  LIBS PkgConfig::PCRE2)

# fast.c (the hand matcher for the SPS pattern's common forms): every test that compiles the
# plugin's files runs PCRE2 after each of its answers and aborts on any difference.
relhost_unit_test(test_plugins_metrics_regex_fast
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/metrics_regex_fast.c ${CMAKE_CURRENT_LIST_DIR}/metrics_regex_common.c
          ${PROJECT_SOURCE_DIR}/tests/support/mock_host.c ${METRICS_REGEX_SOURCES}
  LIBS PkgConfig::PCRE2)
# fuse.c (the fused pass over the host's buffer): logs fed whole and one byte at a time (every
# byte then takes the careful path) post the same, with the packed and the wide tables.
relhost_unit_test(test_plugins_metrics_regex_fuse
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/metrics_regex_fuse.c ${CMAKE_CURRENT_LIST_DIR}/metrics_regex_common.c
          ${PROJECT_SOURCE_DIR}/tests/support/mock_host.c ${METRICS_REGEX_SOURCES}
  LIBS PkgConfig::PCRE2)
foreach(_t test_plugins_metrics_regex test_plugins_metrics_regex_table
           test_plugins_metrics_regex_presets test_plugins_metrics_regex_fast
           test_plugins_metrics_regex_fuse)
  target_compile_definitions(${_t} PRIVATE MR_FAST_CHECK=1)
endforeach()
