"""No shape comments at all: --input 3x64x64 seeds the replay, '# state size.' is the default."""
import torch.nn as nn

encoder = nn.Sequential(
    nn.Conv2d(3, 16, 4, 2, 1),
    nn.ReLU(),
    nn.Conv2d(16, 32, 4, 2, 1), nn.ReLU(),
    nn.Conv2d(32, 64, 4, 2, 1),
    CustomBlock(64),
    nn.Conv2d(64, 64, 3, 1, 1),
    nn.ReLU(),
)
