# SPDX-License-Identifier: MIT
relhost_unit_test(test_unit_checks SOURCES ${CMAKE_CURRENT_LIST_DIR}/checks.c)
