# SPDX-License-Identifier: MIT
relhost_unit_test(test_unit_state SOURCES ${CMAKE_CURRENT_LIST_DIR}/state.c)
