"""Export: SavedModel with named signatures, TFLite fp32/fp16/int8, ONNX, each verified against Keras.

    from zoo.export import export_savedmodel, export_tflite
    export_savedmodel(model, "saved_models/fcn8s", input_contract=card.input_contract)
    export_tflite(model, "saved_models/fcn8s_int8.tflite", input_shape=(256, 256, 3),
                  quantize="int8", representative_data=batches, input_contract=card.input_contract)

Every export is written into a temporary sibling of its target, checked against the Keras
model (tolerances in zoo.export.parity), and only then renamed into place; its ExportReport is
returned and written as JSON beside it (`report_path`). Models with several inputs take them
by their Keras input names (`input_shape` and `check_inputs` as dicts); `export_decoder` writes
an LRCN model's image encoder and one-step decoder for decoding on the device. This package
needs TensorFlow (ai-edge-litert for TFLite; tf2onnx, onnx and onnxruntime for ONNX: the `onnx`
extra); the models themselves do not.
"""

from zoo.export.decoder import TFLiteDecoder, export_decoder
from zoo.export.onnx import export_onnx
from zoo.export.report import ExportReport, report_path
from zoo.export.savedmodel import export_savedmodel
from zoo.export.tflite import export_tflite

__all__ = ["ExportReport", "TFLiteDecoder", "export_decoder", "export_onnx", "export_savedmodel", "export_tflite",
           "report_path"]
