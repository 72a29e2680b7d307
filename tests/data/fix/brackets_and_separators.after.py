"""Brackets, backticks, torch.Size, batch names and separators as written, only wrong numbers change."""
import torch.nn as nn

ngf = 64

net = nn.Sequential(
    # (N, 3, 64, 64)
    nn.Conv2d(3, 128, 4, 2, 1),
    # (N, 128, 32, 32)
    nn.Conv2d(128, 128, 3, 1, 1),
    # out: [B, 128, 32, 32]
    nn.Conv2d(128, 128, 3, 1, 1),
    # (bs, 128, 32, 32)
    nn.Conv2d(128, 128, 3, 1, 1),
    # [batch, 128, 32, 32]
    nn.Conv2d(128, 128, 3, 1, 1),
    # Output size: (batch_size, 128, 32, 32)
    nn.Conv2d(128, 128, 3, 1, 1),
    # 128x32x32
    nn.Conv2d(128, 128, 3, 1, 1),
    # 128×32×32
    nn.Conv2d(128, 128, 3, 1, 1),
    # 128X32X32
    nn.Conv2d(128, 128, 3, 1, 1),
    # 128, 32, 32
    nn.Conv2d(128, 128, 3, 1, 1),
    # (N, 128, 32, 32)
    nn.Conv2d(128, ngf * 8, 4, 2, 1),
    # state size. ``(ngf*8) x 16 x 16``
    nn.Conv2d(ngf * 8, ngf * 8, 3, 1, 1),
    # `512 x 16 x 16`
    nn.Conv2d(ngf * 8, ngf * 8, 3, 1, 1),
    # (ngf*8)x16x16
    nn.Conv2d(ngf * 8, ngf * 8, 3, 1, 1),
    # torch.Size([64, 512, 16, 16])
)
