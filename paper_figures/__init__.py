"""The paper's tables and figures regenerated from committed results: the plan of runs (`plan`), the paper's claims
(`claims`), the verdict rule (`verdict`), what every renderer shares (`report`), the driver (`run_all`), the summary
(`summary`) and the compute account (`compute`). The renderers are the notebooks beside these modules."""
