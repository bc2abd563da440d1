"""The notebook's PyTorch classes, completed, plus the attention classifier the service wraps
around SingleHeadSelfAttention. A checkpoint the service writes (model.safetensors) loads into
these with load_state_dict(strict=True), and a state dict saved from these loads into the
service's TorchSharp models: the parameter and buffer names are the same.

    python docs/pytorch/models.py convnet path/to/epoch-0003/model.safetensors [normalization]

normalization is the job's `normalization` hyperparameter (batch, layer, group or none; it is in
the checkpoint's manifest.json); omitted, each architecture gets the notebook's: none for convnet,
batch for resnet18, layer for attention.

Needs torch and safetensors. The changes to the notebook's code: ResNet's stem takes in_channels (1
for MNIST) instead of a fixed 3, and every class takes a `normalization` argument whose default
builds exactly the notebook's layers (same names, same state dict).
"""
import math
import sys

import torch
import torch.nn as nn

# Groups for normalization="group", everywhere (NormalizationLayers.GroupCount in the service).
GROUP_COUNT = 8


def feature_map_norm(normalization, channels):
    """The norm for [N, C, H, W] feature maps; None for "none".

    "layer" is GroupNorm(1, C): each sample normalized over C x H x W, with a per-channel affine.
    """
    if normalization == "batch":
        return nn.BatchNorm2d(channels)
    if normalization == "layer":
        return nn.GroupNorm(1, channels)
    if normalization == "group":
        return nn.GroupNorm(GROUP_COUNT, channels)
    if normalization == "none":
        return None
    raise ValueError(f"unknown normalization {normalization!r}")


def feature_map_norm_or_identity(normalization, channels):
    return feature_map_norm(normalization, channels) or nn.Identity()


class TokenBatchNorm(nn.BatchNorm1d):
    """BatchNorm over [B, T, E] tokens: each embedding channel normalized over batch and tokens."""

    def forward(self, x):
        return super().forward(x.transpose(1, 2)).transpose(1, 2)


class TokenGroupNorm(nn.GroupNorm):
    """GroupNorm over [B, T, E] tokens: each token's channels in groups, each token on its own."""

    def forward(self, x):
        return super().forward(x.reshape(-1, x.shape[-1])).reshape(x.shape)


def token_norm(normalization, embed_dim):
    if normalization == "batch":
        return TokenBatchNorm(embed_dim)
    if normalization == "layer":
        return nn.LayerNorm(embed_dim)
    if normalization == "group":
        return TokenGroupNorm(GROUP_COUNT, embed_dim)
    if normalization == "none":
        return nn.Identity()
    raise ValueError(f"unknown normalization {normalization!r}")


class ConvNet(nn.Module):
    def __init__(self, normalization="none"):
        super(ConvNet, self).__init__()
        # "none" adds no layer (not an Identity), so the notebook's indices stay: features.0, .3, .6.
        # Otherwise each block is Conv -> Norm -> ReLU -> MaxPool: convs at .0, .4, .8, norms at .1, .5, .9.
        blocks = []
        for in_channels, out_channels in [(1, 32), (32, 64), (64, 128)]:
            blocks.append(nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1))
            norm = feature_map_norm(normalization, out_channels)
            if norm is not None:
                blocks.append(norm)
            blocks += [nn.ReLU(), nn.MaxPool2d(2)]
        self.features = nn.Sequential(*blocks)
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Linear(128 * 3 * 3, 256), nn.ReLU(), nn.Dropout(0.5), nn.Linear(256, 10),
        )

    def forward(self, x):
        return self.classifier(self.features(x))


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, in_channels, out_channels, stride=1, downsample=None, normalization="batch"):
        super(BasicBlock, self).__init__()
        # bn1/bn2 keep their names whatever the normalization, as torchvision's norm_layer does.
        self.conv1 = nn.Conv2d(in_channels, out_channels, kernel_size=3, stride=stride, padding=1, bias=False)
        self.bn1 = feature_map_norm_or_identity(normalization, out_channels)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(out_channels, out_channels, kernel_size=3, stride=1, padding=1, bias=False)
        self.bn2 = feature_map_norm_or_identity(normalization, out_channels)
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
    def __init__(self, block, layers, num_classes=10, in_channels=1, normalization="batch"):
        super(ResNet, self).__init__()
        self.normalization = normalization
        self.in_channels = 64
        self.conv1 = nn.Conv2d(in_channels, 64, kernel_size=7, stride=2, padding=3)
        self.bn1 = feature_map_norm_or_identity(normalization, 64)
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
                feature_map_norm_or_identity(self.normalization, out_channels * block.expansion),
            )
        layers = [block(self.in_channels, out_channels, stride, downsample, self.normalization)]
        self.in_channels = out_channels * block.expansion
        for _ in range(1, blocks):
            layers.append(block(self.in_channels, out_channels, normalization=self.normalization))
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
    (x + attention(norm1(x)), x + mlp(norm2(x))) -> LayerNorm -> mean over tokens -> Linear(128, 10).
    normalization replaces all three LayerNorms (norm1, norm2, norm) alike."""

    def __init__(self, embed_dim=128, patch=7, num_classes=10, normalization="layer"):
        super().__init__()
        self.patch = patch
        tokens = (28 // patch) ** 2
        self.patch_embed = nn.Linear(patch * patch, embed_dim)
        self.pos_embed = nn.Parameter(torch.randn(1, tokens, embed_dim) * 0.02)
        self.norm1 = token_norm(normalization, embed_dim)
        self.attention = SingleHeadSelfAttention(embed_dim)
        self.norm2 = token_norm(normalization, embed_dim)
        self.mlp = nn.Sequential(nn.Linear(embed_dim, 4 * embed_dim), nn.GELU(), nn.Linear(4 * embed_dim, embed_dim))
        self.norm = token_norm(normalization, embed_dim)
        self.head = nn.Linear(embed_dim, num_classes)

    def forward(self, images):
        b, p = images.shape[0], self.patch
        patches = images.reshape(b, 28 // p, p, 28 // p, p).permute(0, 1, 3, 2, 4).reshape(b, -1, p * p)
        x = self.patch_embed(patches) + self.pos_embed
        x = x + self.attention(self.norm1(x))
        x = x + self.mlp(self.norm2(x))
        return self.head(self.norm(x).mean(dim=1))


# Each builder takes the normalization; None means the architecture's (the notebook's) default.
ARCHITECTURES = {
    "convnet": lambda normalization=None: ConvNet(normalization or "none"),
    "resnet18": lambda normalization=None: ResNet(BasicBlock, [2, 2, 2, 2], normalization=normalization or "batch"),
    "attention": lambda normalization=None: AttentionClassifier(normalization=normalization or "layer"),
}


def load(architecture, safetensors_path, normalization=None):
    from safetensors.torch import load_file

    model = ARCHITECTURES[architecture](normalization)
    model.load_state_dict(load_file(safetensors_path), strict=True)
    return model.eval()


if __name__ == "__main__":
    normalization = sys.argv[3] if len(sys.argv) > 3 else None
    model = load(sys.argv[1], sys.argv[2], normalization)
    print(f"{sys.argv[1]} ({normalization or 'default'} normalization): "
          f"loaded {sum(p.numel() for p in model.parameters()):,} parameters with strict=True")
