# SPDX-License-Identifier: MIT
relhost_script_test(test_docs__manuals_cover_options_exit_codes_and_keys ${PYTHON3}
                    ${CMAKE_CURRENT_LIST_DIR}/docs_current.py)
relhost_script_test(test_docs__plugin_options_in_relhost_cfg_5_are_current ${PYTHON3}
                    ${PROJECT_SOURCE_DIR}/docs/gen-plugin-docs $<TARGET_FILE:relhost> --check
                    command manual workflow asana notify runner_local metrics_regex
                    metrics_wandb runner_slurm runner_skypilot git github
                    registry)
