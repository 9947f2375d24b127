"""mistique from Python: capture a PyTorch model's module outputs into a store while your own code
runs, and read intermediates back as numpy arrays.

    import mistique
    with mistique.capture(model, store='./s', key='proj.model_e03', modules=['layer1', 'fc'], scheme='pool2+lp') as cap:
        for x, _ in loader:
            model(x)
    r = mistique.read('./s', 'proj.model_e03.layer1.*', rows=[0, 5, 9])
    r.values.shape  # (3, C, H, W)

Batches go to `mistique log --stream` (docs/STREAM.md) through a pipe as they are computed; the store
keeps them under the bufferpool's memory bound, and they become durable together when the `with` block
ends (an exception inside it logs nothing). Standard library and numpy; torch only for capture().
"""
from __future__ import annotations

import json
import operator
import os
import re
import shlex
import shutil
import signal
import struct
import subprocess
import sys
import threading
import warnings
from dataclasses import dataclass
from typing import Any, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

import numpy as np

__all__ = ["MistiqueError", "MistiqueWarning", "Stream", "Capture", "capture", "read", "Result"]


class MistiqueWarning(UserWarning):
    """Something was not stored as asked (a chosen module that never ran, a scalar output), though what could be is."""


class MistiqueError(Exception):
    """A mistique command failed; the message is the command's own (what went wrong, what to do)."""


def _cli(cli: Optional[Sequence[str]]) -> List[str]:
    """The mistique command: `cli`, else $MISTIQUE_CLI, else `mistique` on PATH, else this repository's build."""
    if cli:
        return list(cli)
    env = os.environ.get("MISTIQUE_CLI")
    if env:
        return shlex.split(env)
    found = shutil.which("mistique")
    if found:
        return [found]
    here = os.path.dirname(os.path.abspath(__file__))
    built = os.path.join(here, "..", "..", "dist", "src", "cli", "bin.js")
    if os.path.exists(built):
        return [shutil.which("node") or "node", os.path.normpath(built)]
    raise MistiqueError("the mistique command was not found: install it (npm install -g mistique), put it on PATH, or set MISTIQUE_CLI")


_NAME = re.compile(r"^[A-Za-z0-9_-]+$")


def intermediate_name(module_name: str) -> str:
    """A module's name as an intermediate's: 'layer1.0.conv1' → 'layer1_0_conv1' (the model itself: 'output')."""
    name = re.sub(r"[^A-Za-z0-9_-]", "_", module_name) if module_name else "output"
    if not _NAME.match(name):
        raise MistiqueError(f"module name {module_name!r} cannot be an intermediate's name")
    return name


