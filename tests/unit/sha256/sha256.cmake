# SPDX-License-Identifier: MIT
relhost_unit_test(test_unit_sha256 SOURCES ${CMAKE_CURRENT_LIST_DIR}/sha256.c)
