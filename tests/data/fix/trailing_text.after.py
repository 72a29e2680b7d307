"""Text after the shape (a second reading, a note in any language, a comma) stays as written."""
import torch.nn as nn

ndf = 64

netD = nn.Sequential(
    # input is (3) x 64 x 64
    nn.Conv2d(3, ndf, 4, 2, 1, bias=False),  # (64+2*1-4)/2+1=32
    nn.LeakyReLU(0.2, inplace=True),
    # state size. (ndf) x 32 x 32   64*32*32
    nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False),  # (32+2*1-4)/2+1=16
    # 128 x 16 x 16  特征图
    nn.Conv2d(ndf * 2, ndf * 8, 4, 2, 1, bias=False),  # (16+2*1-4)/2+1=8
    # output: (ndf*8) x 8 x 8 (last features)
    nn.Conv2d(ndf * 8, 1, 4, 1, 0, bias=False),
    nn.Sigmoid(),
    # out: [B, 1, 5, 5] - one score per image
)
