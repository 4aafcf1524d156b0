"""PyTorch peer of kiln's benchmark harness: runs a torch model step by step on request.

Started by src/bench/peers/torch.ts with Debian's /usr/bin/python3. Arguments (JSON in argv[1]):
  {"def": "path/to/file.py", "factory": "build_model", "mode": "eager" | "torchscript",
   "threads": 0 | N, "inputs": [[{"name", "dtype", "shape", "file"}, ...], ...]}
The factory takes no arguments and returns an nn.Module (weights loaded). Inputs are raw
little-endian arrays written by kiln, one list per input set, passed to forward() positionally
in ONNX input order. Timed runs use set 0.

Protocol: one JSON object per line on stdout. First {"ready": true, "createMs": ...}; then for
each stdin line: "run" -> {"ms": ...} (time of one forward, measured here so pipe latency is
not counted), "save DIR K" -> {"outputs": [{"shape", "file"}]} (float32, input set K), "quit" -> exit.
Errors: {"error": "..."} and exit status 1.
"""
import importlib.util
import json
import os
import sys
import time


def reply(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def main():
    spec = json.loads(sys.argv[1])
    import numpy as np
    import torch

    if spec.get("threads"):
        torch.set_num_threads(int(spec["threads"]))
    dtypes = {"float32": np.float32, "float64": np.float64, "float16": np.float16, "int64": np.int64,
              "int32": np.int32, "uint8": np.uint8, "int8": np.int8, "bool": np.bool_}
    sets = []
    for group in spec["inputs"]:
        tensors = []
        for i in group:
            a = np.fromfile(i["file"], dtype=dtypes[i["dtype"]]).reshape(i["shape"])
            tensors.append(torch.from_numpy(a))
        sets.append(tensors)
    inputs = sets[0]

    t0 = time.perf_counter()
    mod_spec = importlib.util.spec_from_file_location("kiln_torch_def", spec["def"])
    if mod_spec is None or mod_spec.loader is None:
        raise RuntimeError("cannot import " + spec["def"])
    module = importlib.util.module_from_spec(mod_spec)
    sys.path.insert(0, os.path.dirname(os.path.abspath(spec["def"])))
    mod_spec.loader.exec_module(module)
    factory = getattr(module, spec["factory"], None)
    if factory is None:
        raise RuntimeError("%s has no function %s()" % (spec["def"], spec["factory"]))
    model = factory().eval()
    with torch.no_grad():
        if spec["mode"] == "torchscript":
            model = torch.jit.freeze(torch.jit.trace(model, tuple(inputs)).eval())
    create_ms = (time.perf_counter() - t0) * 1000
    reply({"ready": True, "createMs": create_ms, "torch": torch.__version__, "threads": torch.get_num_threads()})

    for line in sys.stdin:
        cmd = line.strip()
        if cmd == "run":
            with torch.no_grad():
                t = time.perf_counter()
                model(*inputs)
                ms = (time.perf_counter() - t) * 1000
            reply({"ms": ms})
        elif cmd.startswith("save "):
            out_dir, k = cmd[5:].rsplit(" ", 1)
            with torch.no_grad():
                out = model(*sets[int(k)])
            outs = list(out) if isinstance(out, (tuple, list)) else [out]
            saved = []
            for n, o in enumerate(outs):
                f = os.path.join(out_dir, "out%s_%d.bin" % (k, n))
                o.detach().to(torch.float32).contiguous().numpy().tofile(f)
                saved.append({"shape": list(o.shape), "file": f})
            reply({"outputs": saved})
        elif cmd == "quit":
            return
        else:
            reply({"error": "unknown command " + cmd})


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # the parent turns this line into a KilnError naming the definition
        reply({"error": "%s: %s" % (type(e).__name__, e)})
        sys.exit(1)
