"""Test-run stage: suite files, guest preparation, running suites in a VM.

Public API
----------
selftests.suite.load_suite(name_or_path) -> Suite
    A suite by name (selftests/suites/NAME.yaml) or path, schema-checked; bad
    input raises InputError naming file and line. Suite fields: name, runner
    (test_progs, test_progs-no_alu32, test_progs-cpuv4, kselftest, command),
    base (harness | tree | selftests), path, command, allow, deny [DenyEntry(name, reason, link, expires)],
    test_timeout, suite_timeout, watchdog, parallel, batch, retries, cpus, memory.
selftests.suite.list_suites() -> list[Path]
selftests.selection.select(suite, today=None, only=None) -> Selection(allow, deny,
    expired, warnings)   expired deny entries warn and stop applying.
selftests.run.SuiteRequest(suite, out_dir, selftests_dir=None, tree_dir=None, only=[],
                           today=None, keep=[])
selftests.run.run_suite(req, vm) -> SuiteResult
    `vm` is a vm.boot.VM. Prepares the guest (selftests/guest/prepare.sh), runs
    the suite's groups with their timeouts, streams each group's raw output to
    out_dir/raw/NNN-<group>.log, appends new dmesg lines to out_dir/dmesg.log and
    runs the splat detector after each group, retries failures, and rewrites
    out_dir/suite.json after every step. A hung test, a crash or the suite
    timeout end up in the result, not as exceptions; KeyboardInterrupt writes
    the partial suite.json (interrupted: true) and propagates.
SuiteResult: suite, parsed (results.model.ParsedLog, retries merged: failed then
    passed is Status.FLAKY with TestResult.runs), raw_logs, dmesg_log, summary,
    guest (GuestInfo), groups [GroupRun], warnings, crashed, timed_out,
    interrupted, duration; .statuses {"test/subtest": Status}; .ok.
selftests.guest.prepare_guest(vm, keep) -> GuestInfo(mounts, binds, rlimits, tmp,
    kernel, missing, failed)

CLI (selftests/cli.py): `harness.py suites [NAME...]` lists and checks suites.
See docs/guest-and-suites.md for the guest environment and the suite format.
"""