class Stream:
    """A running `mistique log --stream`: `log(key, array)` sends a batch; `close()` makes it all durable.

    Memory stays bounded: a batch is written to the pipe and the pipe blocks while the store is busy.
    Any failure (a bad key, a key already stored, the command dying) raises MistiqueError, and then
    nothing of the stream is logged.
    """

    def __init__(self, store: str, scheme: Optional[str] = None, cli: Optional[Sequence[str]] = None, wait: Optional[float] = None):
        args = _cli(cli) + ["log", "--stream", "--store", os.fspath(store)]
        if scheme:
            args += ["--scheme", scheme]
        if wait is not None:
            # seconds to wait for another process writing into the store to close it (default: fail at once)
            args += ["--wait", str(float(wait))]
        self._proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        # a 1 MB pipe: a batch goes through in a few writes instead of one per 64 KB the command has read
        _widen_pipe(self._proc.stdin)
        err: List[bytes] = []
        stderr = self._proc.stderr
        self._err = err
        # drained on a thread: the command's progress lines must never fill the pipe and stall it (the thread
        # holds no reference to the stream, so a stream dropped without close() is collected: __del__)
        self._drain = threading.Thread(target=lambda: err.extend(stderr), daemon=True)
        self._drain.start()
        self._closed = False
        self.batches = 0

    def _finish(self) -> int:
        """Ends its stdin, waits for the command and closes its pipes; its exit status."""
        try:
            self._proc.stdin.close()
        except OSError:
            pass
        code = self._proc.wait()
        self._drain.join()
        for f in (self._proc.stdout, self._proc.stderr):
            try:
                f.close()
            except OSError:
                pass
        return code

    def _fail(self) -> MistiqueError:
        self._finish()
        text = b"".join(self._err).decode("utf-8", "replace").strip()
        lines = [l for l in text.splitlines() if not l.startswith("log --stream:")]  # progress lines
        if any("one writer at a time" in l for l in lines):
            # the store holds one writer: two training processes (DDP ranks) capturing into one store collide
            lines.append("In distributed training, capture on one rank (torch.distributed.get_rank() == 0) or give each rank a "
                         "store of its own; waiting (wait=) would stall the rank until the other's capture ends.")
        code = self._proc.returncode
        if lines:
            return MistiqueError("\n".join(lines))
        killed = code is not None and code < 0
        return MistiqueError(_ended("mistique log --stream", code, "log smaller batches")
                             + ("; nothing of the stream was logged, and `mistique gc` reclaims what it had written" if killed else ""))

    def _write(self, *parts: Any) -> None:
        try:
            for p in parts:
                self._proc.stdin.write(p)
        except (BrokenPipeError, OSError):
            self._closed = True
            raise self._fail() from None

    def log(self, key: str, array: Any, row_ids: Optional[Iterable[int]] = None, scheme: Optional[str] = None) -> None:
        """Sends one batch: `array` is examples × per-example shape (converted to float32, C order) — a numpy
        array, anything numpy.asarray takes, or a torch tensor (on any device, needing gradients or not, any dtype)."""
        if self._closed:
            raise MistiqueError("this stream is closed")
        if hasattr(array, "detach") and hasattr(array, "is_floating_point"):
            # a torch tensor as training code has it: on any device, needing gradients, in any float type (bfloat16 too)
            array = array.detach().cpu()
            array = (array.float() if array.is_floating_point() else array).numpy()
        src = np.asarray(array)
        top = max(abs(int(src.min())), abs(int(src.max()))) if np.issubdtype(src.dtype, np.integer) and src.size else 0
        if top > 2**24:
            raise MistiqueError(f"{key}: integers up to {top} would be rounded by float32 (exact to ±2^24 = 16777216), "
                                "the stream's one type: give them as row ids, or log them from Node as a table column")
        if src.ndim == 0:  # (ascontiguousarray would make it one example of one value)
            raise MistiqueError(f"{key}: a batch needs an examples dimension, got a scalar")
        a = np.ascontiguousarray(src, dtype="<f4")
        if a.ndim == 1:
            a = a.reshape(a.shape[0], 1)
        ids = None
        if row_ids is not None:
            wide = _row_ids(row_ids)
            if wide.size and (wide.min() < -2**31 or wide.max() >= 2**31):
                bad = wide[(wide < -2**31) | (wide >= 2**31)][0]
                raise MistiqueError(f"{key}: row id {bad} does not fit a row id (a 32-bit signed integer, −2147483648…2147483647): number the examples, or keep such ids as a column of their own")
            ids = np.ascontiguousarray(wide, dtype="<i4")
            if ids.shape[0] != a.shape[0]:
                raise MistiqueError(f"{key}: {ids.shape[0]} row ids for {a.shape[0]} examples")
        header: Dict[str, Any] = {"op": "batch", "key": key, "dtype": "float32", "shape": list(a.shape),
                                  "bytes": a.nbytes + (ids.nbytes if ids is not None else 0)}
        if ids is not None:
            header["row_ids"] = True
        if scheme:
            header["scheme"] = scheme
        h = json.dumps(header).encode("utf-8")
        parts = [struct.pack("<I", len(h)), h]
        if a.size:  # a batch of no examples (a detector's head with no detection) has no payload
            parts.append(memoryview(a).cast("B"))
            if ids is not None:
                parts.append(memoryview(ids).cast("B"))
        self._write(*parts)
        self.batches += 1

    def close(self) -> Dict[str, Any]:
        """Ends the stream: everything sent becomes durable together. Returns what was logged."""
        if self._closed:
            raise MistiqueError("this stream is closed")
        h = json.dumps({"op": "end"}).encode("utf-8")
        self._write(struct.pack("<I", len(h)), h)
        self._closed = True
        try:
            self._proc.stdin.close()
        except OSError:
            pass
        out = self._proc.stdout.read()
        if self._finish() != 0:
            raise self._fail()
        return json.loads(out.decode("utf-8"))

    def abort(self) -> None:
        """Stops without logging anything (the command sees the stream end without its end message)."""
        if self._closed:
            return
        self._closed = True
        self._finish()

    def __enter__(self) -> "Stream":
        return self

    def __exit__(self, kind, value, tb) -> None:
        if kind is None:
            self.close()
        else:
            self.abort()

    def __del__(self) -> None:
        # a stream dropped without close(): the command sees its input end without the end message and logs
        # nothing — said, not silent (it was: the command's message went to a pipe nobody read)
        if getattr(self, "_closed", True):
            return
        self._closed = True
        try:
            if sys.is_finalizing():
                # at interpreter exit the drain thread may hold stderr's lock: end stdin only (the command stops)
                self._proc.stdin.close()
            else:
                self._finish()
        except Exception:  # noqa: BLE001 — at interpreter exit the pipes may be gone already
            pass
        warnings.warn(MistiqueWarning(f"a mistique.Stream of {self.batches} batches was never closed, so nothing of it was logged: "
                                      "use `with mistique.Stream(...) as s:` or call s.close()"), stacklevel=2)


