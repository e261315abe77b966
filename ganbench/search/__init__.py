"""Hyper-parameter search per grid cell (Lucic et al. 2018: equal search budget for every variant).

schema.py  the suite's `search:` block, validated
optuna_setup.py  samplers, pruners and storage built from it
pruners.py  the collapse-aware pruner (diverged, D saturated, modes lost, else median)
server.py  the Optuna studies, served to the driver and to Ray workers by one Ray actor
"""
from ganbench.search.schema import SEARCHABLE_KEYS, Objective, Param, Search

__all__ = ["SEARCHABLE_KEYS", "Objective", "Param", "Search"]
