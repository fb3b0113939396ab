# SPDX-License-Identifier: MIT
relhost_unit_test(test_unit_state SOURCES ${CMAKE_CURRENT_LIST_DIR}/state.c ${CMAKE_CURRENT_LIST_DIR}/state_crash.c
  ${CMAKE_CURRENT_LIST_DIR}/state_common.c ${CMAKE_CURRENT_LIST_DIR}/state_pack.c)
