"""SMem-VQA: Ask, Attend and Answer (Xu & Saenko, ECCV 2016), the one- and two-hop spatial memory
networks (`smem_vqa.py`) and their cards (`cards.py`)."""
