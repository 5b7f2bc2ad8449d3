"""LRCN: Long-term Recurrent Convolutional Networks (Donahue thesis 2017, ch. 4).

Activity recognition (`activity`, `protocol`), image captioning (`captioning`, `vocab`,
`parts`, `decoding`), video description (`video_description`) and the Caffe LSTM weight
conversion (`convert`).
"""

# Register the builders, and the Caffe LSTM conversion with zoo.convert (weights="x.caffemodel").
from zoo.models.lrcn import activity, captioning, convert, video_description  # noqa: F401
