# SPDX-License-Identifier: MIT
relhost_unit_test(test_unit_jarena SOURCES ${CMAKE_CURRENT_LIST_DIR}/jarena.c)
