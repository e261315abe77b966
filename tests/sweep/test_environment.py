"""Where a trial ran and what drove it are different columns: the driver never overwrites the worker's."""
from __future__ import annotations

import torch

from ganbench.sweep.environment import driver_columns, driver_environment, worker_environment


def test_driver_machine_columns_are_prefixed_and_worker_columns_survive():
    driver = driver_environment()
    worker = worker_environment(torch.device("cpu"))
    row = {**worker, **driver_columns(driver)}  # the order the driver merges them in
    assert row["device_name"] == worker["device_name"] and row["cpu_count"] == worker["cpu_count"]
    assert row["driver_device_name"] == driver["device_name"] and row["driver_cpu_count"] == driver["cpu_count"]
    assert row["driver_host"] == driver["driver_host"] and row["hostname"] == worker["hostname"]
    assert row["torch"] == torch.__version__
