"""The notebook's PyTorch classes, completed, plus the attention classifier the service wraps
around SingleHeadSelfAttention. A checkpoint the service writes (model.safetensors) loads into
these with load_state_dict(strict=True), and a state dict saved from these loads into the
service's TorchSharp models: the parameter and buffer names are the same.

    python docs/pytorch/models.py convnet path/to/epoch-0003/model.safetensors

Needs torch and safetensors. The only change to the notebook's code is ResNet's stem, which takes
in_channels (1 for MNIST) instead of a fixed 3.
"""
import math
import sys

import torch
import torch.nn as nn


class ConvNet(nn.Module):
    def __init__(self):
        super(ConvNet, self).__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 32, kernel_size=3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, kernel_size=3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(64, 128, kernel_size=3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        )
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Linear(128 * 3 * 3, 256), nn.ReLU(), nn.Dropout(0.5), nn.Linear(256, 10),
        )

    def forward(self, x):
        return self.classifier(self.features(x))


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, in_channels, out_channels, stride=1, downsample=None):
        super(BasicBlock, self).__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, kernel_size=3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(out_channels, out_channels, kernel_size=3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.downsample = downsample

    def forward(self, x):
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))
        if self.downsample is not None:
            identity = self.downsample(x)
        out = self.bn2(self.conv2(out)) + identity
        out = self.relu(out)
        return out


class ResNet(nn.Module):
    def __init__(self, block, layers, num_classes=10, in_channels=1):
        super(ResNet, self).__init__()
        self.in_channels = 64
        self.conv1 = nn.Conv2d(in_channels, 64, kernel_size=7, stride=2, padding=3)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(block, 64, layers[0])
        self.layer2 = self._make_layer(block, 128, layers[1], stride=2)
        self.layer3 = self._make_layer(block, 256, layers[2], stride=2)
        self.layer4 = self._make_layer(block, 512, layers[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(512 * block.expansion, num_classes)

    def _make_layer(self, block, out_channels, blocks, stride=1):
        downsample = None
        if stride != 1 or self.in_channels != out_channels * block.expansion:
            downsample = nn.Sequential(
                nn.Conv2d(self.in_channels, out_channels * block.expansion, kernel_size=1, stride=stride, bias=False),
                nn.BatchNorm2d(out_channels * block.expansion),
            )
        layers = [block(self.in_channels, out_channels, stride, downsample)]
        self.in_channels = out_channels * block.expansion
        for _ in range(1, blocks):
            layers.append(block(self.in_channels, out_channels))
        return nn.Sequential(*layers)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


class SingleHeadSelfAttention(nn.Module):
    def __init__(self, embed_dim):
        super(SingleHeadSelfAttention, self).__init__()
        self.embed_dim = embed_dim
        self.query = nn.Linear(embed_dim, embed_dim)
        self.key = nn.Linear(embed_dim, embed_dim)
        self.value = nn.Linear(embed_dim, embed_dim)
        self.softmax = nn.Softmax(dim=-1)

    def forward(self, x):
        # x: [batch_size, seq_len, embed_dim]
        Q = self.query(x)
        K = self.key(x)
        V = self.value(x)
        scores = torch.bmm(Q, K.transpose(1, 2)) / math.sqrt(self.embed_dim)
        attn_weights = self.softmax(scores)
        out = torch.bmm(attn_weights, V)  # [batch_size, seq_len, embed_dim]
        return out


class AttentionClassifier(nn.Module):
    """16 patches of 7x7 -> Linear(49, 128) + learned positions -> one pre-norm block
    (x + attention(norm1(x)), x + mlp(norm2(x))) -> LayerNorm -> mean over tokens -> Linear(128, 10)."""

    def __init__(self, embed_dim=128, patch=7, num_classes=10):
        super().__init__()
        self.patch = patch
        tokens = (28 // patch) ** 2
        self.patch_embed = nn.Linear(patch * patch, embed_dim)
        self.pos_embed = nn.Parameter(torch.randn(1, tokens, embed_dim) * 0.02)
        self.norm1 = nn.LayerNorm(embed_dim)
        self.attention = SingleHeadSelfAttention(embed_dim)
        self.norm2 = nn.LayerNorm(embed_dim)
        self.mlp = nn.Sequential(nn.Linear(embed_dim, 4 * embed_dim), nn.GELU(), nn.Linear(4 * embed_dim, embed_dim))
        self.norm = nn.LayerNorm(embed_dim)
        self.head = nn.Linear(embed_dim, num_classes)

    def forward(self, images):
        b, p = images.shape[0], self.patch
        patches = images.reshape(b, 28 // p, p, 28 // p, p).permute(0, 1, 3, 2, 4).reshape(b, -1, p * p)
        x = self.patch_embed(patches) + self.pos_embed
        x = x + self.attention(self.norm1(x))
        x = x + self.mlp(self.norm2(x))
        return self.head(self.norm(x).mean(dim=1))


ARCHITECTURES = {
    "convnet": ConvNet,
    "resnet18": lambda: ResNet(BasicBlock, [2, 2, 2, 2]),
    "attention": AttentionClassifier,
}


def load(architecture, safetensors_path):
    from safetensors.torch import load_file

    model = ARCHITECTURES[architecture]()
    model.load_state_dict(load_file(safetensors_path), strict=True)
    return model.eval()


if __name__ == "__main__":
    model = load(sys.argv[1], sys.argv[2])
    print(f"{sys.argv[1]}: loaded {sum(p.numel() for p in model.parameters()):,} parameters with strict=True")
