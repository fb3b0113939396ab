/* SPDX-License-Identifier: MIT */
/*
 * abi_members.h - every member, constant and struct of ABI 1.0, as X-macros.
 *
 * Included after ONE plugin header (the frozen 1.0 copy or the current one) by abi_layout_10.c
 * and abi_layout_cur.c, so both translation units record the same names against their own
 * header; abi_layout.c compares the two records. This list is 1.0 and stays 1.0: members added in
 * later minors are not listed, because only the 1.0 layout is a promise to old plugins.
 *
 * MEMBER(type, member)  a member whose offset and size must never change
 * GROWS(type)           a struct that may grow at its end (it starts with struct_size, or its
 *                       arrays cross with an element size: relhost_option via option_size)
 * FIXED(type)           a struct embedded by value in plugin confs or in other structs with no
 *                       size of its own: its size is frozen forever
 * CONST(name)           an enum value or macro whose value is frozen
 */

#define ABI_STRUCTS(GROWS, FIXED)                                                                  \
    GROWS(relhost_verdict)                                                                         \
    FIXED(relhost_strlist)                                                                         \
    FIXED(relhost_list)                                                                            \
    FIXED(relhost_map)                                                                             \
    GROWS(relhost_check_spec)                                                                      \
    FIXED(relhost_checks)                                                                          \
    GROWS(relhost_option)                                                                          \
    GROWS(relhost_ctx)                                                                             \
    GROWS(relhost_check)                                                                           \
    GROWS(relhost_metric_info)                                                                     \
    GROWS(relhost_proc_spec)                                                                       \
    GROWS(relhost_proc_result)                                                                     \
    GROWS(relhost_job_spec)                                                                        \
    GROWS(relhost_job_status)                                                                      \
    GROWS(relhost_job_request)                                                                     \
    GROWS(relhost_job_result)                                                                      \
    GROWS(relhost_http_request)                                                                    \
    GROWS(relhost_http_response)                                                                   \
    GROWS(relhost_host)                                                                            \
    GROWS(relhost_gate_ops)                                                                        \
    GROWS(relhost_metrics_ops)                                                                     \
    GROWS(relhost_runner_ops)                                                                      \
    GROWS(relhost_plugin)

