"""Test-run stage: suite files, guest preparation, running suites in a VM.

Public API
----------
selftests.suite.load_suite(name_or_path) -> Suite
    A suite by name (selftests/suites/NAME.yaml) or path, schema-checked; bad
    input raises InputError naming file and line. Suite fields: name, runner
    (test_progs, test_progs-no_alu32, test_progs-cpuv4, kselftest, command),
    base (harness | tree | selftests), path, command, allow,
    deny [DenyEntry(name, reason, link, expires, line, when: Conditions(accel, arch,
    toolchain), source)],
    test_timeout, suite_timeout, watchdog, parallel, batch, retries, cpus, memory.
selftests.suite.list_suites() -> list[Path]
selftests.selection.select(suite, today=None, only=None, *, extra=[], job=JobFacts())
    -> Selection(allow, deny, expired, warnings, inactive, job)   the suite's
    entries and `extra` (the tree's): expired ones warn and stop applying, those
    whose conditions `job` does not match are inactive (with why).
selftests.selection.tree_deny(tree_name, runner) -> [DenyEntry]   tree.yaml's entries.
selftests.conditions.JobFacts(accel, arch, toolchain)
selftests.run.SuiteRequest(suite, out_dir, selftests_dir=None, tree_dir=None, only=[],
                           today=None, keep=[], tree_name=None, arch="x86_64",
                           toolchain=None)
selftests.run.run_suite(req, vm) -> SuiteResult
    `vm` is a vm.boot.VM. Applies the suite's and tree `tree_name`'s deny
    entries whose conditions match (accel: the VM's), records them in
    suite.json (`deny`). Prepares the guest (selftests/guest/prepare.sh), runs
    the suite's groups with their timeouts, streams each group's raw output to
    out_dir/raw/NNN-<group>.log, appends new dmesg lines to out_dir/dmesg.log and
    runs the splat detector after each group, retries failures, and rewrites
    out_dir/suite.json after every step. A hung test, a crash or the suite
    timeout end up in the result, not as exceptions; so does a VM killed by its
    run timeout during the suite (vm_expired, timed_out); on a VM already
    killed, vm.boot.VMRunTimeout propagates. KeyboardInterrupt writes the
    partial suite.json (interrupted: true) and propagates.
selftests.run.vm_budget(suites, boot_timeout=180.0) -> float   the VM's run_timeout.
SuiteResult: suite, parsed (results.model.ParsedLog, retries merged: failed then
    passed is Status.FLAKY with TestResult.runs), raw_logs, dmesg_log, summary,
    guest (GuestInfo), groups [GroupRun], warnings, crashed, timed_out,
    vm_expired, interrupted, duration, vm, deny; .statuses {"test/subtest": Status}; .ok.
selftests.guest.prepare_guest(vm, keep) -> GuestInfo(mounts, binds, rlimits, tmp,
    kernel, missing, failed)

CLI (selftests/cli.py): `harness.py suites [NAME...]` lists and checks suites.
See docs/guest-and-suites.md for the guest environment and the suite format.
"""
