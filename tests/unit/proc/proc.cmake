# SPDX-License-Identifier: MIT
relhost_unit_test(test_unit_proc SOURCES ${CMAKE_CURRENT_LIST_DIR}/proc.c ${CMAKE_CURRENT_LIST_DIR}/proc_trees.c
  ${CMAKE_CURRENT_LIST_DIR}/proc_common.c)
relhost_unit_test(test_unit_proc_spawn SOURCES ${CMAKE_CURRENT_LIST_DIR}/spawn.c)
