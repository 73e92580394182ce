#!/usr/bin/env python3
"""A GPU workload for the gpu-exchange agent protocol (see agent/README.md), with PyTorch.

Repeats x = tanh(A @ x / sqrt(N)) for STEPS steps on CUDA, with A and x_0 drawn from a fixed seed.
Checkpoints hold the loop index and x; the result is sha256 of a checksum of x rounded to 4 significant
digits, so GPUs of different models that differ in the last bits still agree.

Env: N (4096), STEPS (200), CHECKPOINT_EVERY (20), SEED (0), and the protocol's GX_* variables.
"""
import hashlib
import math
import os
import signal
import sys

import torch


def whole(name, default):
    value = int(os.environ.get(name, default))
    if value < 0:
        sys.exit(f"{name} must be >= 0")
    return value


N = whole("N", 4096)
STEPS = whole("STEPS", 200)
CHECKPOINT_EVERY = max(1, whole("CHECKPOINT_EVERY", 20))
SEED = whole("SEED", 0)
checkpoint_dir = os.environ.get("GX_CHECKPOINT_DIR")
result_file = os.environ.get("GX_RESULT_FILE")
resume_file = os.environ.get("GX_RESUME_FILE")

if not torch.cuda.is_available():
    sys.exit("no CUDA device is visible (check GX_GPUS / CUDA_VISIBLE_DEVICES)")
device = torch.device("cuda")
torch.backends.cuda.matmul.allow_tf32 = False

generator = torch.Generator(device="cpu").manual_seed(SEED)
a = torch.randn(N, N, generator=generator, dtype=torch.float32).to(device)
x = torch.randn(N, 1, generator=generator, dtype=torch.float32).to(device)
step = 0
if resume_file:
    saved = torch.load(resume_file, map_location="cpu")
    step = int(saved["step"])
    x = saved["x"].to(device)
    print(f"resumed at step {step}", flush=True)


def say(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def checkpoint():
    if not checkpoint_dir:
        return
    name = f"step-{step}.pt"
    temp = os.path.join(checkpoint_dir, f".{name}.tmp")
    torch.save({"step": step, "x": x.detach().cpu()}, temp)
    os.replace(temp, os.path.join(checkpoint_dir, name))
    say(f"checkpoint {step} {name}")


def on_sigterm(_signum, _frame):
    torch.cuda.synchronize()
    checkpoint()
    sys.exit(143)


signal.signal(signal.SIGTERM, on_sigterm)

scale = 1.0 / math.sqrt(N)
while step < STEPS:
    x = torch.tanh((a @ x) * scale)
    step += 1
    if step % CHECKPOINT_EVERY == 0 or step == STEPS:
        torch.cuda.synchronize()
        say(f"progress {step / STEPS:.4f} step {step} of {STEPS}")
        checkpoint()

checksum = float(x.double().abs().sum().item())
rounded = f"{checksum:.3e}"
digest = hashlib.sha256(rounded.encode()).hexdigest()
say(f"checksum {rounded}")
if result_file:
    with open(result_file, "w") as out:
        out.write(digest)
else:
    say(f"result {digest}")