class Capture:
    """What `capture()` yields: the stream, the chosen modules by intermediate name, and `rows()` to label examples.

    Row ids follow the model's forward passes: the examples of a pass are numbered on from the passes before it
    (or take the ids `rows()` gave for it), and every module output of that pass with one row per example gets
    those ids — so an example has one row id in every intermediate, even for a module that runs in some passes
    only. A module called more than once in a pass (ResNet's `relu` in every block) stores its k-th call as
    `<module>_call<k>`; outputs whose first dimension is not the pass's examples are numbered on by themselves.
    """

    def __init__(self, stream: Stream, key: str, modules: Dict[str, Any], by_shape: bool = False):
        self.stream = stream
        self.key = key
        self.modules = modules
        self.by_shape = by_shape
        self.summary: Optional[Dict[str, Any]] = None
        self._rows: Optional[np.ndarray] = None
        # per module output: its first per-example shape, and how many rows it has logged (outputs that are
        # not one row per example, and outputs of a module called outside a pass of the model, number on from it)
        self._shape: Dict[str, tuple] = {}
        self._count: Dict[str, int] = {}
        # the model's forward pass under way: examples before it, its examples (n, ids) and each module's calls in it
        self._in_pass = False
        self._base = 0
        self._pass_n: Optional[int] = None
        self._pass_rows: Optional[np.ndarray] = None
        self._calls: Dict[str, int] = {}
        # the chosen modules whose forward hook fired, and outputs not stored: scalars (a loss) have no rows
        self._ran: set = set()
        self._scalars: Dict[str, None] = {}
        self._no_tensors: Dict[str, None] = {}
        self._moved: Dict[str, None] = {}

    def rows(self, row_ids: Iterable[int]) -> None:
        """Row ids of the examples of the next forward pass (default: numbered on from 0, pass after pass)."""
        self._rows = _row_ids(row_ids)

    def _start(self, module, inputs) -> None:
        """The model's forward pass begins (a pre-hook on the model): its examples are the first tensor input's."""
        self._finish()
        self._in_pass = True
        self._calls = {}
        self._pass_rows, self._rows = self._rows, None
        shape = _first_shape(inputs)
        n = shape[0] if shape else None
        if self._pass_rows is not None and n is not None and n != len(self._pass_rows):
            # a sequence-first model (nn.LSTM without batch_first): its input's examples are axis 1
            if len(shape) >= 2 and shape[1] == len(self._pass_rows):
                n = len(self._pass_rows)
            else:
                raise MistiqueError(f"cap.rows() gave {len(self._pass_rows)} row ids for a forward pass of {n} examples: give one per example")
        self._pass_n = len(self._pass_rows) if self._pass_rows is not None else n

    def _end(self, module, inputs, output) -> None:
        self._finish()

    def _finish(self) -> None:
        # a pass that raised half way still counts its examples: what it logged keeps its row ids
        if self._in_pass:
            self._base += self._pass_n or 0
        self._in_pass = False

    def _call_name(self, name: str) -> str:
        """The intermediate of this call of a module in the pass under way: `<module>`, then `<module>_call2`, …"""
        if not self._in_pass:
            return name
        k = self._calls.get(name, 0) + 1
        self._calls[name] = k
        if k == 1:
            return name
        named = f"{name}_call{k}"
        if named in self.modules:
            raise MistiqueError(f"{self.key}.{name} ran {k} times in one forward pass, and its call {k} would be stored as {named}, "
                                f"which is the name of another module: choose the modules with capture(..., modules=[...])")
        return named

    def _ids(self, sub: str, n: int) -> np.ndarray:
        """Row ids of one module output's n rows."""
        if self._in_pass and self._pass_n is None:
            self._pass_n = n  # the model took no tensor argument: its first output's rows are the pass's examples
        start = self._count.get(sub, 0)
        self._count[sub] = start + n
        if self._in_pass and n == self._pass_n:
            return self._pass_rows if self._pass_rows is not None else np.arange(self._base, self._base + n, dtype=np.int64)
        # not one row per example, or called outside a pass of the model: numbered on by itself
        return np.arange(start, start + n, dtype=np.int64)

    def _name(self, sub: str, example: tuple) -> str:
        """The intermediate of one module output's batch: `<module>`, or with by_shape `<module>-<per-example shape>`."""
        if self.by_shape:
            return f"{sub}-{'x'.join(str(d) for d in example) or '1'}"
        first = self._shape.setdefault(sub, example)
        if first != example:
            raise MistiqueError(f"{self.key}.{sub} gave examples of shape {list(first)} and now {list(example)}: an intermediate has one "
                                f"per-example shape; capture(..., by_shape=True) stores each shape as {sub}-<shape> (row ids stay aligned)")
        return sub

    def _hook(self, name: str):
        import torch

        def hook(module, inputs, output):
            self._ran.add(name)
            call = self._call_name(name)
            outs = list(_tensors(output))
            if not outs:
                self._no_tensors[name] = None
            for suffix, t in outs:
                sub = call if len(outs) == 1 else f"{call}{suffix}"
                if t.ndim == 0:
                    self._scalars[sub] = None  # one value per pass (a loss), not rows of examples
                    continue
                # sequence first: nn.LSTM's and nn.GRU's outputs and hidden states, attention without batch_first —
                # the examples are axis 1; stored per example (an LSTM's h_n [layers, batch, hidden] as [layers, hidden] per row).
                # A recurrent module says where its batch is (so a sequence as long as the batch, or as many layers as
                # examples, is not taken for examples); other modules' outputs are judged by their shape
                rnn = _recurrent_batch_axis(module, suffix, t)
                if rnn == 1 or (rnn is None and self._in_pass and self._pass_n and t.ndim >= 2 and t.shape[0] != self._pass_n and t.shape[1] == self._pass_n):
                    t = t.transpose(0, 1)
                    self._moved[sub] = None
                a = t.detach().to("cpu", torch.float32).contiguous().numpy()
                n = a.shape[0]
                self.stream.log(f"{self.key}.{self._name(sub, tuple(a.shape[1:]))}", a, row_ids=self._ids(sub, n))
        return hook


