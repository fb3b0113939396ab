# SPDX-License-Identifier: MIT
relhost_unit_test(test_unit_manifest SOURCES ${CMAKE_CURRENT_LIST_DIR}/manifest.c)
