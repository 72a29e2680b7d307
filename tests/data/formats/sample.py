"""One finding of each kind the formats must carry: a comment fix, a code error, a warning."""
import torch.nn as nn

ndf = 64

net = nn.Sequential(
    # input is (3) x 64 x 64
    nn.Conv2d(3, ndf, 4, 2, 1, bias=False),  # (64+2*1-4)/2+1=30
    nn.LeakyReLU(0.2, inplace=True),
    # state size. (ndf*2) x 32 x 32
    nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False),
    nn.BatchNorm2d(ndf),
    nn.MaxPool2d(3),
    # state size. 128 x 5 x 5  # noqa: CVS101
)