def _recurrent_batch_axis(module: Any, suffix: str, t: Any) -> Optional[int]:
    """The batch axis of an output of nn.RNN, nn.LSTM or nn.GRU (batched input): its output ('_0') has it first when
    batch_first, else second; its hidden states ('_1', or h_n and c_n: '_1_0', '_1_1') always second. None: not known."""
    import torch

    if not isinstance(module, torch.nn.RNNBase) or t.ndim != 3:
        return None
    if suffix == "_0":
        return 0 if module.batch_first else 1
    return 1 if suffix.startswith("_1") else None


def _tensors(output: Any, path: str = "") -> Iterator[Tuple[str, Any]]:
    """Every tensor of a module's output with where it sits: a tensor itself (''), a tuple's or list's by
    position ('_0', '_1_0' nested), a dict's — Hugging Face's ModelOutput is one — by key ('_logits')."""
    import torch

    if isinstance(output, torch.Tensor):
        yield path, output
    elif isinstance(output, dict):
        for k, v in output.items():
            yield from _tensors(v, f"{path}_{re.sub(r'[^A-Za-z0-9_-]', '_', str(k))}")
    elif isinstance(output, (tuple, list)):
        for i, v in enumerate(output):
            yield from _tensors(v, f"{path}_{i}")


def _first_shape(inputs: Any) -> Optional[Tuple[int, ...]]:
    """The shape of the first tensor among a forward pass's positional inputs (None: there is none, or it is a scalar)."""
    import torch

    for x in inputs if isinstance(inputs, (tuple, list)) else [inputs]:
        if isinstance(x, torch.Tensor):
            return tuple(int(d) for d in x.shape) if x.ndim else None
        if isinstance(x, (tuple, list, dict)):
            s = _first_shape(list(x.values()) if isinstance(x, dict) else x)
            if s is not None:
                return s
    return None


