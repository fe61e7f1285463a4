"""Taking datasets in: the submission endpoints and what checks, stores and enqueues them."""
