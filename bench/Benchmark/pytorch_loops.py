"""PyTorch's side of the benchmark's side-by-side run (bench/Benchmark/PyTorchComparison.cs).

Runs as a child of the benchmark and answers one JSON request per line on stdin with one JSON line
on stdout, so that the engine and PyTorch take turns on the same cores within one run (this
machine's speed drifts from minute to minute; back-to-back separate runs would compare minutes,
not libraries). The models are the notebook's classes from docs/pytorch/models.py; the data is the
same MNIST IDX files, normalised as the engine does ((x/255 - 0.5)/0.5).

Requests ("op" and its fields):
  info                            versions, threads, the libblas.so.3 actually loaded
  matmul          n, repeat       GFLOP/s of an n x n fp32 product (is the BLAS a real one?)
  setup           architecture, batch, lr, seed
                                  builds the models and optimizers (Adam, as the engine's defaults)
  notebook_train  steps, warmup   the notebook's loop: per-sample Dataset + shuffling DataLoader,
                                  loss.item() every step
  resident_train  steps, warmup   the whole split as one tensor, randperm + index_select per step,
                                  loss and accuracy summed on the tensor (read once at the end),
                                  as the engine does
  notebook_eval   batch, count    the notebook's evaluation: DataLoader over the first count test
                                  images, eval(), no_grad, .item() per batch
  forward         batch, mode, count
                                  bare forward over the first count resident test images (mode
                                  "no_grad" or "inference_mode"), argmax summed on the tensor
Every reply carries "seconds" and, for the loops, "images_per_second".
"""
import gzip
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "docs", "pytorch"))
from models import ARCHITECTURES  # noqa: E402  (the notebook's classes)


def read_idx(directory, name):
    for candidate in (name, name + ".gz"):
        path = os.path.join(directory, candidate)
        if os.path.exists(path):
            opener = gzip.open if path.endswith(".gz") else open
            with opener(path, "rb") as f:
                data = f.read()
            dims = data[3]
            shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
            return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)
    raise FileNotFoundError(os.path.join(directory, name))


class NotebookMnist(Dataset):
    """Like torchvision's MNIST with ToTensor() + Normalize((0.5,), (0.5,)): one new tensor per sample."""

    def __init__(self, images, labels):
        self.images, self.labels = images, labels

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, index):
        image = torch.from_numpy(self.images[index].copy()).to(torch.float32).div_(255).unsqueeze_(0)
        return (image - 0.5) / 0.5, int(self.labels[index])


def resident(images):
    return torch.from_numpy(images.copy()).to(torch.float32).div_(255).sub_(0.5).div_(0.5).unsqueeze_(1)


def libblas_in_use():
    with open(f"/proc/{os.getpid()}/maps") as maps:
        paths = {line.split()[-1] for line in maps if "blas" in line and "/" in line}
    return sorted(os.path.realpath(p) for p in paths)


