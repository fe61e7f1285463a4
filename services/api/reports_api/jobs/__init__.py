"""Following jobs: status, live events, active jobs, cache figures and downloads."""
