"""Visual question answering from the user's files: VQA v1 (real images), DAQUAR (full and reduced)."""
