"""The Triton Python-backend model ssd-rt writes as NAME/1/model.py: the ONNX file beside it,
run by ONNX Runtime inside Triton's Python stub, for servers without the ONNX Runtime backend
(the `nvidia-pytriton` wheel's server has only the Python backend).

This file is copied as is into the repository and runs in the stub's interpreter, not in
ssd-rt: it imports nothing from ssd-rt. The stub does not inherit PYTHONPATH, so the
environment that has onnxruntime and numpy is named by the model's `python_paths` parameter
(os.pathsep-separated, written at export from the exporting environment; edit it in
config.pbtxt when the server runs elsewhere).

Dynamic batching hands `execute` several requests at once; their images are concatenated into
one ONNX Runtime run and the outputs split back per request.
"""

import json
import os
import sys


class TritonPythonModel:
    def initialize(self, args):
        config = json.loads(args["model_config"])
        params = {k: v.get("string_value", "") for k, v in config.get("parameters", {}).items()}
        for path in params.get("python_paths", "").split(os.pathsep):
            if path and path not in sys.path:
                sys.path.append(path)
        import onnxruntime as ort

        folder = os.path.join(args["model_repository"], args["model_version"])
        options = ort.SessionOptions()
        threads = int(params.get("intra_op_threads", "0") or 0)
        if threads > 0:
            options.intra_op_num_threads = threads
        self.session = ort.InferenceSession(os.path.join(folder, "model.onnx"), options,
                                            providers=["CPUExecutionProvider"])

    def execute(self, requests):
        import numpy as np
        import triton_python_backend_utils as pb_utils

        images = [pb_utils.get_input_tensor_by_name(r, "images").as_numpy() for r in requests]
        loc, logits = self.session.run(["loc", "logits"], {"images": np.concatenate(images)})
        responses, start = [], 0
        for batch in images:
            end = start + batch.shape[0]
            outputs = [pb_utils.Tensor("loc", np.ascontiguousarray(loc[start:end])),
                       pb_utils.Tensor("logits", np.ascontiguousarray(logits[start:end]))]
            responses.append(pb_utils.InferenceResponse(output_tensors=outputs))
            start = end
        return responses

    def finalize(self):
        self.session = None
