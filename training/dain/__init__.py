"""DAIN (Bao et al., Depth-Aware Video Frame Interpolation, CVPR 2019) on standard operators.

Written from the paper and the module structure of the public implementation, so that the
official checkpoint's state_dict loads with strict key matching; the four custom CUDA
extensions of that implementation are replaced by ONNX-exportable tensor ops (ops.py).
"""
