"""Encoder + one-step decoder export of an LRCN sequence model, for decoding on the device.

A captioner emits a caption word by word: the app runs the encoder once per input and the
one-step decoder once per word, with the search around it (greedy, beam, sampling:
`zoo.text.decoding`, thesis §4.4.1.2). `export_decoder(model, out_dir)` cuts the two
models with `zoo.models.lrcn.parts.decoder_parts` and writes

    out_dir/encoder/          SavedModel: serve(inputs) -> {"feature"} (+ serve_images for images)
    out_dir/encoder.tflite    the same at batch 1
    out_dir/step/             SavedModel: serve(word, feature, lstm1_h, lstm1_c, ...)
    out_dir/step.tflite       at batch 1 -> {"logits", "lstm1_h", "lstm1_c", ...}

each verified against Keras (the .tflite files in LiteRT), builtin TFLite ops only: the step is
the cells' arithmetic, with no recurrent loop. The directory appears whole or not at all.
`TFLiteDecoder(out_dir)` is the NumPy face of the two .tflite files that the searches take, as
`parts.Decoder` is of the Keras models.
"""

from __future__ import annotations

import os

import numpy as np
from ai_edge_litert.interpreter import Interpreter

from zoo.export import atomic, parity
from zoo.export.report import report_path, write_report
from zoo.export.savedmodel import export_savedmodel
from zoo.export.tflite import export_tflite
from zoo.models.lrcn.parts import decoder_parts

PARTS = ("encoder", "step")


def _encoder_contract(encoder, contract):
    """The card's stream for a single-input encoder (the captioners' `image`); else the card's."""
    if contract is None or len(encoder.inputs) > 1:
        return contract
    streams = {s.name: s for s in contract.streams}
    return streams.get(encoder.inputs[0].name)


def export_decoder(model, out_dir, *, input_contract=None, overwrite=False, parts=None) -> dict:
    """Write the encoder and one-step decoder of LRCN `model` into `out_dir` (see module docstring).

    `input_contract`: the model card's (its `image` stream gives the encoder's preprocessing and
    check pictures). `parts(model) -> (encoder, step)` cuts other families' decoders (Show, Attend
    and Tell's: zoo.models.show_attend_tell.show_attend_tell.decoder_parts); LRCN's by default.
    Returns {"encoder": (savedmodel report, tflite report), "step": (...)}.
    Raises ExportError if a part needs Flex ops or does not match Keras; nothing is left then.
    """
    out_dir = os.fspath(out_dir)
    atomic.refuse_existing(out_dir, overwrite)
    encoder, step = (parts or decoder_parts)(model)
    contracts = {"encoder": _encoder_contract(encoder, input_contract), "step": None}
    reports = {}
    with atomic.staging_dir(out_dir) as tmp:
        for name, part in zip(PARTS, (encoder, step)):
            single = len(part.inputs) == 1
            shape = tuple(part.inputs[0].shape[1:]) if single else None
            saved = export_savedmodel(part, os.path.join(tmp, name), input_contract=contracts[name])
            lite = export_tflite(part, os.path.join(tmp, f"{name}.tflite"), input_shape=shape,
                                 input_contract=contracts[name])
            for report, artefact in ((saved, name), (lite, f"{name}.tflite")):
                report.path = os.path.join(out_dir, artefact)  # the reports name where they will be
                write_report(report, report_path(os.path.join(tmp, artefact)))
            reports[name] = (saved, lite)
        atomic.place(tmp, out_dir, overwrite=overwrite)
    return reports


def _runner(path):
    interpreter = Interpreter(model_path=path)
    interpreter.allocate_tensors()
    return interpreter.get_signature_runner("serving_default")


class TFLiteDecoder:
    """`initial_state(inputs)` and `step(words, state)` over `export_decoder`'s .tflite files.

    The files take batch 1, so both run row by row: a batch for greedy, the live beams for beam
    search. Inputs and states are passed by signature name, never by position.
    """

    def __init__(self, out_dir):
        self.encoder = _runner(os.path.join(out_dir, "encoder.tflite"))
        self.step_runner = _runner(os.path.join(out_dir, "step.tflite"))
        self.inputs = self.step_runner.get_input_details()
        # recurrent states: step inputs that the step also returns; the others ("feature", "annotations") are constant
        self.names = sorted((set(self.inputs) & set(self.step_runner.get_output_details())) - {"word"})

    def initial_state(self, inputs) -> dict:
        """Encoder outputs for a batch (an array, or a dict by input name), zero states where none."""
        feeds = inputs if isinstance(inputs, dict) else {parity.SINGLE: np.asarray(inputs)}
        batch = len(next(iter(feeds.values())))
        rows = [self.encoder(**{k: np.asarray(v[i : i + 1]) for k, v in feeds.items()}) for i in range(batch)]
        state = {k: np.concatenate([r[k] for r in rows]) for k in rows[0]}
        for name in self.names:
            if name not in state:
                state[name] = np.zeros((batch, *self.inputs[name]["shape"][1:]), np.float32)
        return state

    def step(self, words, state: dict) -> tuple[np.ndarray, dict]:
        words = np.asarray(words, np.int32)
        rows = []
        for i in range(len(words)):
            feed = {k: state[k][i : i + 1] for k in self.inputs if k != "word"}
            rows.append(self.step_runner(word=words[i : i + 1], **feed))
        new_state = {k: np.concatenate([r[k] for r in rows]) for k in self.names}
        new_state.update({k: v for k, v in state.items() if k not in new_state})  # constant inputs carried along
        return np.concatenate([r["logits"] for r in rows]), new_state
