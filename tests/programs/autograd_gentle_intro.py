# Source: "Deep Learning with PyTorch: A 60 Minute Blitz" -- A Gentle Introduction to torch.autograd
#   https://github.com/pytorch/tutorials/blob/main/beginner_source/blitz/autograd_tutorial.py
#   https://pytorch.org/tutorials/beginner/blitz/autograd_tutorial.html
# Copyright (c) PyTorch contributors, BSD-3-Clause (the pytorch/tutorials licence).
# The code is verbatim except for lines marked "# CHANGED:":
#   - a fixed seed (torch.manual_seed(0)) after the imports;
#   - no download: resnet18(weights=ResNet18_Weights.DEFAULT) -> resnet18(weights=None)
#     (randomly initialised; the tutorial only runs one SGD step on random data,
#     so the pretrained weights do not change what it demonstrates).
# No shortening. Prose comments abridged. Needs torchvision (fastnn.vision).
# -*- coding: utf-8 -*-
"""
A Gentle Introduction to ``torch.autograd``
===========================================

``torch.autograd`` is PyTorch's automatic differentiation engine that powers
neural network training.

Usage in PyTorch
~~~~~~~~~~~~~~~~
Let's take a look at a single training step.
For this example, we load a pretrained resnet18 model from ``torchvision``.
We create a random data tensor to represent a single image with 3 channels, and height & width of 64,
and its corresponding ``label`` initialized to some random values. Label in pretrained models has
shape (1,1000).
"""
import torch
from torchvision.models import resnet18, ResNet18_Weights
torch.manual_seed(0)  # CHANGED: fixed seed
model = resnet18(weights=None)  # CHANGED: weights=ResNet18_Weights.DEFAULT (no download)
data = torch.rand(1, 3, 64, 64)
labels = torch.rand(1, 1000)

############################################################
# Next, we run the input data through the model through each of its layers to make a prediction.
# This is the **forward pass**.
#

prediction = model(data) # forward pass

############################################################
# We use the model's prediction and the corresponding label to calculate the error (``loss``).
# The next step is to backpropagate this error through the network.
#

loss = (prediction - labels).sum()
loss.backward() # backward pass

############################################################
# Next, we load an optimizer, in this case SGD with a learning rate of 0.01 and momentum of 0.9.
# We register all the parameters of the model in the optimizer.
#

optim = torch.optim.SGD(model.parameters(), lr=1e-2, momentum=0.9)

######################################################################
# Finally, we call ``.step()`` to initiate gradient descent. The optimizer adjusts each parameter by its gradient stored in ``.grad``.
#

optim.step() #gradient descent


######################################################################
# Differentiation in Autograd
# ~~~~~~~~~~~~~~~~~~~~~~~~~~~
# Let's take a look at how ``autograd`` collects gradients. We create two tensors ``a`` and ``b`` with
# ``requires_grad=True``. This signals to ``autograd`` that every operation on them should be tracked.
#

import torch

a = torch.tensor([2., 3.], requires_grad=True)
b = torch.tensor([6., 4.], requires_grad=True)

######################################################################
# We create another tensor ``Q`` from ``a`` and ``b``.
#
# .. math::
#    Q = 3a^3 - b^2

Q = 3*a**3 - b**2


######################################################################
# We need to explicitly pass a ``gradient`` argument in ``Q.backward()`` because it is a vector.
# Equivalently, we can also aggregate Q into a scalar and call backward implicitly, like ``Q.sum().backward()``.
#
external_grad = torch.tensor([1., 1.])
Q.backward(gradient=external_grad)


#######################################################################
# Gradients are now deposited in ``a.grad`` and ``b.grad``

# check if collected gradients are correct
print(9*a**2 == a.grad)
print(-2*b == b.grad)


######################################################################
# Exclusion from the DAG
# ^^^^^^^^^^^^^^^^^^^^^^
#
# The output tensor of an operation will require gradients even if only a
# single input tensor has ``requires_grad=True``.
#

x = torch.rand(5, 5)
y = torch.rand(5, 5)
z = torch.rand((5, 5), requires_grad=True)

a = x + y
print(f"Does `a` require gradients? : {a.requires_grad}")
b = x + z
print(f"Does `b` require gradients?: {b.requires_grad}")


######################################################################
# In finetuning, we freeze most of the model and typically only modify the classifier layers to make predictions on new labels.
# Let's walk through a small example to demonstrate this. As before, we load a pretrained resnet18 model, and freeze all the parameters.

from torch import nn, optim

model = resnet18(weights=None)  # CHANGED: weights=ResNet18_Weights.DEFAULT (no download)

# Freeze all the parameters in the network
for param in model.parameters():
    param.requires_grad = False

######################################################################
# Let's say we want to finetune the model on a new dataset with 10 labels.
# In resnet, the classifier is the last linear layer ``model.fc``.
# We can simply replace it with a new linear layer (unfrozen by default)
# that acts as our classifier.

model.fc = nn.Linear(512, 10)

######################################################################
# Now all parameters in the model, except the parameters of ``model.fc``, are frozen.
# The only parameters that compute gradients are the weights and bias of ``model.fc``.

# Optimize only the classifier
optimizer = optim.SGD(model.parameters(), lr=1e-2, momentum=0.9)
