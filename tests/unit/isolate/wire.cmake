# SPDX-License-Identifier: MIT
relhost_unit_test(test_unit_isolate_wire SOURCES ${CMAKE_CURRENT_LIST_DIR}/wire.c)
