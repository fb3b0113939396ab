# SPDX-License-Identifier: MIT
relhost_unit_test(test_unit_baseline SOURCES ${CMAKE_CURRENT_LIST_DIR}/baseline.c)
