"""# noqa for our code keeps a comment as written; a noqa for other codes stays and the shape is fixed."""
import torch.nn as nn

net = nn.Sequential(
    # input: 64 x 32 x 32
    nn.Conv2d(64, 128, 4, 2, 1),  # (32+2*1-4)/2+1=16
    # state size. 128 x 32 x 32  # noqa: CVS101
    nn.Conv2d(128, 128, 3, 1, 1),  # (16+2*1-3)/1+1=16
    # state size. 128 x 8 x 8  # noqa
    nn.Conv2d(128, 128, 3, 1, 1),  # (16+2*1-3)/1+1=16
    # state size. 128 x 8 x 8  # noqa: E501
    nn.ConvTranspose2d(128, 64, 4, 2, 1),  # (16-1)*2-2*1+4=64  # noqa: CVS102
    nn.ConvTranspose2d(64, 32, 4, 2, 1),  # (32-1)*2-2*1+4=32  # noqa:E501
)
