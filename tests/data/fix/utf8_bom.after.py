"""A UTF-8 file with a byte order mark keeps it."""
import torch.nn as nn

net = nn.Sequential(
    # input: 3 x 64 x 64
    nn.Conv2d(3, 64, 4, 2, 1),
    # state size. 64 x 32 x 32  (état)
)
