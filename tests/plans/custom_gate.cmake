# SPDX-License-Identifier: MIT
# plans/custom_gate: install this build into a scratch prefix, build examples/custom_gate out of
# tree against the installed SDK, and run the installed relhost on plans using it. It reads the
# whole build tree (cmake --install), so it runs after everything is built; it needs no network.
relhost_script_test(test_plans__custom_gate bash ${CMAKE_CURRENT_LIST_DIR}/custom_gate.sh)
set_tests_properties(test_plans__custom_gate PROPERTIES TIMEOUT 300 LABELS "plans;install")

# plans/sdk_install: what `cmake --install` gives a plugin author: the CMake package config
# (find_package(relhost-plugin), built from the installed example), the schemas, the examples,
# the demo plan and the manual pages.
relhost_script_test(test_plans__sdk_install bash ${CMAKE_CURRENT_LIST_DIR}/sdk_install.sh)
set_tests_properties(test_plans__sdk_install PROPERTIES TIMEOUT 300 LABELS "plans;install")
