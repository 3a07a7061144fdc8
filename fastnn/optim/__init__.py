"""Optimizers (``fastnn.optim``) and learning-rate schedulers (``fastnn.optim.lr_scheduler``),
with PyTorch's names, defaults and update rules. Each optimizer's docstring writes its
update out; ``step()`` works on the parameters' numpy arrays in place."""
from . import lr_scheduler  # noqa: F401
from .adadelta import Adadelta
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .adamax import Adamax
from .nadam import NAdam
from .optimizer import Optimizer
from .radam import RAdam
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "Adagrad", "Adadelta", "RMSprop", "Adamax", "NAdam", "RAdam",
           "lr_scheduler"]
