"""The training lab's engine: NumPy BPTT for RNN / LSTM / GRU (`train`), the memory tasks
(`tasks`) and gap × seed sweeps (`sweep`). Plain data in, plain data out; never imports Qt."""
