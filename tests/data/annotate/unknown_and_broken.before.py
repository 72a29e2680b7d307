"""Nothing goes after an unknown layer, a layer PyTorch would reject, or a one-line block."""
import torch.nn as nn

net = nn.Sequential(
    # input: 3 x 32 x 32
    nn.Conv2d(3, 16, 3, 1, 1),
    nn.ReLU(),
    MyAttention(16),
    nn.Conv2d(16, 16, 3, 1, 1),
    # -> 16 x 32 x 32
    nn.Conv2d(16, 32, 3, 2, 1),
    nn.BatchNorm2d(64),
    nn.ReLU(),
    nn.Conv2d(32, 32, 3, 1, 1),
    nn.ReLU(),
    nn.Sequential(nn.Conv2d(32, 32, 1), nn.ReLU()),
    nn.Conv2d(32, 32, 3, 1, 1), nn.ReLU())

tiny = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU())
