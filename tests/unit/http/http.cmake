# SPDX-License-Identifier: MIT
relhost_unit_test(test_unit_http SOURCES ${CMAKE_CURRENT_LIST_DIR}/http.c ${CMAKE_CURRENT_LIST_DIR}/http_safety.c
  ${CMAKE_CURRENT_LIST_DIR}/http_common.c)