class capture:
    """Captures module outputs of `model` (forward hooks) into `store` as `<key>.<module>` while the block runs.

    key: 'project.model' (e.g. 'proj.resnet_e03'); modules: names from model.named_modules() (default:
    every leaf module); scheme: as `mistique log --scheme` ('pool2+lp', 'kbit8', …). by_shape: inputs of several
    shapes (a detector's images of each height × width) — each module output is stored per its per-example shape
    as `<module>-<shape>` (e.g. 'layer1-64x56x56', 'fc-10'). Row ids follow the model's forward passes (see
    Capture), so that an example keeps its row id in every intermediate; a module called k times in a pass
    stores its calls as `<module>`, `<module>_call2`, … `<module>_call<k>`; an output of several tensors (a tuple, a
    list, a dict such as a Hugging Face ModelOutput, nested) stores each as `<module>_<position or key>`. The hooks are removed when the block ends; everything becomes
    durable then, or nothing if the block raised. A store takes one writer at a time: wait= (seconds) waits for another
    process writing into it to finish; without it, such a collision fails at once.
    """

    def __init__(self, model: Any, store: str, key: str, modules: Optional[Sequence[str]] = None,
                 scheme: Optional[str] = None, cli: Optional[Sequence[str]] = None, by_shape: bool = False,
                 wait: Optional[float] = None):
        parts = key.split(".")
        if len(parts) != 2 or not all(_NAME.match(p) for p in parts):
            raise MistiqueError(f"key {key!r} must be project.model (names of letters, digits, '_' and '-')")
        named = dict(model.named_modules())
        if modules is None:
            chosen = {n: m for n, m in named.items() if n and next(iter(m.children()), None) is None}
            # a model of no submodules (an nn.LSTM on its own) is its own one leaf: its output is stored
            chosen = chosen or {"": model}
        else:
            missing = [n for n in modules if n not in named]
            if missing:
                raise MistiqueError(f"the model has no module {', '.join(missing)}; its modules: {', '.join(n for n in named if n)}")
            chosen = {n: named[n] for n in modules}
        self._model, self._store, self._key, self._scheme, self._cli, self._by_shape = model, store, key, scheme, cli, by_shape
        self._wait = wait
        self._chosen = {intermediate_name(n): m for n, m in chosen.items()}
        self._module_names = {intermediate_name(n): n for n in chosen}
        self._handles: List[Any] = []
        self._cap: Optional[Capture] = None
        self._fastpath: Optional[bool] = None

    def __enter__(self) -> Capture:
        # PyTorch runs nn.TransformerEncoderLayer in eval mode without gradients as one fused kernel that never
        # calls its submodules, so their hooks never fire (pytorch/pytorch#128413): off while capturing (torch ≥ 2.2)
        mha = _mha()
        if mha is not None:
            self._fastpath = bool(mha.get_fastpath_enabled())
            mha.set_fastpath_enabled(False)
        stream = Stream(self._store, scheme=self._scheme, cli=self._cli, wait=self._wait)
        self._cap = Capture(stream, self._key, self._chosen, by_shape=self._by_shape)
        self._handles = [m.register_forward_hook(self._cap._hook(n)) for n, m in self._chosen.items()]
        # the model's own passes, registered last: its forward hook runs after every chosen module's
        self._handles += [self._model.register_forward_pre_hook(self._cap._start), self._model.register_forward_hook(self._cap._end)]
        return self._cap

    def __exit__(self, kind, value, tb) -> None:
        for h in self._handles:
            h.remove()
        mha = _mha()
        if mha is not None and self._fastpath is not None:
            mha.set_fastpath_enabled(self._fastpath)
        assert self._cap is not None
        if kind is not None:
            self._cap.stream.abort()
            return
        self._cap.summary = self._cap.stream.close()
        not_run = [n for i, n in self._module_names.items() if i not in self._cap._ran]
        self._cap.summary["not_run"] = not_run
        if not_run:
            warnings.warn(MistiqueWarning(self._not_run_message(not_run)), stacklevel=2)
        scalars = list(self._cap._scalars)
        self._cap.summary["scalars"] = scalars
        if scalars:
            warnings.warn(MistiqueWarning(f"{', '.join(f'{self._key}.{n}' for n in scalars)} gave a scalar (one value per forward pass, "
                                          "like a loss), not rows of examples: not stored; log such values with Stream.log "
                                          "under a key of their own"), stacklevel=2)
        # outputs whose every batch had no examples (a detector's head that found nothing): nothing was stored for them
        empty = [sub for sub, n in self._cap._count.items() if n == 0]
        self._cap.summary["no_examples"] = empty
        if empty:
            warnings.warn(MistiqueWarning(f"{', '.join(f'{self._key}.{n}' for n in empty)} gave no examples in any pass (every output "
                                          "had 0 rows): nothing of them is stored"), stacklevel=2)
        self._cap.summary["batch_axis_1"] = list(self._cap._moved)
        no_tensors = [self._module_names[n] for n in self._cap._no_tensors]
        self._cap.summary["no_tensors"] = no_tensors
        if no_tensors:
            warnings.warn(MistiqueWarning(f"{', '.join(no_tensors)} of {self._key} ran but gave no tensor (nothing in a tensor, tuple, "
                                          "list or dict): nothing of them is stored; capture the modules inside them, which compute "
                                          "the tensors"), stacklevel=2)

    def _not_run_message(self, not_run: List[str]) -> str:
        shown = ", ".join(not_run[:6]) + (f", … ({len(not_run)} in all)" if len(not_run) > 6 else "")
        msg = f"{len(not_run)} of the {len(self._module_names)} chosen modules of {self._key} never ran in the captured passes, so nothing of them is stored: {shown}"
        import torch

        named = dict(self._model.named_modules())
        parent = lambda n: named.get(n.rpartition(".")[0])  # noqa: E731
        # nn.MultiheadAttention never calls its out_proj: it passes the weights to a function
        weights_only = [n for n in not_run if n.endswith(".out_proj") and isinstance(parent(n), torch.nn.MultiheadAttention)]
        fused = any(isinstance(named.get(".".join(n.split(".")[:k])), torch.nn.TransformerEncoderLayer)
                    for n in not_run if n not in weights_only for k in range(1, n.count(".") + 1))
        if fused:
            msg += ("; PyTorch runs nn.TransformerEncoderLayer in eval mode without gradients as one fused kernel that never calls "
                    "its submodules: capture with gradients enabled (torch.enable_grad()), or with torch ≥ 2.2, where capture turns "
                    "that fused path off")
        if weights_only:
            msg += ("; nn.MultiheadAttention never calls its out_proj (it uses its weights): the attention's output is that of the "
                    f"MultiheadAttention module itself ({weights_only[0].rpartition('.')[0]}), which capture(..., modules=[...]) can name")
        return msg


