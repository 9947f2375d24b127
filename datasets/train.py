#!/usr/bin/python3
"""Trains the two Fashion-MNIST models of the DNN workload and exports an ONNX checkpoint at every 10%
of training -- the kind of training code mistique's users have (run with Debian's python3-torch).

  cnn  a small CNN trained from scratch: 4 conv + 2 dense (like the paper's CIFAR10_CNN)
  vgg  a deeper VGG-style network: its conv blocks are trained first, then frozen while a new dense
       head is fine-tuned (like the paper's fine-tuned VGG16); its conv outputs are identical in every
       checkpoint, which mistique's exact de-duplication should find.

usage: /usr/bin/python3 datasets/train.py [--out datasets/models] [--epochs 2] [--log-store DIR]
       [--fixtures]   only write the tiny test fixtures (datasets/fixtures/*.onnx, each well under 1 MB): tiny_cnn,
                      dynamic_net, tiny_text, from torchvision's blocks tiny_resnet and tiny_mobilenet, tiny_detector
                      (images of any height and width), tiny_uint8, tiny_double and tiny_rnn (LSTM, GRU)
       [--zoo]        only write the model zoo to --out: torchvision's resnet18 and mobilenet_v2 (one-channel stem,
                      trained --zoo-steps steps) and text_transformer (untrained; int64 input_ids + attention_mask)

With --log-store, every checkpoint is handed to `mistique log` right after it is written: the bridge
from training code in another language.
"""
import argparse, gzip, os, struct, subprocess, sys
import numpy as np
import torch
import torch.nn as nn

torch.set_num_threads(max(1, os.cpu_count() or 1))
DATA = '/usr/share/datasets/fashion-mnist'


def load(split):
    try:
        with gzip.open(f'{DATA}/{split}-images-idx3-ubyte.gz') as f:
            _, n, h, w = struct.unpack('>IIII', f.read(16))
            x = np.frombuffer(f.read(), dtype=np.uint8).reshape(n, 1, h, w).astype(np.float32) / 255
        with gzip.open(f'{DATA}/{split}-labels-idx1-ubyte.gz') as f:
            f.read(8)
            y = np.frombuffer(f.read(), dtype=np.uint8).astype(np.int64)
    except FileNotFoundError:
        sys.exit(f'{DATA} is missing: apt-get install dataset-fashion-mnist')
    return torch.from_numpy(x), torch.from_numpy(y)


