"""Show, Attend and Tell (Xu et al., ICML 2015): VGG19 annotations and an LSTM decoder with soft
or hard attention (`show_attend_tell.py`), and their cards (`cards.py`)."""