def _mha() -> Any:
    """torch.backends.mha where it can turn the fused transformer path off (torch ≥ 2.2), else None."""
    import torch

    mha = getattr(getattr(torch, "backends", None), "mha", None)
    return mha if mha is not None and hasattr(mha, "set_fastpath_enabled") else None


@dataclass
class Result:
    """What `read` returns: values and their row ids. A tensor's values are examples × per-example shape,
    float32; a table's (named columns of mixed types, such as a pipeline stage's output) are a structured
    array with one field per column — `r.values['price']`, or `pandas.DataFrame(r.values)` — of float64,
    float32, int32 or bool, with text as Python strings and a missing value as NaN (numbers) or None."""
    values: np.ndarray
    row_ids: np.ndarray


_NUMPY_TYPES = {"float64": "<f8", "float32": "<f4", "int32": "<i4", "bool": "?"}


def read(store: str, pattern: str, rows: Optional[Iterable[int]] = None, cli: Optional[Sequence[str]] = None) -> Result:
    """Reads intermediates (`project.model.intermediate.column`, '*' allowed) as numpy, read or re-run as the store decides."""
    args = ["get", pattern, "--store", os.fspath(store)]
    if rows is not None:
        ids = _row_ids(rows).tolist()
        if not ids:
            raise MistiqueError("rows is empty: give at least one row id, or None for all")
        args.append(f"--rows={_row_spec(ids)}")  # one argument: a negative row id is no option
    try:
        values, row_ids = _get_npy(_cli(cli) + args)
        return Result(values=values, row_ids=row_ids)
    except MistiqueError as err:
        if ".npy holds numbers" not in str(err):
            raise
    # a table with text: its columns and text through the command's JSON, its numbers through .npy (JSON
    # has no ±Infinity: they come back exact that way)
    doc = json.loads(_run(_cli(cli) + args + ["--format", "json"]))
    cols, n = doc["columns"], len(doc["rowIds"])
    numeric = [c for c in cols if c["type"] in _NUMPY_TYPES]
    numbers: Dict[str, np.ndarray] = {}
    if numeric:
        m = _get_npy(_cli(cli) + ["get", *[c["key"] for c in numeric], *args[2:]])[0].reshape(n, len(numeric))
        numbers = {c["key"]: m[:, j] for j, c in enumerate(numeric)}
    # fields by column name (by key where a pattern spans intermediates whose column names repeat)
    names = [c["name"] for c in cols]
    names = names if len(set(names)) == len(names) else [c["key"] for c in cols]
    values = np.empty(n, dtype=[(f, _NUMPY_TYPES.get(c["type"], "O")) for f, c in zip(names, cols)])
    for j, (f, c) in enumerate(zip(names, cols)):
        values[f] = numbers[c["key"]] if c["type"] in _NUMPY_TYPES else [r[j] for r in doc["rows"]]
    return Result(values=values, row_ids=np.asarray(doc["rowIds"], dtype=np.int32))


