"""No cascade: a channel-stale first comment still votes with its sizes, so the one stale size is found in the same round."""
import torch.nn as nn

nz, ngf = 100, 64

gen = nn.Sequential(
    nn.ConvTranspose2d(nz, ngf * 8, 4, 1, 0),
    # state size. (ngf*8) x 4 x 4
    nn.ConvTranspose2d(ngf * 8, ngf * 4, 4, 2, 1),
    # state size. (ngf*4) x 8 x 8
    nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1),
    # state size. (ngf*2) x 16 x 16
)
