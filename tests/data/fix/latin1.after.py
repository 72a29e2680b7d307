# -*- coding: latin-1 -*-
"""Un réseau: the file stays latin-1, accents and all."""
import torch.nn as nn

nom = "réseau à convolution"

net = nn.Sequential(
    # entrée (input): 3 x 64 x 64
    # input: 3 x 64 x 64
    nn.Conv2d(3, 64, 4, 2, 1),
    # state size. 64 x 32 x 32  (taille réduite, « état »)
    nn.Conv2d(64, 64, 3, 1, 1),
)