def _get_npy(command: List[str]) -> Tuple[np.ndarray, np.ndarray]:
    """The values and row ids `mistique get` answers, as two .npy arrays read straight from its stdout into numpy
    arrays (`--out - --format npy`); its message as a MistiqueError when it fails."""
    p = subprocess.Popen(command + ["--out", "-", "--format", "npy"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _widen_pipe(p.stdout)
    errs: List[bytes] = []
    drain = threading.Thread(target=lambda: errs.append(p.stderr.read()))  # a full stderr pipe must not stall stdout
    drain.start()
    arrays: Optional[Tuple[np.ndarray, np.ndarray]] = None
    try:
        arrays = (_read_npy(p.stdout), _read_npy(p.stdout))
    except EOFError:
        pass
    finally:
        p.stdout.close()
        code = p.wait()
        drain.join()
    if code == 0 and arrays is not None:
        return arrays
    err = b"".join(errs).decode("utf-8", "replace").strip()
    raise MistiqueError(err or _ended("mistique get", code, "read fewer rows at a time"))


def _widen_pipe(f: Any) -> None:
    """A 1 MB pipe (Linux's most, by default) where the system lets us: through the default 64 KB a 957 MB layer
    took 4.35 s to read (median of 5, interleaved), through 1 MB 2.12 s — and the .npy file written and read
    back before, 3.96 s. Capturing ResNet-18's 313 MB into `log --stream`: 2.53 s → 2.06 s (5 interleaved pairs)."""
    try:
        import fcntl

        fcntl.fcntl(f.fileno(), 1031, 1 << 20)  # F_SETPIPE_SZ
    except (ImportError, OSError, AttributeError):
        pass


def _read_npy(f: Any) -> np.ndarray:
    """One .npy array (format 1.0) from a stream, read into the array's own memory (no seek, no file)."""
    magic = f.read(8)
    if len(magic) < 8:
        raise EOFError("the stream ended before an array")
    if magic[:6] != b"\x93NUMPY":
        raise MistiqueError("mistique get sent something that is not a .npy array")
    shape, _, dtype = np.lib.format.read_array_header_1_0(f)  # numpy's own header parser (get writes C order)
    a = np.empty(shape, dtype=dtype)
    view = memoryview(a.reshape(-1).view(np.uint8))
    got = 0
    while got < len(view):
        n = f.readinto(view[got:])
        if not n:
            raise EOFError(f"the stream ended after {got} of {len(view)} bytes of an array")
        got += n
    return a


def _row_id(r: Any) -> int:
    """A row id as given: a whole number (int, numpy integer), never a float truncated to one."""
    try:
        return operator.index(r)
    except TypeError:
        raise MistiqueError(f"row id {r!r} is not a whole number: row ids are integers") from None


def _row_ids(xs: Iterable[Any]) -> np.ndarray:
    """Row ids as int64: an integer array or a range as they are, anything else id by id (_row_id)."""
    if isinstance(xs, np.ndarray) and np.issubdtype(xs.dtype, np.integer):
        return xs.astype(np.int64, copy=False).reshape(-1)
    if isinstance(xs, range):
        return np.arange(xs.start, xs.stop, xs.step, dtype=np.int64)
    return np.fromiter((_row_id(r) for r in xs), dtype=np.int64)


def _row_spec(ids: List[int]) -> str:
    """Row ids in their order as `--rows` takes them, runs of consecutive ids as a-b (range(10**6) is '0-999999',
    not a command line past the system's limit)."""
    parts: List[str] = []
    i = 0
    while i < len(ids):
        j = i
        while j + 1 < len(ids) and ids[j + 1] == ids[j] + 1:
            j += 1
        parts.append(str(ids[i]) if j == i else f"{ids[i]}-{ids[j]}")
        i = j + 1
    return ",".join(parts)


def _ended(command: str, code: Optional[int], smaller: str) -> str:
    """How a command that said nothing ended: the signal that killed it (SIGKILL is what the out-of-memory killer
    sends: `smaller` says how to need less), else its exit status."""
    if code is None or code >= 0:
        return f"{command} exited with status {code}"
    try:
        name = signal.Signals(-code).name
    except ValueError:
        name = f"signal {-code}"
    return f"{command} was killed by {name}" + (f" (as the out-of-memory killer does: if memory ran out, {smaller})" if name == "SIGKILL" else "")


def _run(args: List[str]) -> bytes:
    p = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if p.returncode != 0:
        raise MistiqueError(p.stderr.decode("utf-8", "replace").strip() or _ended("mistique", p.returncode, "ask for less at a time"))
    return p.stdout
