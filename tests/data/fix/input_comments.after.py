"""Input comments of nested blocks are compared with what flows in, and fixed like the rest."""
import torch.nn as nn

nc, ndf = 3, 64

net = nn.Sequential(
    # input is (nc) x 128 x 128
    nn.Conv2d(nc, ndf, 4, 2, 1),
    nn.Sequential(
        # input is (ndf) x 64 x 64
        nn.Conv2d(ndf, ndf * 2, 4, 2, 1),
        nn.ReLU(),
    ),
    nn.Sequential(
        # input: 128 x 32 x 32
        nn.Conv2d(ndf * 2, ndf * 2, 3, 1, 1),
    ),
    # Input size: (ndf*2) x 32 x 32
)
