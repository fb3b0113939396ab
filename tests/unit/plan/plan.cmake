# SPDX-License-Identifier: MIT
# core/plan/plan.c: plan_parse (file -> plan, no state, git, plugin or template) and name checks.
relhost_unit_test(test_unit_plan SOURCES ${CMAKE_CURRENT_LIST_DIR}/plan.c)