class CNN(nn.Module):
    def __init__(self, width=16):
        super().__init__()
        w = width
        self.features = nn.Sequential(
            nn.Conv2d(1, w, 3, padding=1), nn.ReLU(), nn.Conv2d(w, w, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(w, 2 * w, 3, padding=1), nn.ReLU(), nn.Conv2d(2 * w, 2 * w, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(2 * w * 7 * 7, 128), nn.ReLU(), nn.Linear(128, 10))

    def forward(self, x):
        return self.classifier(self.features(x))


class VGG(nn.Module):
    def __init__(self, width=16):
        super().__init__()
        w = self.width = width
        def block(cin, cout, n):
            layers = []
            for i in range(n):
                layers += [nn.Conv2d(cin if i == 0 else cout, cout, 3, padding=1), nn.ReLU()]
            return layers + [nn.MaxPool2d(2)]
        self.features = nn.Sequential(*block(1, w, 2), *block(w, 2 * w, 2), *block(2 * w, 4 * w, 3))  # 28 → 14 → 7 → 3
        self.classifier = self.head()

    def head(self):
        return nn.Sequential(nn.Flatten(), nn.Linear(4 * self.width * 3 * 3, 256), nn.ReLU(), nn.Linear(256, 10))

    def forward(self, x):
        return self.classifier(self.features(x))


class DynNet(nn.Module):
    """A test fixture of graph kinds exporters emit: hard-swish, an Upsample (Resize), ReLU6 (Clip) and a
    flatten by the batch size read at run time (Shape -> Gather -> Unsqueeze -> Concat -> Reshape, int64
    values that are not layers). Untrained: it exercises the graph, not accuracy."""
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 4, 3, padding=1)
        self.act1 = nn.Hardswish()
        self.pool = nn.MaxPool2d(2)
        self.up = nn.Upsample(scale_factor=2, mode='nearest')
        self.conv2 = nn.Conv2d(4, 4, 3, stride=2, padding=1)
        self.act2 = nn.ReLU6()
        self.fc = nn.Linear(4 * 14 * 14, 10)

    def forward(self, x):
        y = self.act2(self.conv2(self.up(self.pool(self.act1(self.conv1(x))))))
        return self.fc(y.view(y.size(0), -1))


class TinyTextClassifier(nn.Module):
    """A test fixture of a transformer-style graph with two int64 inputs: token ids and an attention mask.
    Embedding, one masked self-attention block with a residual Add and LayerNorm, a GELU feed-forward,
    masked mean pooling, logits. Untrained: it exercises the graph."""
    def __init__(self, vocab=50, dim=16, classes=3):
        super().__init__()
        self.emb = nn.Embedding(vocab, dim)
        self.q, self.k, self.v = nn.Linear(dim, dim), nn.Linear(dim, dim), nn.Linear(dim, dim)
        self.ln1, self.ln2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.ff = nn.Sequential(nn.Linear(dim, 2 * dim), nn.GELU(), nn.Linear(2 * dim, dim))
        self.out = nn.Linear(dim, classes)
        self.scale = dim ** -0.5

    def forward(self, input_ids, attention_mask):
        h = self.emb(input_ids)
        m = attention_mask.to(h.dtype)
        scores = torch.matmul(self.q(h), self.k(h).transpose(1, 2)) * self.scale + (1.0 - m[:, None, :]) * -1e4
        h = self.ln1(h + torch.matmul(torch.softmax(scores, dim=-1), self.v(h)))
        h = self.ln2(h + self.ff(h))
        pooled = (h * m[:, :, None]).sum(1) / m.sum(1, keepdim=True).clamp(min=1.0)
        return self.out(pooled)


def resnet18():
    """torchvision's ResNet-18 with a one-channel stem for 28x28 Fashion-MNIST (28 -> 1x1 after the 32x downsampling)."""
    import torchvision
    m = torchvision.models.resnet18(num_classes=10)
    m.conv1 = nn.Conv2d(1, 64, 7, 2, 3, bias=False)
    return m


def mobilenet_v2(width_mult=1.0, setting=None, last=1280):
    """torchvision's MobileNetV2 (inverted residuals, ReLU6, depthwise convolutions) with a one-channel stem."""
    import torchvision
    m = torchvision.models.MobileNetV2(num_classes=10, width_mult=width_mult, inverted_residual_setting=setting)
    stem = m.features[0][0]
    m.features[0][0] = nn.Conv2d(1, stem.out_channels, 3, 2, 1, bias=False)
    return m


class TinyResNet(nn.Module):
    """A test fixture of the ResNet graph kind, from torchvision's own BasicBlock: a stem, a block with an identity
    residual, a block with a strided 1x1 downsample, global average pooling, a dense head."""
    def __init__(self, w=8):
        super().__init__()
        from torchvision.models.resnet import BasicBlock
        self.stem = nn.Sequential(nn.Conv2d(1, w, 3, 1, 1, bias=False), nn.BatchNorm2d(w), nn.ReLU(inplace=True))
        down = nn.Sequential(nn.Conv2d(w, 2 * w, 1, 2, bias=False), nn.BatchNorm2d(2 * w))
        self.layer1, self.layer2 = BasicBlock(w, w), BasicBlock(w, 2 * w, 2, down)
        self.pool, self.fc = nn.AdaptiveAvgPool2d(1), nn.Linear(2 * w, 10)

    def forward(self, x):
        return self.fc(torch.flatten(self.pool(self.layer2(self.layer1(self.stem(x)))), 1))


class TextTransformer(nn.Module):
    """A Transformer encoder text classifier (nn.TransformerEncoder, pre-norm off, GELU) over int64 token ids and
    an attention mask: the zoo's transformer, trained on nothing (synthetic tokens exercise the graph)."""
    def __init__(self, vocab=1000, dim=128, heads=4, layers=4, classes=4, seq=64):
        super().__init__()
        self.emb, self.pos = nn.Embedding(vocab, dim), nn.Parameter(torch.randn(1, seq, dim) * 0.02)
        layer = nn.TransformerEncoderLayer(dim, heads, 4 * dim, dropout=0.0, activation='gelu', batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.out = nn.Linear(dim, classes)

    def forward(self, input_ids, attention_mask):
        h = self.encoder(self.emb(input_ids) + self.pos, src_key_padding_mask=attention_mask == 0)
        m = attention_mask.to(h.dtype)[:, :, None]
        return self.out((h * m).sum(1) / m.sum(1).clamp(min=1.0))


def export_text(model, path, seq):
    model.eval()
    ids = torch.zeros(2, seq, dtype=torch.int64)
    torch.onnx.export(model, (ids, torch.ones(2, seq, dtype=torch.int64)), path, input_names=['input_ids', 'attention_mask'],
                      output_names=['logits'], opset_version=13,
                      dynamic_axes={'input_ids': {0: 'batch'}, 'attention_mask': {0: 'batch'}, 'logits': {0: 'batch'}})


def export(model, path):
    model.eval()
    torch.onnx.export(model, torch.zeros(1, 1, 28, 28), path, input_names=['image'], output_names=['logits'],
                      dynamic_axes={'image': {0: 'batch'}, 'logits': {0: 'batch'}}, opset_version=13)
    model.train()


def export_detector(path):
    """A test fixture of the detector kind: TinyResNet (untrained) exported with the image's height and width as
    dynamic axes, as detectors are -- its feature maps take the shape of each image, its pooled head does not."""
    torch.manual_seed(11)
    model = TinyResNet().eval()
    torch.onnx.export(model, torch.zeros(1, 1, 24, 32), path, input_names=['image'], output_names=['logits'], opset_version=13,
                      dynamic_axes={'image': {0: 'batch', 2: 'height', 3: 'width'}, 'logits': {0: 'batch'}})


class TinyRecurrent(nn.Module):
    """A recurrent text classifier as PyTorch users write one: an embedding, a two-layer LSTM and a bidirectional
    GRU (batch_first, which the export turns into ONNX's time-major LSTM/GRU between Transposes), the GRU's last
    step classified."""

    def __init__(self, vocab=50, dim=8, hidden=12, classes=3):
        super().__init__()
        self.emb = nn.Embedding(vocab, dim)
        self.lstm = nn.LSTM(dim, hidden, num_layers=2, batch_first=True)
        self.gru = nn.GRU(hidden, 6, batch_first=True, bidirectional=True)
        self.fc = nn.Linear(12, classes)

    def forward(self, input_ids):
        y, _ = self.lstm(self.emb(input_ids))
        z, _ = self.gru(y)
        return self.fc(z[:, -1, :])


def export_recurrent(path):
    """A test fixture of recurrent layers: TinyRecurrent (untrained) over 6 tokens, a dynamic batch axis."""
    torch.manual_seed(12)
    model = TinyRecurrent().eval()
    torch.onnx.export(model, torch.zeros(2, 6, dtype=torch.int64), path, input_names=['input_ids'], output_names=['logits'],
                      dynamic_axes={'input_ids': {0: 'batch'}, 'logits': {0: 'batch'}}, opset_version=14)


class Uint8Images(nn.Module):
    """A net of the kind TensorFlow exports: it takes uint8 images and scales them itself."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3, padding=1)
        self.fc = nn.Linear(4 * 14 * 14, 10)

    def forward(self, image):
        x = image.to(torch.float32) / 255.0
        return self.fc(torch.flatten(torch.max_pool2d(torch.relu(self.conv(x)), 2), 1))


def export_uint8(path):
    """A test fixture whose input is uint8 images [N, 1, 28, 28] (untrained)."""
    torch.manual_seed(12)
    model = Uint8Images().eval()
    torch.onnx.export(model, torch.zeros(1, 1, 28, 28, dtype=torch.uint8), path, input_names=['image'], output_names=['logits'],
                      opset_version=13, dynamic_axes={'image': {0: 'batch'}, 'logits': {0: 'batch'}})


def export_double(path):
    """A test fixture whose input and weights are float64 (as scientific models often are): [N, 6] -> [N, 3] (untrained)."""
    torch.manual_seed(13)
    model = nn.Sequential(nn.Linear(6, 5), nn.Tanh(), nn.Linear(5, 3)).double().eval()
    torch.onnx.export(model, torch.zeros(1, 6, dtype=torch.float64), path, input_names=['x'], output_names=['y'],
                      opset_version=13, dynamic_axes={'x': {0: 'batch'}, 'y': {0: 'batch'}})


def accuracy(model, x, y):
    model.eval()
    with torch.no_grad():
        acc = sum((model(x[i:i + 1000]).argmax(1) == y[i:i + 1000]).sum().item() for i in range(0, len(x), 1000)) / len(x)
    model.train()
    return acc


def train(model, params, x, y, steps, batch, lr, checkpoint, seed):
    g = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(params, lr=lr)
    loss_fn = nn.CrossEntropyLoss()
    every = steps // 10
    for step in range(1, steps + 1):
        idx = torch.randint(0, len(x), (batch,), generator=g)
        opt.zero_grad()
        loss = loss_fn(model(x[idx]), y[idx])
        loss.backward()
        opt.step()
        if step % every == 0:
            checkpoint(step // every, loss.item())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--out', default=os.path.join(os.path.dirname(__file__), 'models'))
    ap.add_argument('--epochs', type=float, default=1.0)
    ap.add_argument('--batch', type=int, default=64)
    ap.add_argument('--log-store')
    ap.add_argument('--fixtures', action='store_true', help='only write the tiny test fixtures')
    ap.add_argument('--zoo', action='store_true', help='only write the model zoo (resnet18, mobilenet_v2, text_transformer)')
    ap.add_argument('--zoo-steps', type=int, default=300, help='training steps of each zoo CNN')
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    torch.manual_seed(0)
    xtr, ytr = load('train')
    xte, yte = load('t10k')
    steps = int(a.epochs * len(xtr) / a.batch)
    mistique = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'dist', 'src', 'cli', 'main.js')

    def make_checkpoint(name, model):
        def cp(k, loss):
            path = os.path.join(a.out, f'{name}_e{k:02d}.onnx')
            export(model, path)
            print(f'{name} checkpoint {k}/10: loss {loss:.3f}, test accuracy {accuracy(model, xte, yte):.3f} -> {path}', flush=True)
            if a.log_store:
                subprocess.run(['node', mistique, 'log', path, '--model', f'fmnist.{name}_e{k:02d}', '--store', a.log_store], check=True)
        return cp

    if a.fixtures:
        fx = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'fixtures')
        os.makedirs(fx, exist_ok=True)
        tiny = CNN(width=4)
        train(tiny, tiny.parameters(), xtr, ytr, 300, 64, 3e-3, lambda k, l: None, 4)
        export(tiny, os.path.join(fx, 'tiny_cnn.onnx'))
        print(f'wrote {fx}/tiny_cnn.onnx (test accuracy {accuracy(tiny, xte, yte):.3f})')
        torch.manual_seed(5)
        export(DynNet(), os.path.join(fx, 'dynamic_net.onnx'))
        print(f'wrote {fx}/dynamic_net.onnx (untrained)')
        torch.manual_seed(6)
        text = TinyTextClassifier().eval()
        ids = torch.zeros(2, 8, dtype=torch.int64)
        torch.onnx.export(text, (ids, torch.ones(2, 8, dtype=torch.int64)), os.path.join(fx, 'tiny_text.onnx'),
                          input_names=['input_ids', 'attention_mask'], output_names=['logits'],
                          dynamic_axes={'input_ids': {0: 'batch'}, 'attention_mask': {0: 'batch'}, 'logits': {0: 'batch'}}, opset_version=13)
        print(f'wrote {fx}/tiny_text.onnx (untrained)')
        torch.manual_seed(7)
        res = TinyResNet()
        train(res, res.parameters(), xtr, ytr, 200, 64, 3e-3, lambda k, l: None, 8)
        export(res, os.path.join(fx, 'tiny_resnet.onnx'))
        print(f'wrote {fx}/tiny_resnet.onnx (test accuracy {accuracy(res, xte, yte):.3f})')
        torch.manual_seed(8)
        mob = mobilenet_v2(0.5, [[1, 8, 1, 1], [6, 12, 2, 2], [6, 16, 2, 2]])
        mob.features[-1][0] = nn.Conv2d(mob.features[-1][0].in_channels, 64, 1, bias=False)
        mob.features[-1][1] = nn.BatchNorm2d(64)
        mob.classifier[1] = nn.Linear(64, 10)
        train(mob, mob.parameters(), xtr, ytr, 200, 64, 3e-3, lambda k, l: None, 9)
        export(mob, os.path.join(fx, 'tiny_mobilenet.onnx'))
        print(f'wrote {fx}/tiny_mobilenet.onnx (test accuracy {accuracy(mob, xte, yte):.3f})')
        torch.manual_seed(10)
        export_text(TextTransformer(vocab=50, dim=16, heads=2, layers=1, classes=3, seq=8), os.path.join(fx, 'tiny_encoder.onnx'), 8)
        print(f'wrote {fx}/tiny_encoder.onnx (untrained; nn.TransformerEncoder, its attention in [tokens, batch, features])')
        export_detector(os.path.join(fx, 'tiny_detector.onnx'))
        print(f'wrote {fx}/tiny_detector.onnx (untrained; images of any height and width)')
        export_uint8(os.path.join(fx, 'tiny_uint8.onnx'))
        print(f'wrote {fx}/tiny_uint8.onnx (untrained; uint8 images, scaled inside)')
        export_double(os.path.join(fx, 'tiny_double.onnx'))
        print(f'wrote {fx}/tiny_double.onnx (untrained; float64 input and weights)')
        export_recurrent(os.path.join(fx, 'tiny_rnn.onnx'))
        print(f'wrote {fx}/tiny_rnn.onnx (untrained; a two-layer LSTM and a bidirectional GRU over int64 token ids)')
        return

    if a.zoo:
        # the model zoo of bench:dnn --only zoo: torchvision's ResNet-18 and MobileNetV2, briefly trained on
        # Fashion-MNIST (the graphs and their value ranges are what matter, not accuracy), and a Transformer encoder
        for name, make, seed in (('resnet18', resnet18, 11), ('mobilenet_v2', mobilenet_v2, 12)):
            torch.manual_seed(seed)
            m = make()
            path = os.path.join(a.out, f'{name}.onnx')
            train(m, m.parameters(), xtr, ytr, a.zoo_steps, a.batch, 1e-3,
                  lambda k, l: print(f'{name} {k}/10: loss {l:.3f}', flush=True), seed)
            export(m, path)
            print(f'wrote {path} (test accuracy {accuracy(m, xte, yte):.3f})', flush=True)
        torch.manual_seed(13)
        export_text(TextTransformer(), os.path.join(a.out, 'text_transformer.onnx'), 64)
        print(f'wrote {a.out}/text_transformer.onnx (untrained)')
        return

    cnn = CNN()
    train(cnn, cnn.parameters(), xtr, ytr, steps, a.batch, 1e-3, make_checkpoint('cnn', cnn), 1)

    vgg = VGG()
    # pre-training of the whole network (the "pre-trained VGG16"), then freeze the convolutional blocks
    train(vgg, vgg.parameters(), xtr, ytr, steps, a.batch, 1e-3, lambda k, l: print(f'vgg pre-training {k}/10: loss {l:.3f}', flush=True), 2)
    for p in vgg.features.parameters():
        p.requires_grad = False
    vgg.classifier = vgg.head()  # a new dense head, fine-tuned
    train(vgg, vgg.classifier.parameters(), xtr, ytr, max(10, steps // 2), a.batch, 1e-3, make_checkpoint('vgg', vgg), 3)



if __name__ == '__main__':
    main()
