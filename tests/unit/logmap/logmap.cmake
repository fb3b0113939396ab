# SPDX-License-Identifier: MIT
relhost_unit_test(test_unit_logmap SOURCES ${CMAKE_CURRENT_LIST_DIR}/logmap.c)
