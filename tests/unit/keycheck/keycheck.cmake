# SPDX-License-Identifier: MIT
# core/plan/keycheck.c (host->checks_verify) against fake sources, and the keys() op (ABI 1.3) of
# the bundled metrics sources, compiled in as their own tests do.
relhost_unit_test(test_unit_keycheck SOURCES ${CMAKE_CURRENT_LIST_DIR}/keycheck.c)
relhost_unit_test(test_unit_keycheck_regex_keys
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/regex_keys.c ${PROJECT_SOURCE_DIR}/tests/support/mock_host.c
          ${METRICS_REGEX_SOURCES}
  LIBS PkgConfig::PCRE2)
relhost_unit_test(test_unit_keycheck_wandb_keys
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/wandb_keys.c ${PROJECT_SOURCE_DIR}/tests/support/mock_host.c
          ${METRICS_WANDB_SOURCES}
  LIBS PkgConfig::JANSSON)
