# SPDX-License-Identifier: MIT
relhost_unit_test(test_unit_loop SOURCES ${CMAKE_CURRENT_LIST_DIR}/loop.c)