#define ABI_MEMBERS(MEMBER)                                                                        \
    MEMBER(relhost_verdict, struct_size)                                                           \
    MEMBER(relhost_verdict, outcome)                                                               \
    MEMBER(relhost_verdict, reason)                                                                \
    MEMBER(relhost_verdict, retryable)                                                             \
    MEMBER(relhost_strlist, n)                                                                     \
    MEMBER(relhost_strlist, v)                                                                     \
    MEMBER(relhost_list, n)                                                                        \
    MEMBER(relhost_list, items)                                                                    \
    MEMBER(relhost_map, n)                                                                         \
    MEMBER(relhost_map, keys)                                                                      \
    MEMBER(relhost_map, values)                                                                    \
    MEMBER(relhost_check_spec, struct_size)                                                        \
    MEMBER(relhost_check_spec, key)                                                                \
    MEMBER(relhost_check_spec, op)                                                                 \
    MEMBER(relhost_check_spec, expected)                                                           \
    MEMBER(relhost_check_spec, expected_hi)                                                        \
    MEMBER(relhost_check_spec, where)                                                              \
    MEMBER(relhost_checks, n)                                                                      \
    MEMBER(relhost_checks, elem_size)                                                              \
    MEMBER(relhost_checks, v)                                                                      \
    MEMBER(relhost_option, name)                                                                   \
    MEMBER(relhost_option, type)                                                                   \
    MEMBER(relhost_option, def)                                                                    \
    MEMBER(relhost_option, required)                                                               \
    MEMBER(relhost_option, offset)                                                                 \
    MEMBER(relhost_option, doc)                                                                    \
    MEMBER(relhost_option, min)                                                                    \
    MEMBER(relhost_option, max)                                                                    \
    MEMBER(relhost_option, choices)                                                                \
    MEMBER(relhost_option, sub)                                                                    \
    MEMBER(relhost_option, item_size)                                                              \
    MEMBER(relhost_option, ref_kind)                                                               \
    MEMBER(relhost_option, flags)                                                                  \
    MEMBER(relhost_ctx, struct_size)                                                               \
    MEMBER(relhost_ctx, mode)                                                                      \
    MEMBER(relhost_ctx, version)                                                                   \
    MEMBER(relhost_ctx, commit)                                                                    \
    MEMBER(relhost_ctx, step)                                                                      \
    MEMBER(relhost_ctx, profile)                                                                   \
    MEMBER(relhost_ctx, profile_members)                                                           \
    MEMBER(relhost_ctx, only)                                                                      \
    MEMBER(relhost_ctx, retry_failed)                                                              \
    MEMBER(relhost_ctx, interactive)                                                               \
    MEMBER(relhost_ctx, verbose)                                                                   \
    MEMBER(relhost_ctx, state_dir)                                                                 \
    MEMBER(relhost_ctx, log_dir)                                                                   \
    MEMBER(relhost_ctx, plan_dir)                                                                  \
    MEMBER(relhost_ctx, host_private)                                                              \
    MEMBER(relhost_check, struct_size)                                                             \
    MEMBER(relhost_check, key)                                                                     \
    MEMBER(relhost_check, op)                                                                      \
    MEMBER(relhost_check, expected)                                                                \
    MEMBER(relhost_check, expected_hi)                                                             \
    MEMBER(relhost_check, has_actual)                                                              \
    MEMBER(relhost_check, actual)                                                                  \
    MEMBER(relhost_check, passed)                                                                  \
    MEMBER(relhost_check, note)                                                                    \
    MEMBER(relhost_metric_info, struct_size)                                                       \
    MEMBER(relhost_metric_info, source)                                                            \
    MEMBER(relhost_metric_info, pattern)                                                           \
    MEMBER(relhost_metric_info, reducer)                                                           \
    MEMBER(relhost_metric_info, samples)                                                           \
    MEMBER(relhost_proc_spec, struct_size)                                                         \
    MEMBER(relhost_proc_spec, argv)                                                                \
    MEMBER(relhost_proc_spec, env)                                                                 \
    MEMBER(relhost_proc_spec, cwd)                                                                 \
    MEMBER(relhost_proc_spec, timeout_s)                                                           \
    MEMBER(relhost_proc_spec, grace_s)                                                             \
    MEMBER(relhost_proc_spec, capture_max)                                                         \
    MEMBER(relhost_proc_spec, log_path)                                                            \
    MEMBER(relhost_proc_spec, stdin_data)                                                          \
    MEMBER(relhost_proc_spec, clear_env)                                                           \
    MEMBER(relhost_proc_result, struct_size)                                                       \
    MEMBER(relhost_proc_result, exited)                                                            \
    MEMBER(relhost_proc_result, exit_code)                                                         \
    MEMBER(relhost_proc_result, signal)                                                            \
    MEMBER(relhost_proc_result, timed_out)                                                         \
    MEMBER(relhost_proc_result, exec_failed)                                                       \
    MEMBER(relhost_proc_result, out)                                                               \
    MEMBER(relhost_proc_result, out_len)                                                           \
    MEMBER(relhost_proc_result, err)                                                               \
    MEMBER(relhost_proc_result, err_len)                                                           \
    MEMBER(relhost_proc_result, truncated)                                                         \
    MEMBER(relhost_proc_result, duration_s)                                                        \
    MEMBER(relhost_job_spec, struct_size)                                                          \
    MEMBER(relhost_job_spec, key)                                                                  \
    MEMBER(relhost_job_spec, validation)                                                           \
    MEMBER(relhost_job_spec, argv)                                                                 \
    MEMBER(relhost_job_spec, env)                                                                  \
    MEMBER(relhost_job_spec, cwd)                                                                  \
    MEMBER(relhost_job_spec, timeout_s)                                                            \
    MEMBER(relhost_job_spec, log_path)                                                             \
    MEMBER(relhost_job_spec, nodes)                                                                \
    MEMBER(relhost_job_spec, gpus)                                                                 \
    MEMBER(relhost_job_spec, runner_args)                                                          \
    MEMBER(relhost_job_status, struct_size)                                                        \
    MEMBER(relhost_job_status, key)                                                                \
    MEMBER(relhost_job_status, external_id)                                                        \
    MEMBER(relhost_job_status, runner_handle)                                                      \
    MEMBER(relhost_job_status, state)                                                              \
    MEMBER(relhost_job_status, new_external_id)                                                    \
    MEMBER(relhost_job_status, end)                                                                \
    MEMBER(relhost_job_status, exit_code)                                                          \
    MEMBER(relhost_job_status, signal)                                                             \
    MEMBER(relhost_job_status, restarts)                                                           \
    MEMBER(relhost_job_status, engine_state)                                                       \
    MEMBER(relhost_job_status, engine_reason)                                                      \
    MEMBER(relhost_job_request, struct_size)                                                       \
    MEMBER(relhost_job_request, validation)                                                        \
    MEMBER(relhost_job_request, runner)                                                            \
    MEMBER(relhost_job_request, argv)                                                              \
    MEMBER(relhost_job_request, env)                                                               \
    MEMBER(relhost_job_request, pass_env)                                                          \
    MEMBER(relhost_job_request, cwd)                                                               \
    MEMBER(relhost_job_request, shell)                                                             \
    MEMBER(relhost_job_request, timeout_s)                                                         \
    MEMBER(relhost_job_request, retries)                                                           \
    MEMBER(relhost_job_request, nodes)                                                             \
    MEMBER(relhost_job_request, gpus)                                                              \
    MEMBER(relhost_job_request, runner_args)                                                       \
    MEMBER(relhost_job_request, metrics)                                                           \
    MEMBER(relhost_job_request, acceptance)                                                        \
    MEMBER(relhost_job_request, expect_termination)                                                \
    MEMBER(relhost_job_request, expect_exit)                                                       \
    MEMBER(relhost_job_request, n_expect_exit)                                                     \
    MEMBER(relhost_job_result, struct_size)                                                        \
    MEMBER(relhost_job_result, finished)                                                           \
    MEMBER(relhost_job_result, outcome)                                                            \
    MEMBER(relhost_job_result, reason)                                                             \
    MEMBER(relhost_job_result, retryable)                                                          \
    MEMBER(relhost_job_result, exit_code)                                                          \
    MEMBER(relhost_job_result, termination_reason)                                                 \
    MEMBER(relhost_job_result, restarts)                                                           \
    MEMBER(relhost_job_result, attempts)                                                           \
    MEMBER(relhost_job_result, duration_s)                                                         \
    MEMBER(relhost_job_result, log_path)                                                           \
    MEMBER(relhost_job_result, external_id)                                                        \
    MEMBER(relhost_job_result, resumed)                                                            \
    MEMBER(relhost_http_request, struct_size)                                                      \
    MEMBER(relhost_http_request, method)                                                           \
    MEMBER(relhost_http_request, url)                                                              \
    MEMBER(relhost_http_request, headers)                                                          \
    MEMBER(relhost_http_request, body)                                                             \
    MEMBER(relhost_http_request, body_len)                                                         \
    MEMBER(relhost_http_request, bearer_env)                                                       \
    MEMBER(relhost_http_request, basic_user)                                                       \
    MEMBER(relhost_http_request, basic_env)                                                        \
    MEMBER(relhost_http_request, connect_timeout_s)                                                \
    MEMBER(relhost_http_request, timeout_s)                                                        \
    MEMBER(relhost_http_request, max_attempts)                                                     \
    MEMBER(relhost_http_request, budget_s)                                                         \
    MEMBER(relhost_http_request, max_response)                                                     \
    MEMBER(relhost_http_response, struct_size)                                                     \
    MEMBER(relhost_http_response, status)                                                          \
    MEMBER(relhost_http_response, body)                                                            \
    MEMBER(relhost_http_response, body_len)                                                        \
    MEMBER(relhost_http_response, headers)                                                         \
    MEMBER(relhost_http_response, attempts)                                                        \
    MEMBER(relhost_host, struct_size)                                                              \
    MEMBER(relhost_host, abi_major)                                                                \
    MEMBER(relhost_host, abi_minor)                                                                \
    MEMBER(relhost_host, log)                                                                      \
    MEMBER(relhost_host, fail)                                                                     \
    MEMBER(relhost_host, where)                                                                    \
    MEMBER(relhost_host, secret)                                                                   \
    MEMBER(relhost_host, check_add)                                                                \
    MEMBER(relhost_host, metric_set)                                                               \
    MEMBER(relhost_host, label_set)                                                                \
    MEMBER(relhost_host, artifact_add)                                                             \
    MEMBER(relhost_host, note_add)                                                                 \
    MEMBER(relhost_host, checks_eval)                                                              \
    MEMBER(relhost_host, proc_run)                                                                 \
    MEMBER(relhost_host, proc_result_free)                                                         \
    MEMBER(relhost_host, proc_spawn)                                                               \
    MEMBER(relhost_host, proc_poll)                                                                \
    MEMBER(relhost_host, proc_kill)                                                                \
    MEMBER(relhost_host, proc_release)                                                             \
    MEMBER(relhost_host, job_submit)                                                               \
    MEMBER(relhost_host, job_wait)                                                                 \
    MEMBER(relhost_host, job_result)                                                               \
    MEMBER(relhost_host, http_request)                                                             \
    MEMBER(relhost_host, http_response_free)                                                       \
    MEMBER(relhost_host, prompt_yesno)                                                             \
    MEMBER(relhost_host, expand)                                                                   \
    MEMBER(relhost_host, free)                                                                     \
    MEMBER(relhost_host, registry_stage)                                                           \
    MEMBER(relhost_host, registry_promote)                                                         \
    MEMBER(relhost_host, registry_quarantine)                                                      \
    MEMBER(relhost_gate_ops, struct_size)                                                          \
    MEMBER(relhost_gate_ops, open)                                                                 \
    MEMBER(relhost_gate_ops, describe)                                                             \
    MEMBER(relhost_gate_ops, run)                                                                  \
    MEMBER(relhost_gate_ops, close)                                                                \
    MEMBER(relhost_metrics_ops, struct_size)                                                       \
    MEMBER(relhost_metrics_ops, open)                                                              \
    MEMBER(relhost_metrics_ops, job_open)                                                          \
    MEMBER(relhost_metrics_ops, feed)                                                              \
    MEMBER(relhost_metrics_ops, collect)                                                           \
    MEMBER(relhost_metrics_ops, job_close)                                                         \
    MEMBER(relhost_metrics_ops, close)                                                             \
    MEMBER(relhost_runner_ops, struct_size)                                                        \
    MEMBER(relhost_runner_ops, open)                                                               \
    MEMBER(relhost_runner_ops, submit)                                                             \
    MEMBER(relhost_runner_ops, poll)                                                               \
    MEMBER(relhost_runner_ops, find)                                                               \
    MEMBER(relhost_runner_ops, read_log)                                                           \
    MEMBER(relhost_runner_ops, cancel)                                                             \
    MEMBER(relhost_runner_ops, release)                                                            \
    MEMBER(relhost_runner_ops, close)                                                              \
    MEMBER(relhost_plugin, abi_major)                                                              \
    MEMBER(relhost_plugin, abi_minor)                                                              \
    MEMBER(relhost_plugin, struct_size)                                                            \
    MEMBER(relhost_plugin, name)                                                                   \
    MEMBER(relhost_plugin, version)                                                                \
    MEMBER(relhost_plugin, description)                                                            \
    MEMBER(relhost_plugin, options)                                                                \
    MEMBER(relhost_plugin, option_size)                                                            \
    MEMBER(relhost_plugin, conf_size)                                                              \
    MEMBER(relhost_plugin, gate)                                                                   \
    MEMBER(relhost_plugin, metrics)                                                                \
    MEMBER(relhost_plugin, runner)

