"""The PyTorch half of PyTorchInteropTests: run by the test, never by hand.

    python3 pytorch_interop.py MODELS_PY CASE_DIR...

Each CASE_DIR holds what the C# half wrote: case.json (architecture, normalization, the path of
the service's model.safetensors), images.f32 (float32 [N, 1, 28, 28]) and service-logits.f32 (the
service's model's eval-mode logits for them, float32 [N, 10]). For each case this

1. loads the service's weights into the notebook's class (docs/pytorch/models.py) with
   load_state_dict(strict=True), runs the same images in eval mode and writes the logits it gets
   to pytorch-from-service-logits.f32;
2. builds a model of its own (seeded; BatchNorm statistics moved by two training-mode passes),
   saves its state dict as pytorch.safetensors and its eval-mode logits as pytorch-logits.f32,
   for the C# half to load into the service's model.

It reads and writes safetensors itself (Debian's python3-torch has no safetensors package); the
comparisons and assertions are the C# half's.
"""
import importlib.util
import json
import struct
import sys
from pathlib import Path

import torch

DTYPES = {"F32": torch.float32, "F64": torch.float64, "I64": torch.int64, "I32": torch.int32}
NAMES = {dtype: name for name, dtype in DTYPES.items()}


def read_safetensors(path):
    data = Path(path).read_bytes()
    (header_size,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + header_size])
    body = data[8 + header_size:]
    tensors = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        start, end = entry["data_offsets"]
        flat = torch.frombuffer(bytearray(body[start:end]), dtype=DTYPES[entry["dtype"]])
        tensors[name] = flat.reshape(entry["shape"]).clone()
    return tensors


def write_safetensors(path, tensors):
    header, chunks, offset = {}, [], 0
    for name, tensor in tensors.items():
        raw = tensor.detach().contiguous().cpu().numpy().tobytes()
        header[name] = {"dtype": NAMES[tensor.dtype], "shape": list(tensor.shape), "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    encoded = json.dumps(header).encode()
    encoded += b" " * (-len(encoded) % 8)  # the data starts 8-byte aligned
    Path(path).write_bytes(struct.pack("<Q", len(encoded)) + encoded + b"".join(chunks))


def read_floats(path, shape):
    return torch.frombuffer(bytearray(Path(path).read_bytes()), dtype=torch.float32).reshape(shape).clone()


def write_floats(path, tensor):
    Path(path).write_bytes(tensor.detach().contiguous().cpu().numpy().astype("<f4").tobytes())


def run_case(models, case_dir):
    case = json.loads((case_dir / "case.json").read_text())
    build = models.ARCHITECTURES[case["architecture"]]
    images = read_floats(case_dir / "images.f32", [-1, 1, 28, 28])

    # 1. The service's checkpoint in the notebook's class.
    model = build(case["normalization"])
    model.load_state_dict(read_safetensors(case["weights"]), strict=True)
    model.eval()
    with torch.no_grad():
        write_floats(case_dir / "pytorch-from-service-logits.f32", model(images))

    # 2. A model of PyTorch's own, for the service to load.
    torch.manual_seed(1234)
    own = build(case["normalization"])
    with torch.no_grad():
        own.train()
        own(images)
        own(images.flip(0))
        own.eval()
        write_floats(case_dir / "pytorch-logits.f32", own(images))
    write_safetensors(case_dir / "pytorch.safetensors", own.state_dict())


def main():
    spec = importlib.util.spec_from_file_location("notebook_models", sys.argv[1])
    models = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(models)
    torch.set_num_threads(1)
    for case_dir in sys.argv[2:]:
        run_case(models, Path(case_dir))
    print(f"torch {torch.__version__}: {len(sys.argv) - 2} case(s) done")


if __name__ == "__main__":
    main()
