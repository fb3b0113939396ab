# SPDX-License-Identifier: MIT
foreach(_case parallel_limit timeout_kills_tree interrupt_saves_state resume_and_retry_failed
              sigkill_resume command_not_found missing_metric_fails a_log_the_job_rewrites_is_read_again
              a_log_rewritten_past_its_old_length_is_read_again a_refused_last_value_decides_nothing
              big_logs_read_through_mapped_windows a_log_truncated_while_read_is_read_again
              depends_on_skips
              changed_acceptance_reevaluates lock_held corrupt_state_refused
              candidate_commit_is_fixed checkout_head_refuses_a_dirty_tree
              matrix_expands_and_checks_termination a_kill_at_every_crash_point_loses_no_result
              two_sources_of_one_key_need_a_priority jobs_get_secrets_only_through_pass_env
              a_name_over_the_limit_is_refused_never_cut validation_names_are_unique)
  relhost_script_test(test_workflow__${_case} ${PYTHON3} ${CMAKE_CURRENT_LIST_DIR}/workflow.py ${_case})
endforeach()
