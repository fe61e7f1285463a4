"""What reads a payload: its bytes, its JSON cut into batches, and their records decoded."""
