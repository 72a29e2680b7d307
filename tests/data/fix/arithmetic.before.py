"""Trailing arithmetic comments: only the result after the last '=' changes."""
import torch.nn as nn

up = nn.Sequential(
    # input: 512 x 4 x 4
    nn.ConvTranspose2d(512, 256, 4, 2, 1),  # (4-1)*2-2*1+4=16
    nn.ConvTranspose2d(256, 128, 4, 2, 1),  # (8-1)*2 - 2*1 + 4 = 16
    nn.ConvTranspose2d(128, 64, 4, 2, 1),  #  (16-1)*2-2*1+4 = 30 = 30
    nn.Conv2d(64, 64, 3, 2, 1),  # (32+2*1-3)/2+1=16
    nn.MaxPool2d(2),  # 16/2=16
)
