"""The command line: argument parsing and printing for `simulate`, `train` and `sweep`.
The engine modules beside this package never parse arguments or print."""