#define ABI_CONSTANTS(CONST)                                                                       \
    CONST(RELHOST_ABI_MAJOR)                                                                       \
    CONST(RELHOST_OK)                                                                              \
    CONST(RELHOST_EFAIL)                                                                           \
    CONST(RELHOST_EINVAL)                                                                          \
    CONST(RELHOST_ENOMEM)                                                                          \
    CONST(RELHOST_ENOTSUP)                                                                         \
    CONST(RELHOST_ETIMEDOUT)                                                                       \
    CONST(RELHOST_EIO)                                                                             \
    CONST(RELHOST_ENOTFOUND)                                                                       \
    CONST(RELHOST_EINPROGRESS)                                                                     \
    CONST(RELHOST_EINTR)                                                                           \
    CONST(RELHOST_ERETRY)                                                                          \
    CONST(RELHOST_NONE)                                                                            \
    CONST(RELHOST_PASSED)                                                                          \
    CONST(RELHOST_FAILED)                                                                          \
    CONST(RELHOST_ERROR)                                                                           \
    CONST(RELHOST_INCONCLUSIVE)                                                                    \
    CONST(RELHOST_SKIPPED)                                                                         \
    CONST(RELHOST_WAIVED)                                                                          \
    CONST(RELHOST_LOG_ERROR)                                                                       \
    CONST(RELHOST_LOG_WARN)                                                                        \
    CONST(RELHOST_LOG_INFO)                                                                        \
    CONST(RELHOST_LOG_DEBUG)                                                                       \
    CONST(RELHOST_OPT_END)                                                                         \
    CONST(RELHOST_OPT_STRING)                                                                      \
    CONST(RELHOST_OPT_INT)                                                                         \
    CONST(RELHOST_OPT_BOOL)                                                                        \
    CONST(RELHOST_OPT_DOUBLE)                                                                      \
    CONST(RELHOST_OPT_SIZE)                                                                        \
    CONST(RELHOST_OPT_DURATION)                                                                    \
    CONST(RELHOST_OPT_ENUM)                                                                        \
    CONST(RELHOST_OPT_STRLIST)                                                                     \
    CONST(RELHOST_OPT_SECRET_ENV)                                                                  \
    CONST(RELHOST_OPT_GROUP)                                                                       \
    CONST(RELHOST_OPT_GROUP_LIST)                                                                  \
    CONST(RELHOST_OPT_REF)                                                                         \
    CONST(RELHOST_OPT_REF_LIST)                                                                    \
    CONST(RELHOST_OPT_CHECKS)                                                                      \
    CONST(RELHOST_OPT_MAP)                                                                         \
    CONST(RELHOST_REF_RUNNER)                                                                      \
    CONST(RELHOST_REF_METRICS)                                                                     \
    CONST(RELHOST_REF_STEP)                                                                        \
    CONST(RELHOST_OPTF_TEMPLATE)                                                                   \
    CONST(RELHOST_OPTF_PATH)                                                                       \
    CONST(RELHOST_OP_GE)                                                                           \
    CONST(RELHOST_OP_GT)                                                                           \
    CONST(RELHOST_OP_LE)                                                                           \
    CONST(RELHOST_OP_LT)                                                                           \
    CONST(RELHOST_OP_EQ)                                                                           \
    CONST(RELHOST_OP_NE)                                                                           \
    CONST(RELHOST_OP_RANGE)                                                                        \
    CONST(RELHOST_MODE_RUN)                                                                        \
    CONST(RELHOST_MODE_CHECK)                                                                      \
    CONST(RELHOST_MODE_LAUNCH)                                                                     \
    CONST(RELHOST_JOB_SUBMITTING)                                                                  \
    CONST(RELHOST_JOB_PENDING)                                                                     \
    CONST(RELHOST_JOB_RUNNING)                                                                     \
    CONST(RELHOST_JOB_ENDED)                                                                       \
    CONST(RELHOST_JOB_LOST)                                                                        \
    CONST(RELHOST_END_EXITED)                                                                      \
    CONST(RELHOST_END_SIGNALED)                                                                    \
    CONST(RELHOST_END_TIMEOUT)                                                                     \
    CONST(RELHOST_END_CANCELLED)                                                                   \
    CONST(RELHOST_END_INFRA)                                                                       \
    CONST(RELHOST_END_EXEC_FAILED)

/* One record per struct, member or constant; both units emit them in the same order. */
struct abi_record {
    const char *what;  /* "relhost_ctx.step", "sizeof relhost_ctx", "RELHOST_EINTR" */
    long long value;   /* offset, size or constant value */
    long long size;    /* member size; -1 for constants; for structs 1 = may grow, 0 = fixed */
};

/* The records of the frozen 1.0 header and of the current one (n each, same order). */
extern const struct abi_record abi_layout_10[];
extern const struct abi_record abi_layout_cur[];
extern const unsigned long abi_layout_10_n;
extern const unsigned long abi_layout_cur_n;
