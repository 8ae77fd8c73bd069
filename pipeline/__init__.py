"""The main job: apply -> config -> build -> selftests build -> boot -> test -> results.

Public API:
    JobSpec                  one combination of tree x series@rev x profile x toolchain x suite
    run_job(spec, env) -> JobOutcome
    pipeline.matrix.load_matrix(path) -> list[JobSpec]; run_matrix(...)
"""
