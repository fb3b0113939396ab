# SPDX-License-Identifier: MIT
# integrity/: no sequence of commands turns a failing release green (verdict integrity).
#   integrity.py  one case per reproduction: --only, depends_on, resume rules, profiles, plan
#                 checks, waivers; each case is its own ctest entry
#   model.py      the model-based test: seeded random sequences of operations (full runs, --only,
#                 --step, --retry-failed, profiles, waive, freeze, SIGKILL + resume) checked after
#                 every operation against a model of what may be published. RELHOST_MODEL_OPS
#                 sets the operation count (CI: 500), RELHOST_MODEL_SEED the seed.
set(_integrity_py ${CMAKE_CURRENT_LIST_DIR}/integrity.py)
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${_integrity_py})
file(STRINGS ${_integrity_py} _defs REGEX "^def case_[A-Za-z0-9_]+\\(")
foreach(_def ${_defs})
  string(REGEX REPLACE "^def case_([A-Za-z0-9_]+)\\(.*" "\\1" _case "${_def}")
  relhost_script_test(test_integrity__${_case} ${PYTHON3} ${_integrity_py} ${_case})
  set_tests_properties(test_integrity__${_case} PROPERTIES LABELS "integrity" TIMEOUT 180)
endforeach()
relhost_script_test(test_integrity_model ${PYTHON3} ${CMAKE_CURRENT_LIST_DIR}/model.py)
set_tests_properties(test_integrity_model PROPERTIES LABELS "integrity" TIMEOUT 600)
