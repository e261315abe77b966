"""The sweep driver: the only package that imports Ray.

driver.py    `bench.py run`: prepare the folder, plan, run on Ray, record, report
plan.py      what runs next: the grid, or each cell's study then its confirmation runs
jobs.py      a Job (one trial or a stacked batch) as plain data
runner.py    Ray: start or join a cluster, one task per job, retries, streaming results
output.py    TrialOutput: what a trial hands back (row, curves, snapshots, pictures, profile)
studies.py   the Optuna studies behind one Ray actor, and the workers' pruning hook
trial.py     configs in (one, or a stacked batch), one TrialOutput each out (never raises): what a Ray task runs
progress.py  the live view; environment.py  versions and machine, driver's and worker's
timings.py   the run's fixed costs (Ray start, first dispatch, train, tables, plots) into run.json
"""
