"""python/mistique against the real CLI (MISTIQUE_CLI, else the repository's build): streams, reads,
and capture() from PyTorch forward hooks. Run: python3 -m unittest discover -s python/tests (torch
tests are skipped where torch is not installed)."""
import json
import os
import subprocess
import sys
import tempfile
import time
import unittest
import warnings

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import mistique  # noqa: E402

try:
    import torch
    from torch import nn
except ImportError:  # capture() needs torch; the stream and read do not
    torch = None


def listed(store):
    if not os.path.exists(store):  # a first command that logged nothing leaves no store behind
        return []
    p = subprocess.run(mistique._cli(None) + ["ls", "--format", "json", "--store", store], stdout=subprocess.PIPE, check=True)
    return [i["key"] for i in json.loads(p.stdout)]


class StreamTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.store = os.path.join(self.tmp.name, "store")

    def tearDown(self):
        self.tmp.cleanup()

    @unittest.skipIf(torch is None, "needs torch")
    def test_torch_tensors_as_training_code_has_them_needing_gradients_or_in_bfloat16(self):
        torch.manual_seed(0)
        y = torch.nn.Linear(3, 2)(torch.randn(4, 3))  # needs gradients: numpy() alone refuses it
        b = torch.randn(4, 3).to(torch.bfloat16)      # numpy has no bfloat16
        with mistique.Stream(self.store) as s:
            s.log("p.m.y", y)
            s.log("p.m.b", b)
        np.testing.assert_array_equal(mistique.read(self.store, "p.m.y.*").values, y.detach().numpy())
        np.testing.assert_array_equal(mistique.read(self.store, "p.m.b.*").values, b.float().numpy())

    def test_batches_of_several_keys_read_back_as_sent(self):
        rng = np.random.default_rng(1)
        a = rng.random((9, 4, 6, 6), dtype=np.float32)
        b = rng.random((9, 10)).astype(np.float64)  # converted to float32
        with mistique.Stream(self.store) as s:
            s.log("p.m.a", a[:4])
            s.log("p.m.b", b[:4], row_ids=range(100, 104))
            s.log("p.m.a", a[4:])
            s.log("p.m.b", b[4:], row_ids=range(104, 109))
            s.log("p.m.small", a, scheme="pool2")
        r = mistique.read(self.store, "p.m.a.*")
        self.assertEqual(r.values.shape, (9, 4, 6, 6))
        self.assertTrue(np.array_equal(r.values, a))
        self.assertEqual(r.row_ids.tolist(), list(range(9)))
        r = mistique.read(self.store, "p.m.b.*", rows=[108, 100])
        self.assertEqual(r.row_ids.tolist(), [108, 100])
        self.assertTrue(np.array_equal(r.values, b[[8, 0]].astype(np.float32)))
        self.assertEqual(mistique.read(self.store, "p.m.small.*").values.shape, (9, 4, 3, 3))

    def test_rows_go_to_the_command_as_runs_in_their_order(self):
        self.assertEqual(mistique._row_spec([5, 6, 7, 1, 9, 10, 3]), "5-7,1,9-10,3")
        self.assertEqual(mistique._row_spec(list(range(10 ** 6))), "0-999999")
        with mistique.Stream(self.store) as s:
            s.log("p.m.x", np.arange(20, dtype=np.float32).reshape(20, 1))
        r = mistique.read(self.store, "p.m.x.*", rows=[7, 8, 9, 2, 15, 16])
        self.assertEqual(r.row_ids.tolist(), [7, 8, 9, 2, 15, 16])
        self.assertEqual(r.values[:, 0].tolist(), [7, 8, 9, 2, 15, 16])

    def test_negative_row_ids_read_back_and_a_row_id_that_is_not_whole_is_a_clear_error(self):
        with mistique.Stream(self.store) as s:
            s.log("p.m.n", np.arange(12, dtype=np.float32).reshape(4, 3), row_ids=np.array([-5, -1, 0, 7]))
        r = mistique.read(self.store, "p.m.n.*", rows=[-1, 7])  # before, --rows -1 was taken for an option
        self.assertEqual(r.row_ids.tolist(), [-1, 7])
        self.assertEqual(r.values[:, 0].tolist(), [3, 9])
        self.assertEqual(mistique.read(self.store, "p.m.n.*", rows=range(-1, 1)).row_ids.tolist(), [-1, 0])
        with self.assertRaisesRegex(mistique.MistiqueError, r"row id 1\.5 is not a whole number"):
            mistique.read(self.store, "p.m.n.*", rows=[1.5])  # before, read as row 1
        with self.assertRaisesRegex(mistique.MistiqueError, r"row id 2\.5 is not a whole number"):
            with mistique.Stream(self.store) as s:
                s.log("p.m.f", np.zeros((2, 3)), row_ids=[1, 2.5])
        self.assertEqual(listed(self.store), ["p.m.n"])

    def test_a_stream_dropped_without_close_says_nothing_of_it_was_logged(self):
        def forget():
            s = mistique.Stream(self.store)
            s.log("p.m.x", np.zeros((4, 3), dtype=np.float32))
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            forget()  # the stream is collected on return (the thread draining its stderr does not hold it)
        self.assertTrue(any("a mistique.Stream of 1 batches was never closed, so nothing of it was logged" in str(w.message)
                            for w in seen if issubclass(w.category, mistique.MistiqueWarning)), [str(w.message) for w in seen])
        self.assertEqual(listed(self.store), [])

    def test_a_command_killed_under_the_stream_is_named_as_killed(self):
        import signal
        s = mistique.Stream(self.store)
        s.log("p.m.x", np.zeros((4, 3), dtype=np.float32))
        os.kill(s._proc.pid, signal.SIGKILL)  # what the out-of-memory killer does
        s._proc.wait()
        with self.assertRaisesRegex(mistique.MistiqueError, r"^mistique log --stream was killed by SIGKILL \(as the out-of-memory killer does.*nothing of the stream was logged"):
            s.close()  # it said "exited with status -9"
        self.assertEqual(listed(self.store), [])
        # mistique.read's command, killed, is named as killed too
        self.assertEqual(mistique._ended("mistique get", -signal.SIGKILL, "read fewer rows at a time"),
                         "mistique get was killed by SIGKILL (as the out-of-memory killer does: if memory ran out, read fewer rows at a time)")
        self.assertEqual(mistique._ended("mistique get", 3, "read fewer rows at a time"), "mistique get exited with status 3")

    def test_integers_float32_would_round_are_a_clear_error(self):
        with self.assertRaisesRegex(mistique.MistiqueError, r"p\.m\.ids: integers up to 16777217 would be rounded by float32"):
            with mistique.Stream(self.store) as s:
                s.log("p.m.labels", np.arange(10).reshape(10, 1))  # small integers are exact in float32
                s.log("p.m.ids", np.array([[1], [2 ** 24 + 1]]))
        self.assertEqual(listed(self.store), [])

    def test_a_row_id_past_32_bits_is_a_clear_error_not_a_wrapped_id(self):
        with self.assertRaisesRegex(mistique.MistiqueError, r"p\.m\.a: row id 4294967296 does not fit a row id"):
            with mistique.Stream(self.store) as s:
                s.log("p.m.a", np.zeros((2, 3)), row_ids=[1, 2**32])
        self.assertEqual(listed(self.store), [])

    def test_a_batch_of_no_examples_is_sent_and_stores_nothing_and_a_scalar_is_a_clear_error(self):
        x = np.arange(12, dtype=np.float32).reshape(3, 4)
        with mistique.Stream(self.store) as s:
            s.log("p.m.boxes", np.zeros((0, 4), dtype=np.float32))  # a detector's head on an image without detections
            s.log("p.m.boxes", x, row_ids=[5, 6, 7])
            s.log("p.m.boxes", np.zeros((0, 4)), row_ids=[])
        r = mistique.read(self.store, "p.m.boxes.*")
        self.assertEqual(r.row_ids.tolist(), [5, 6, 7])
        np.testing.assert_array_equal(r.values, x)
        with self.assertRaisesRegex(mistique.MistiqueError, r"p\.m\.s: a batch needs an examples dimension, got a scalar"):
            with mistique.Stream(self.store) as s:
                s.log("p.m.s", np.float32(3))
        self.assertEqual(listed(self.store), ["p.m.boxes"])

    def test_a_table_with_text_reads_as_a_structured_array_exactly(self):
        """A pipeline stage's output (names, numbers, missing values, ±Infinity) reads back by column, not as an error."""
        csv = os.path.join(self.tmp.name, "homes.csv")
        with open(csv, "w") as f:
            f.write("city,price,rooms\nLA,1.5,3\n,Infinity,2\nSF,,4\nNY,-Infinity,1\n")
        subprocess.run(mistique._cli(None) + ["log", "p.m.homes", csv, "--store", self.store], stdout=subprocess.PIPE, check=True)
        r = mistique.read(self.store, "p.m.homes.*", rows=[3, 1, 2])
        self.assertEqual(r.row_ids.tolist(), [3, 1, 2])
        self.assertEqual(r.values.dtype.names, ("city", "price", "rooms"))
        self.assertEqual(r.values["city"].tolist(), ["NY", None, "SF"])
        self.assertEqual(r.values["price"][:2].tolist(), [-np.inf, np.inf])
        self.assertTrue(np.isnan(r.values["price"][2]))
        self.assertEqual(r.values["rooms"].tolist(), [1, 2, 4])
        # numbers alone stay one plain matrix
        self.assertEqual(mistique.read(self.store, "p.m.homes.rooms").values.shape, (4, 1))

    def test_a_failure_inside_the_block_logs_nothing(self):
        with self.assertRaises(RuntimeError):
            with mistique.Stream(self.store) as s:
                s.log("p.m.a", np.ones((3, 5), np.float32))
                raise RuntimeError("the training loop failed")
        self.assertEqual(listed(self.store), [])

    def test_a_rejected_stream_raises_the_commands_message(self):
        with mistique.Stream(self.store) as s:
            s.log("p.m.a", np.ones((3, 5), np.float32))
        with self.assertRaisesRegex(mistique.MistiqueError, "p.m.a is already stored"):
            with mistique.Stream(self.store) as s:
                s.log("p.m.a", np.ones((3, 5), np.float32))
        with self.assertRaisesRegex(mistique.MistiqueError, "has no row with id 7"):
            mistique.read(self.store, "p.m.a.*", rows=[7])
        self.assertEqual(listed(self.store), ["p.m.a"])

    def test_a_second_writing_process_is_told_what_to_do_or_waits_with_wait(self):
        with mistique.Stream(self.store) as s:  # the store exists: the race of creating it is the Node suite's
            s.log("p.m.first", np.ones((2, 3), np.float32))
        a = mistique.Stream(self.store)
        a.log("p.m.a", np.ones((3, 5), np.float32))
        holder = os.path.join(self.store, "writer.lock.json")
        for _ in range(200):  # until a's command holds the store's write lock
            if os.path.exists(holder):
                break
            time.sleep(0.05)
        with self.assertRaisesRegex(mistique.MistiqueError, "(?s)one writer at a time.*In distributed training, capture on one rank"):
            with mistique.Stream(self.store) as b:
                b.log("p.m.b", np.ones((3, 5), np.float32))
        c = mistique.Stream(self.store, wait=60)  # waits for a to close the store, then writes
        c.log("p.m.c", np.ones((3, 5), np.float32))
        a.close()
        self.assertEqual(c.close()["logged"][0]["key"], "p.m.c")
        self.assertEqual(sorted(listed(self.store)), ["p.m.a", "p.m.c", "p.m.first"])


