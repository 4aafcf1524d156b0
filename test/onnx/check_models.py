"""Batch onnx.checker for the round-trip tests: one Python process for many models.

Reads lines "ORIGINAL<TAB>ROUNDTRIPPED" on stdin and writes one JSON object per line on stdout:
  {"orig": LEVEL, "rt": LEVEL, "orig_error": str, "rt_error": str, "same": bool, "diff": str}
LEVEL is 2 when check_model(full_check=True) passes (strict shape inference too), 1 when only the
basic check passes, 0 when neither does. "same" says whether both files hold the same model once
fields that are merely present-with-default-value (domain: "", an empty doc_string) are cleared,
since proto2 distinguishes "absent" from "set to the default" but ONNX does not, and tensor data
held in typed fields (float_data, ...) is moved to raw_data (the same values, the form kiln writes);
value_info entries that merely repeat a graph input/output with the same type are dropped.

Run with Debian's /usr/bin/python3 (python3-onnx).
"""
import json
import sys

import onnx
from onnx import numpy_helper
from google.protobuf.descriptor import FieldDescriptor


def level(path):
    try:
        onnx.checker.check_model(path, full_check=True)
        return 2, ""
    except Exception as e:  # noqa: BLE001 - any checker failure is data here
        full_error = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    try:
        onnx.checker.check_model(path)
        return 1, full_error
    except Exception as e:  # noqa: BLE001
        return 0, (str(e).strip().splitlines() or [type(e).__name__])[0]


TYPED_FIELDS = ("float_data", "int32_data", "string_data", "int64_data", "double_data", "uint64_data")


def tensor_to_raw(t):
    """Typed data fields (float_data, int32_data, ...) -> raw_data, as the kiln writer stores them."""
    if t.data_type == onnx.TensorProto.STRING or t.data_location == onnx.TensorProto.EXTERNAL:
        return
    if not any(len(getattr(t, f)) for f in TYPED_FIELDS):
        return
    arr = numpy_helper.to_array(t)
    raw = numpy_helper.from_array(arr)
    if raw.data_type != t.data_type:
        return  # a type numpy cannot hold exactly (bfloat16, float8): leave it to show as a difference
    for f in TYPED_FIELDS:
        t.ClearField(f)
    t.raw_data = raw.raw_data


def drop_redundant_value_info(g):
    """value_info that repeats a graph input/output with the same type says nothing (IR.md: value_info
    is for values that are not inputs or outputs); kiln keeps the input/output entry only."""
    declared = {v.name: v.type for v in list(g.input) + list(g.output)}
    keep = [v for v in g.value_info if not (v.name in declared and declared[v.name] == v.type)]
    if len(keep) != len(g.value_info):
        del g.value_info[:]
        g.value_info.extend(keep)


def normalize(msg):
    """Clears singular fields set to their default value and moves tensor data to raw_data, recursively."""
    if msg.DESCRIPTOR.name == "TensorProto":
        tensor_to_raw(msg)
    if msg.DESCRIPTOR.name == "GraphProto":
        drop_redundant_value_info(msg)
    for field in msg.DESCRIPTOR.fields:
        if field.label == FieldDescriptor.LABEL_REPEATED:
            if field.type == FieldDescriptor.TYPE_MESSAGE:
                for item in getattr(msg, field.name):
                    normalize(item)
            continue
        if field.type == FieldDescriptor.TYPE_MESSAGE:
            if msg.HasField(field.name):
                normalize(getattr(msg, field.name))
        elif msg.HasField(field.name) and getattr(msg, field.name) == field.default_value:
            msg.ClearField(field.name)
    return msg


def first_difference(a, b):
    import difflib

    lines = list(difflib.unified_diff(str(a).splitlines(), str(b).splitlines(), lineterm="", n=1))
    return "\n".join(lines[2:14])


def main():
    for line in sys.stdin:
        line = line.rstrip("\n")
        if not line:
            continue
        orig, rt = line.split("\t")
        result = {}
        result["orig"], result["orig_error"] = level(orig)
        result["rt"], result["rt_error"] = level(rt)
        try:
            a = normalize(onnx.load(orig, load_external_data=False))
            b = normalize(onnx.load(rt, load_external_data=False))
            result["same"] = a == b
            result["diff"] = "" if result["same"] else first_difference(a, b)
        except Exception as e:  # noqa: BLE001
            result["same"] = False
            result["diff"] = "cannot compare: %s" % e
        sys.stdout.write(json.dumps(result) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
