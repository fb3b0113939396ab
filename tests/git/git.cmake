# SPDX-License-Identifier: MIT
foreach(_case branch_and_tag_are_created_and_pushed rerun_passes_and_changes_nothing
              release_notes_commit_on_top_passes branch_at_another_commit_fails
              remote_branch_at_another_commit_fails tag_at_another_commit_fails
              rejected_push_is_an_error_with_the_hooks_message atomic_push_pushes_neither_ref
              dirty_tree_is_refused require_clean_false_and_no_plan_repo_uses_head
              check_says_what_it_would_do_and_changes_nothing check_runs_each_git_command_once
              git_missing_is_an_error
              unreachable_remote_is_a_retryable_error
              unborn_head_is_an_error detached_head_is_an_error bad_repo_and_ref_are_errors
              plan_errors_name_the_setting launch_does_nothing
              notes_commit_carries_the_notes_and_the_tag_stays_on_the_candidate
              notes_rerun_with_the_same_notes_changes_nothing
              changed_notes_replace_the_notes_commit
              notes_commit_leaves_the_work_tree_and_index_alone
              moved_remote_branch_fails_the_lease_and_pushes_nothing
              notes_missing_is_an_error_and_changes_nothing
              notes_path_on_a_folder_is_an_error_and_leaves_nothing check_describes_the_notes_commit
              bad_notes_settings_are_refused_at_plan_load)
  relhost_script_test(test_git__${_case} ${PYTHON3} ${CMAKE_CURRENT_LIST_DIR}/git.py ${_case})
endforeach()