@unittest.skipIf(torch is None, "torch is not installed")
class CaptureTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.store = os.path.join(self.tmp.name, "store")
        torch.manual_seed(0)
        self.model = nn.Sequential(
            nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(),
            nn.Sequential(nn.Conv2d(4, 8, 3, padding=1), nn.ReLU()),
            nn.MaxPool2d(2), nn.Flatten(), nn.Linear(8 * 7 * 7, 10),
        ).eval()
        self.x = torch.rand(20, 1, 14, 14)

    def tearDown(self):
        self.tmp.cleanup()

    def reference(self):
        """Every leaf module's output over the same batches, collected by our own hooks."""
        outs = {}
        hooks = [m.register_forward_hook(lambda m, i, o, n=n: outs.setdefault(n, []).append(o.detach().numpy().copy()))
                 for n, m in self.model.named_modules() if n and next(iter(m.children()), None) is None]
        with torch.no_grad():
            for s in range(0, 20, 8):
                self.model(self.x[s:s + 8])
        for h in hooks:
            h.remove()
        return {mistique.intermediate_name(n): np.concatenate(v) for n, v in outs.items()}

    def test_every_leaf_module_reads_back_bit_exactly(self):
        with mistique.capture(self.model, self.store, "proj.seq_e01") as cap:
            with torch.no_grad():
                for s in range(0, 20, 8):
                    self.model(self.x[s:s + 8])
        want = self.reference()
        self.assertEqual(sorted(cap.modules), sorted(want))
        self.assertEqual(sorted(i["key"] for i in cap.summary["logged"]), sorted(f"proj.seq_e01.{n}" for n in want))
        for name, v in want.items():
            r = mistique.read(self.store, f"proj.seq_e01.{name}.*")
            self.assertEqual(r.values.shape, v.shape, name)
            self.assertTrue(np.array_equal(r.values, v), name)
            self.assertEqual(r.row_ids.tolist(), list(range(20)))

    def test_chosen_modules_with_a_scheme_and_row_ids(self):
        with mistique.capture(self.model, self.store, "proj.seq_e02", modules=["2.1", "5"], scheme="pool2+lp") as cap:
            with torch.no_grad():
                cap.rows(range(1000, 1020))
                self.model(self.x)
        self.assertEqual(sorted(listed(self.store)), ["proj.seq_e02.2_1", "proj.seq_e02.5"])
        r = mistique.read(self.store, "proj.seq_e02.2_1.*", rows=[1019])
        self.assertEqual(r.values.shape, (1, 8, 7, 7))  # pooled 14×14 → 7×7
        ref = self.reference()["2_1"][19]
        pooled = ref.reshape(8, 7, 2, 7, 2).mean(axis=(2, 4))
        self.assertTrue(np.allclose(r.values[0], pooled, rtol=2e-3, atol=1e-3))  # float16

    def test_an_exception_in_the_block_logs_nothing_and_removes_the_hooks(self):
        with self.assertRaises(ValueError):
            with mistique.capture(self.model, self.store, "proj.seq_e03"):
                self.model(self.x[:2])
                raise ValueError("a bad batch")
        self.assertEqual(listed(self.store), [])
        self.assertTrue(all(len(m._forward_hooks) == 0 for m in self.model.modules()))

    def test_inputs_of_several_shapes_by_shape(self):
        """A fully convolutional model over images of two sizes: each module output per its shape, rows aligned."""
        conv = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 3)).eval()
        small, wide = torch.rand(5, 1, 8, 8), torch.rand(3, 1, 8, 12)
        with mistique.capture(conv, self.store, "det.fcn", by_shape=True):
            with torch.no_grad():
                conv(small)
                conv(wide)
        self.assertEqual(sorted(listed(self.store)), ["det.fcn.0-4x8x12", "det.fcn.0-4x8x8", "det.fcn.1-4x8x12", "det.fcn.1-4x8x8",
                                                      "det.fcn.2-4x1x1", "det.fcn.3-4", "det.fcn.4-3"])
        wide_relu = mistique.read(self.store, "det.fcn.1-4x8x12.*")
        self.assertEqual(wide_relu.row_ids.tolist(), [5, 6, 7])
        with torch.no_grad():
            self.assertTrue(np.array_equal(wide_relu.values, conv[1](conv[0](wide)).numpy()))
        logits = mistique.read(self.store, "det.fcn.4-3.*")
        self.assertEqual(logits.row_ids.tolist(), list(range(8)))
        with torch.no_grad():
            self.assertTrue(np.array_equal(logits.values, torch.cat([conv(small), conv(wide)]).numpy()))
        # without by_shape a second shape is one clear error, and nothing is logged
        with self.assertRaisesRegex(mistique.MistiqueError, r"det\.fcn2\.0 gave examples of shape \[4, 8, 8\] and now \[4, 8, 12\].*by_shape=True"):
            with mistique.capture(conv, self.store, "det.fcn2"):
                with torch.no_grad():
                    conv(small)
                    conv(wide)
        self.assertFalse(any(k.startswith("det.fcn2.") for k in listed(self.store)))

    def test_a_module_called_twice_a_pass_and_one_called_in_some_passes_keep_every_example_aligned(self):
        """ResNet's blocks call one `relu` twice: each call is an intermediate of its own, and row ids follow the passes."""
        class Block(nn.Module):
            def __init__(self):
                super().__init__()
                self.conv, self.relu, self.extra, self.fc = nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 4, 1), nn.Linear(4 * 8 * 8, 3)

            def forward(self, x):
                y = self.relu(self.conv(x))
                if x.shape[0] > 3:  # runs in the passes of more than 3 examples only
                    y = self.extra(y)
                return self.fc(self.relu(y - 0.5).flatten(1))

        block = Block().eval()
        xs = [torch.rand(4, 1, 8, 8), torch.rand(2, 1, 8, 8), torch.rand(5, 1, 8, 8)]
        with mistique.capture(block, self.store, "res.block") as cap:
            with torch.no_grad():
                for x in xs:
                    block(x)
                cap.rows([100, 101, 102])
                block(torch.rand(3, 1, 8, 8))
        self.assertEqual(sorted(listed(self.store)), ["res.block.conv", "res.block.extra", "res.block.fc", "res.block.relu", "res.block.relu_call2"])
        with torch.no_grad():
            first = [block.relu(block.conv(x)) for x in xs]
            extra = [block.extra(f) if x.shape[0] > 3 else f for f, x in zip(first, xs)]
            second = [block.relu(e - 0.5) for e in extra]
        relu = mistique.read(self.store, "res.block.relu.*")
        self.assertEqual(relu.row_ids.tolist(), list(range(11)) + [100, 101, 102])
        self.assertTrue(np.array_equal(relu.values[:11], torch.cat(first).numpy()))
        relu2 = mistique.read(self.store, "res.block.relu_call2.*")
        self.assertEqual(relu2.row_ids.tolist(), list(range(11)) + [100, 101, 102])
        self.assertTrue(np.array_equal(relu2.values[:11], torch.cat(second).numpy()))
        # the module of some passes: the row ids of those passes' examples (0–3 and 6–10), not 0–8
        ext = mistique.read(self.store, "res.block.extra.*")
        self.assertEqual(ext.row_ids.tolist(), [0, 1, 2, 3, 6, 7, 8, 9, 10])
        self.assertTrue(np.array_equal(ext.values, torch.cat([extra[0], extra[2]]).numpy()))
        # rows() labelled that pass alone: the next pass numbers on from the examples before it
        self.assertIsNone(cap._rows)
        # row ids that are not one per example of the pass: one clear error, nothing logged
        with self.assertRaisesRegex(mistique.MistiqueError, r"cap.rows\(\) gave 2 row ids for a forward pass of 4 examples"):
            with mistique.capture(block, self.store, "res.bad") as cap:
                cap.rows([1, 2])
                block(xs[0])
        self.assertFalse(any(k.startswith("res.bad.") for k in listed(self.store)))

    def test_a_chosen_module_that_never_ran_is_named_in_a_warning(self):
        """PyTorch's fused TransformerEncoderLayer (eval, no gradients) never calls its submodules: capture says so."""
        layer = nn.TransformerEncoderLayer(d_model=16, nhead=4, dim_feedforward=32, batch_first=True)
        model = nn.Sequential(nn.Linear(8, 16), nn.TransformerEncoder(layer, num_layers=1), nn.Linear(16, 3)).eval()
        x = torch.randn(4, 5, 8)
        fused_off = hasattr(getattr(torch.backends, "mha", None), "set_fastpath_enabled")
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            with torch.no_grad(), mistique.capture(model, self.store, "tr.eval") as cap:
                model(x)
        got = [w for w in seen if issubclass(w.category, mistique.MistiqueWarning)]
        # nn.MultiheadAttention never calls its out_proj, whatever the path: it uses the weights
        out_proj = "1.layers.0.self_attn.out_proj"
        self.assertEqual(len(got), 1)
        if fused_off:  # torch ≥ 2.2: capture turned the fused path off, and every other submodule ran
            self.assertEqual(cap.summary["not_run"], [out_proj])
        else:
            self.assertIn("1.layers.0.linear1", cap.summary["not_run"])
            self.assertRegex(str(got[0].message), r"never ran in the captured passes.*1\.layers\.0\.linear1.*fused kernel.*torch\.enable_grad\(\)")
        # with gradients on, PyTorch calls every submodule but out_proj: those are stored, the last layer as PyTorch computes it
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            with mistique.capture(model, self.store, "tr.grad") as cap:
                y = model(x)
        self.assertEqual(cap.summary["not_run"], [out_proj])
        got = [str(w.message) for w in seen if issubclass(w.category, mistique.MistiqueWarning)]
        self.assertEqual(len(got), 1)
        self.assertRegex(got[0], r"1 of the 10 chosen modules of tr\.grad never ran.*never calls its out_proj.*\(1\.layers\.0\.self_attn\)")
        self.assertNotIn("fused kernel", got[0])
        self.assertIn("tr.grad.1_layers_0_linear1", listed(self.store))
        out = mistique.read(self.store, "tr.grad.2.*")
        self.assertTrue(np.array_equal(out.values, y.detach().numpy()))

    def test_a_head_with_no_detection_in_some_passes_or_all_stores_what_there_is_and_names_the_empty_one(self):
        """A detector's heads: an output of 0 rows in a pass is a batch of no examples, not an error."""
        class Above(nn.Module):
            def __init__(self, t):
                super().__init__()
                self.t = t

            def forward(self, h):
                return h[h[:, 0] > self.t]

        class Det(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc, self.some, self.none = nn.Linear(4, 4), Above(0.0), Above(1e9)

            def forward(self, x):
                h = self.fc(x)
                return self.some(h), self.none(h)

        torch.manual_seed(3)
        m, xs = Det(), [torch.randn(5, 4) for _ in range(4)]
        with torch.no_grad():
            m.fc.weight.copy_(torch.eye(4))
            m.fc.bias.zero_()
        xs[1][:, 0] = -xs[1][:, 0].abs()  # no detection in the second pass
        xs[2][0, 0] = 1.0                 # one at least in the third
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            with mistique.capture(m, self.store, "p.det") as cap:
                with torch.no_grad():
                    kept = [m(x)[0] for x in xs]
        self.assertEqual(sorted(listed(self.store)), ["p.det.fc", "p.det.some"])
        self.assertEqual(cap.summary["no_examples"], ["none"])
        self.assertEqual([len(k) for k in kept][1], 0)
        np.testing.assert_array_equal(mistique.read(self.store, "p.det.some.*").values, torch.cat(kept).numpy())
        self.assertTrue(any("p.det.none gave no examples in any pass" in str(w.message) for w in seen if issubclass(w.category, mistique.MistiqueWarning)))

    def test_a_training_loop_with_a_loss_module_stores_the_examples_and_names_the_scalar(self):
        """A criterion inside the model gives one scalar per pass: it has no rows, so it is named, not stored, and not fatal."""
        class WithLoss(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc, self.loss = nn.Linear(8, 3), nn.CrossEntropyLoss()

            def forward(self, x, y):
                logits = self.fc(x)
                return logits, self.loss(logits, y)

        m, x, y = WithLoss(), torch.randn(6, 8), torch.randint(0, 3, (6,))
        opt = torch.optim.SGD(m.parameters(), lr=0.1)
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            with mistique.capture(m, self.store, "p.train") as cap:
                for s in (0, 3):
                    _, loss = m(x[s:s + 3], y[s:s + 3])
                    opt.zero_grad()
                    loss.backward()
                    opt.step()
        self.assertEqual(listed(self.store), ["p.train.fc"])
        self.assertEqual(cap.summary["scalars"], ["loss"])
        self.assertEqual(mistique.read(self.store, "p.train.fc.*").row_ids.tolist(), list(range(6)))
        self.assertTrue(any("p.train.loss gave a scalar" in str(w.message) for w in seen if issubclass(w.category, mistique.MistiqueWarning)))

    def test_tensors_in_dicts_and_nested_tuples_are_stored_by_key_and_position_and_a_module_without_one_is_named(self):
        import torch.nn as nn

        class Head(nn.Module):  # returns a dict, as Hugging Face's heads return a ModelOutput
            def __init__(self):
                super().__init__()
                self.fc = nn.Linear(4, 3)

            def forward(self, x):
                y = self.fc(x)
                return {"logits": y, "probs": y.softmax(-1)}

        class Nothing(nn.Module):
            def forward(self, x):
                return None

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.a, self.head, self.none = nn.Linear(5, 4), Head(), Nothing()

            def forward(self, x):
                self.none(x)
                h = torch.relu(self.a(x))
                return self.head(h), (h, None, [h * 2])

        m, x = Net().eval(), torch.randn(6, 5)
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            with mistique.capture(m, self.store, "p.dict", modules=["head", "none", ""]) as cap:
                with torch.no_grad():
                    out = m(x)
        self.assertEqual(listed(self.store), ["p.dict.head_logits", "p.dict.head_probs", "p.dict.output_0_logits", "p.dict.output_0_probs",
                                              "p.dict.output_1_0", "p.dict.output_1_2_0"])
        np.testing.assert_array_equal(mistique.read(self.store, "p.dict.head_probs.*").values, out[0]["probs"].numpy())
        np.testing.assert_array_equal(mistique.read(self.store, "p.dict.output_1_2_0.*").values, out[1][2][0].numpy())
        self.assertEqual(cap.summary["no_tensors"], ["none"])
        self.assertTrue(any("none of p.dict ran but gave no tensor" in str(w.message) for w in seen if issubclass(w.category, mistique.MistiqueWarning)))

    def test_an_lstm_stores_its_output_and_hidden_states_per_example_batch_first_or_not(self):
        import torch.nn as nn

        for batch_first in (True, False):
            lstm = nn.LSTM(5, 4, num_layers=2, batch_first=batch_first).eval()
            x = torch.randn(6, 7, 5) if batch_first else torch.randn(7, 6, 5)  # 6 examples of 7 steps
            key = f"p.lstm{int(batch_first)}"
            with mistique.capture(lstm, self.store, key) as cap:
                cap.rows(range(100, 106))  # a sequence-first model's examples are its input's axis 1
                with torch.no_grad():
                    o, (h, c) = lstm(x)
            out = o if batch_first else o.transpose(0, 1)
            got = mistique.read(self.store, f"{key}.output_0.*", rows=[103])
            np.testing.assert_array_equal(got.values[0], out[3].numpy())  # [steps, hidden] per example
            got = mistique.read(self.store, f"{key}.output_1_0.*", rows=[101, 105])
            np.testing.assert_array_equal(got.values, h.transpose(0, 1)[[1, 5]].numpy())  # h_n [layers, batch, hidden]: [layers, hidden] per example
            self.assertEqual(cap.summary["batch_axis_1"], ["output_1_0", "output_1_1"] if batch_first else ["output_0", "output_1_0", "output_1_1"])

    def test_a_recurrent_module_is_stored_per_example_when_its_sequence_or_layers_are_as_many_as_the_examples(self):
        import torch.nn as nn

        # 4 examples of 4 steps through 4 layers: every axis of the output and of h_n is as long as the batch
        for batch_first in (True, False):
            gru = nn.GRU(3, 2, num_layers=4, batch_first=batch_first).eval()
            x = torch.randn(4, 4, 3)
            key = f"p.square{int(batch_first)}"
            with mistique.capture(gru, self.store, key) as cap:
                cap.rows(range(10, 14))
                with torch.no_grad():
                    o, h = gru(x)
            out = o if batch_first else o.transpose(0, 1)
            np.testing.assert_array_equal(mistique.read(self.store, f"{key}.output_0.*", rows=[12]).values[0], out[2].numpy())
            np.testing.assert_array_equal(mistique.read(self.store, f"{key}.output_1.*", rows=[11]).values[0], h[:, 1].numpy())

    def test_an_unknown_module_names_the_modules_there_are(self):
        with self.assertRaisesRegex(mistique.MistiqueError, "no module conv9; its modules: 0, 1, 2, 2.0"):
            mistique.capture(self.model, self.store, "proj.seq", modules=["conv9"])


if __name__ == "__main__":
    unittest.main()
