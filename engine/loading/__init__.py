"""Load and validate input data against the data contract (stage 1 of the pipeline)."""

from engine.loading.dataset import Dataset, dataset_from_rows, empty_table, load_dataset

__all__ = ["Dataset", "dataset_from_rows", "empty_table", "load_dataset"]
