"""The win/tie/loss table: the pairwise judge's verdicts per run, as counts and rates."""

from __future__ import annotations

import pandas as pd

from ._columns import VERDICTS
from ._logs import Logs
from ._samples import sample_frame


def verdicts(data: Logs | pd.DataFrame) -> pd.DataFrame:
    """Per judged run (in run order): ``judged`` verdicts, counts of win/tie/loss/error, and
    ``win_rate``/``tie_rate``/``loss_rate``/``error_rate`` (shares of all judged rows, epochs
    included).

    Runs without a ``pairwise`` score are left out.

    Args:
        data: logs, a ``LogSet``, or a frame from ``analysis.samples``.
    """
    frame = sample_frame(data)
    judged = frame[frame["verdict"].notna()]
    runs = list(dict.fromkeys(judged["run"]))
    counts = (
        judged.groupby(["run", "verdict"])
        .size()
        .unstack(fill_value=0)
        .reindex(index=runs, columns=list(VERDICTS), fill_value=0)
    )
    counts.columns.name = None
    table = counts.astype(int)
    table.insert(0, "judged", table.sum(axis=1))
    tasks = judged.drop_duplicates("run").set_index("run")["task"]
    table.insert(0, "task", tasks.reindex(runs).to_numpy(dtype=object))
    for verdict in VERDICTS:
        table[f"{verdict}_rate"] = table[verdict] / table["judged"]
    return table.reset_index(names="run")
