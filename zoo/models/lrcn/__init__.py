"""LRCN: Long-term Recurrent Convolutional Networks (Donahue thesis 2017, ch. 4).

Activity recognition (`activity`, `protocol`), image captioning (`captioning`, `vocab`,
`parts`, `decoding`), video description (`video_description`) and the Caffe LSTM weight
conversion (`convert`).
"""

from zoo.models.lrcn import activity, captioning, video_description  # noqa: F401  (register the builders)
