"""CRLF line endings stay CRLF; only the comment's numbers change."""
import torch.nn as nn

net = nn.Sequential(
    # input: 3 x 64 x 64
    nn.Conv2d(3, 64, 4, 2, 1),  # (64+2*1-4)/2+1=32
    nn.ReLU(),
    # state size. 64 x 64 x 64
    nn.Conv2d(64, 128, 4, 2, 1),  # (32+2*1-4)/2+1=32
    # state size. 128 x 16 x 16
)
