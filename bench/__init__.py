"""`make bench`: what the harness costs and what it saves, as ratios measured in one run.

Run: `make bench` (setup, then `.venv/bin/python -m bench`), or
`python -m bench --only 7,1 --repeat 5`. It drives the harness through its CLI
(`harness.py run|bisect|diff|matrix` and a job's reproduce.sh) as subprocesses, with
results under bench/out/results (HARNESS_RESULTS) and, for the cold measurements, a
private cache under bench/out/cache (HARNESS_CACHE) that is emptied first. It writes
bench/results.json and bench/results.md.

Public API:

    run_bench(req: BenchRequest, runner, steps: Steps | None = None) -> BenchResult
        BenchRequest(only=(1..11), repeat=3, out=bench/out, json_path, md_path)
        BenchResult(doc: dict, figures: list[Figure]); .missed
    parse_only("7,1") -> (1, 7)

    Figure(id, title, status, samples, unit, target, what, raw, notes, reason)
        .value (median), .range (min, max), .met, .verdict() -> "met" | "MISSED" |
        "no target" | "SKIPPED: why" | "FAILED: why"; .to_dict()
    Target(op, value).met(x); ratio(a, b); median(xs); spread(xs); bisect_steps(n)

    bench.report: results_doc(...), check_doc(doc) (raises InputError), markdown(doc),
        tables(doc) (the figures' own tables, raw "tables")
    bench.buildlog: compiled_objects(lines), rangediff_files(text),
        parse_ccache_stats(text), Recompile(...)
    bench.synth: test_progs_log(lines), ktap_log(lines)
    bench.driver: Env, run_job(runner, args, env, log) -> JobRun,
        run_reproducer(...), harness(...)

Measurements (module): 1, 2, 3 (figures 3a and 3b), 4 (m_jobs), 5 (m_bisect),
6 (m_parallel), 7 (m_parsing), 8 (m_flaky), 9 (m_shared: a redis ccache shared by
local "machines"; its matrix is `--shared-matrix default|fixture|FILE`), 10 and 11
(m_maketest: `make test`'s command cold, then cached, with the per-job stages). Measurement 6 needs the user's cached bpf-profile builds and is
SKIPPED without them.
"""
from .run import ALL, BenchRequest, BenchResult, parse_only, run_bench
from .stats import Figure, Target, bisect_steps, median, ratio, spread

__all__ = ["ALL", "BenchRequest", "BenchResult", "parse_only", "run_bench", "Figure",
           "Target", "bisect_steps", "median", "ratio", "spread"]
