"""The result store: the one module that writes and reads result files (run, sweep and reproduction netCDF files)."""
