# SPDX-License-Identifier: MIT
relhost_unit_test(test_unit_record SOURCES ${CMAKE_CURRENT_LIST_DIR}/record_write.c)
