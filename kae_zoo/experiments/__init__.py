"""Experiments: run benchmark matrices (runner), sweeps over config fields (sweep), matrix files (matrix), model
checkpoints (checkpoints) and the executors that run cells, points and experiments (local, process pool, Dask)."""
