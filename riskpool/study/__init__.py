"""Studies of many runs: sweep grids, the resumable store, backends, sizing and sensitivity."""
