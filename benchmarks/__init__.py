"""Gatescope's latency benchmarks: `python -m benchmarks [--quick] [--json FILE]`.

Kept free of heavy imports: `__main__` sets the BLAS thread count before NumPy is loaded."""