class Session:
    def __init__(self, data_directory, threads):
        torch.set_num_threads(threads)
        self.data_directory = data_directory
        self.train_raw = (read_idx(data_directory, "train-images-idx3-ubyte"), read_idx(data_directory, "train-labels-idx1-ubyte"))
        self.test_raw = (read_idx(data_directory, "t10k-images-idx3-ubyte"), read_idx(data_directory, "t10k-labels-idx1-ubyte"))
        self.train_images, self.train_labels = resident(self.train_raw[0]), torch.from_numpy(self.train_raw[1].astype(np.int64))
        self.test_images, self.test_labels = resident(self.test_raw[0]), torch.from_numpy(self.test_raw[1].astype(np.int64))

    def info(self, _):
        return {"torch": torch.__version__, "python": sys.version.split()[0], "threads": torch.get_num_threads(),
                "numpy": np.__version__, "libblas": libblas_in_use(), "mkldnn": torch.backends.mkldnn.is_available()}

    def matmul(self, r):
        n, repeat = r.get("n", 2048), r.get("repeat", 10)
        a, b = torch.randn(n, n), torch.randn(n, n)
        a @ b
        start = time.perf_counter()
        for _ in range(repeat):
            a @ b
        seconds = time.perf_counter() - start
        return {"seconds": seconds, "gflops": 2 * n ** 3 * repeat / seconds / 1e9, "libblas": libblas_in_use()}

    def setup(self, r):
        self.batch = r["batch"]
        build = ARCHITECTURES[r["architecture"]]
        torch.manual_seed(r.get("seed", 42))
        self.notebook_model = build()
        self.notebook_optimizer = torch.optim.Adam(self.notebook_model.parameters(), lr=r["lr"])
        torch.manual_seed(r.get("seed", 42))
        self.resident_model = build()
        self.resident_optimizer = torch.optim.Adam(self.resident_model.parameters(), lr=r["lr"])
        self.eval_model = build().eval()
        self.train_loader = DataLoader(NotebookMnist(*self.train_raw), batch_size=self.batch, shuffle=True)
        self.batches = iter(())
        self.order, self.position = torch.randperm(len(self.train_labels)), 0
        return {"parameters": sum(p.numel() for p in self.eval_model.parameters())}

    def _next_notebook_batch(self):
        try:
            return next(self.batches)
        except StopIteration:
            self.batches = iter(self.train_loader)
            return next(self.batches)

    def notebook_train(self, r):
        model, optimizer = self.notebook_model, self.notebook_optimizer
        model.train()

        def step():
            images, labels = self._next_notebook_batch()
            optimizer.zero_grad()
            loss = F.cross_entropy(model(images), labels)
            loss.backward()
            optimizer.step()
            return loss.item()

        return self._timed(step, r["steps"], r.get("warmup", 5))

    def resident_train(self, r):
        model, optimizer = self.resident_model, self.resident_optimizer
        model.train()
        loss_sum = torch.zeros((), dtype=torch.float64)
        correct = torch.zeros((), dtype=torch.int64)

        def step():
            if self.position + self.batch > len(self.order):
                self.order, self.position = torch.randperm(len(self.train_labels)), 0
            indices = self.order[self.position:self.position + self.batch]
            self.position += self.batch
            images, labels = self.train_images.index_select(0, indices), self.train_labels.index_select(0, indices)
            optimizer.zero_grad()
            logits = model(images)
            loss = F.cross_entropy(logits, labels)
            loss.backward()
            optimizer.step()
            with torch.no_grad():
                loss_sum.add_(loss.detach().double() * labels.shape[0])
                correct.add_(logits.argmax(1).eq(labels).sum())

        reply = self._timed(step, r["steps"], r.get("warmup", 5))
        loss_sum.item(), correct.item()
        return reply

    def notebook_eval(self, r):
        model = self.eval_model
        count = r.get("count", len(self.test_labels))
        loader = DataLoader(NotebookMnist(self.test_raw[0][:count], self.test_raw[1][:count]), batch_size=r["batch"], shuffle=False)
        start = time.perf_counter()
        model.eval()
        correct, loss_total = 0, 0.0
        with torch.no_grad():
            for images, labels in loader:
                logits = model(images)
                loss_total += F.cross_entropy(logits, labels, reduction="sum").item()
                correct += (logits.argmax(1) == labels).sum().item()
        seconds = time.perf_counter() - start
        return {"seconds": seconds, "images_per_second": len(loader.dataset) / seconds}

    def forward(self, r):
        model, batch = self.eval_model, r["batch"]
        model.eval()
        context = torch.inference_mode if r.get("mode", "no_grad") == "inference_mode" else torch.no_grad
        count = r.get("count", len(self.test_labels))
        with context():
            model(self.test_images[:batch])  # warm-up: first call at this shape picks its kernels
            correct = torch.zeros((), dtype=torch.int64)
            start = time.perf_counter()
            for first in range(0, count, batch):
                logits = model(self.test_images[first:first + batch])
                correct.add_(logits.argmax(1).eq(self.test_labels[first:first + batch]).sum())
            correct.item()
            seconds = time.perf_counter() - start
        return {"seconds": seconds, "images_per_second": count / seconds}

    def _timed(self, step, steps, warmup):
        for _ in range(warmup):
            step()
        start = time.perf_counter()
        for _ in range(steps):
            step()
        seconds = time.perf_counter() - start
        return {"seconds": seconds, "images_per_second": steps * self.batch / seconds}


def main():
    data_directory, threads = sys.argv[1], int(sys.argv[2])
    session = Session(data_directory, threads)
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        if not line.strip():
            continue
        request = json.loads(line)
        try:
            reply = getattr(session, request["op"])(request)
        except Exception as error:  # reported to the benchmark, which stops with it
            reply = {"error": f"{type(error).__name__}: {error}"}
        print(json.dumps(reply), flush=True)


if __name__ == "__main__":
    main()
