"""Metrics and epoch reducers: accuracy, pass@k, win/tie/loss and tie rate, consistency.

Each family lives in its own module and is re-exported here.
"""
