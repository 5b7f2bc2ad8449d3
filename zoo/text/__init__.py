"""Text shared by the captioning, VQA and sequence families: vocabulary, tokenisation, decoding."""
