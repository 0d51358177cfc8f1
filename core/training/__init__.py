"""The training lab's engine: plain data in, plain data out; never imports Qt.

- `fields`: TRAIN_FIELDS, the one table of training settings, and TrainConfig
- `bptt`: the model, its forward and backward passes (BPTT) and evaluation
- `train`: the training loop (`train`, `Trainer.step`), Adam / SGD, clipping, the curriculum
- `inits`: initialisations from the literature (chrono, IRNN, orthogonal)
- `contributions`: ∂ℓ/∂W split into each step's contribution (they sum to the total)
- `tasks`: the memory tasks (France → French, clouds → sky, adding), data in bounded chunks
- `sweep`, `parallel`: gap × seed × cell sweeps, in worker processes or on a Dask cluster
- `reviews`, `train_presets`: the generated review corpus and the trained models Gatescope ships
"""
