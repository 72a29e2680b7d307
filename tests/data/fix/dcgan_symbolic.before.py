"""DCGAN generator with stale symbolic comments; the BatchNorm's wrong size (CVS201) stays."""
import torch.nn as nn

nz, ngf, nc = 100, 64, 3

netG = nn.Sequential(
    # input is Z, going into a convolution
    nn.ConvTranspose2d(nz, ngf * 8, 4, 1, 0, bias=False),
    nn.BatchNorm2d(ngf * 8),
    nn.ReLU(True),
    # state size. (ngf*8) x 4 x 4
    nn.ConvTranspose2d(ngf * 8, ngf * 4, 4, 2, 1, bias=False),  # (4-1)*2-2*1+4=16
    nn.BatchNorm2d(ngf * 4),
    nn.ReLU(True),
    # state size. (ngf*8) x 8 x 8
    nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False),  # (8-1)*2-2*1+4=16
    nn.BatchNorm2d(ngf),
    nn.ReLU(True),
    # state size. (ngf * 4) x 32 x 32
    nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False),
    nn.BatchNorm2d(ngf),
    nn.ReLU(True),
    # state size. (ngf) x 64 x 64
    nn.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False),
    nn.Tanh(),
    # state size. (nc) x 64 x 64
)
