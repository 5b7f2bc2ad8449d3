"""LRCN: Long-term Recurrent Convolutional Networks (Donahue thesis 2017, ch. 4).

Cards in `cards.py`; builders in `activity.py` (activity recognition), `captioning.py` (image
description) and `video_description.py`; `parts.py` cuts a trained model into the pieces that
decoding steps through; `layers.py` the time-folding layers; `convert.py` the Caffe LSTM weight
conversion (registered with zoo.convert when a builder of this family is first used).
"""
