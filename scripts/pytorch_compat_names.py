"""The declared data behind ``scripts/pytorch_compat.py`` (the PyTorch coverage table,
``docs/pytorch-compat.md``): plain Python data, no logic.

* ``GROUPS``: the PyTorch names an introductory deep-learning course uses, one table each.
  A group is ``(title, prefix, names)``; a name's full torch path is ``prefix + name``, and
  its fastnn path follows the mapping in ``pytorch_compat.MAPPING`` (``torch.X`` ->
  ``fastnn.X``, ``torch.utils.data.X`` -> ``fastnn.utils.data.X``, ``torchvision.X`` ->
  ``fastnn.vision.X``, ``torch.Tensor.m`` -> ``fastnn.Tensor.m``). Dotted names reach into
  classes (``Module.parameters``).
* ``TORCH_SIGNATURES``: torch-side signatures declared by hand, used instead of introspection:
  every torchvision name (torchvision is never introspected, so the table does not depend on
  whether it is installed), and the few torch names whose introspected signature is a
  compatibility shim or a misleading overload (each says why).
* ``NOTES``: behavioural differences the script cannot see in a signature. A note on a name
  that fastnn has makes it ``differs``; on a missing name it is shown as a hint.
* ``NA_ON_CPU``: names that are ``n/a on CPU``: each *raises* on a CPU-only PyTorch build too,
  so no program that runs on a CPU uses it. ``(why, probe)``: the probe is the torch expression
  that raises there (tests/test_pytorch_compat.py checks that it does).
* ``INSTANCES``: how to make an instance of a class (``lib`` is ``torch`` or ``fastnn``), for
  attributes that only instances carry (``Module.training``, ``Optimizer.param_groups``).

Edit this file to change what is compared; then ``python scripts/pytorch_compat.py``
regenerates the doc.
"""

GROUPS = [
    ("torch: element-wise math", "torch.", """
        abs acos asin atan atan2 sin cos tan sinh cosh tanh exp exp2 expm1 log log1p log2 log10
        sqrt rsqrt square pow reciprocal neg sign floor ceil round trunc frac fmod remainder
        clamp clip maximum minimum lerp sigmoid relu softmax log_softmax erf logit
        add sub mul div floor_divide
        eq ne lt le gt ge isnan isinf isfinite nan_to_num isclose allclose equal
        logical_and logical_or logical_not logical_xor
    """),
    ("torch: reductions, sorting and linear algebra", "torch.", """
        sum mean prod std var std_mean var_mean norm max min argmax argmin amax amin all any
        logsumexp cumsum cumprod median count_nonzero
        sort argsort topk kthvalue mode unique bincount
        matmul mm bmm mv dot outer einsum addmm tensordot cdist
        linalg.norm linalg.vector_norm linalg.inv linalg.svd
    """),
    ("torch: shape and indexing", "torch.", """
        flatten unflatten reshape permute transpose t squeeze unsqueeze movedim
        cat concat stack hstack vstack split chunk unbind narrow flip roll tile repeat_interleave
        broadcast_to broadcast_tensors gather scatter scatter_add index_select masked_fill
        masked_select take_along_dim tril triu diag diagonal nonzero meshgrid clone
    """),
    ("torch: creation and random", "torch.", """
        tensor as_tensor from_numpy zeros ones full empty eye arange linspace logspace
        zeros_like ones_like full_like empty_like
        rand randn randint randperm rand_like randn_like randint_like normal bernoulli multinomial
        manual_seed seed initial_seed get_rng_state set_rng_state Generator
    """),
    ("torch: dtypes", "torch.", """
        dtype float double half long int short bool uint8 int8 int16 int32 int64
        float16 float32 float64 get_default_dtype set_default_dtype is_floating_point finfo iinfo
    """),
    ("torch: grad mode, devices and utilities", "torch.", """
        no_grad enable_grad set_grad_enabled is_grad_enabled inference_mode
        device Size is_tensor numel save load set_printoptions
        get_num_threads set_num_threads use_deterministic_algorithms compile
    """),
    ("Tensor: attributes", "torch.Tensor.", """
        shape dtype device grad requires_grad is_leaf grad_fn data T ndim is_cuda
    """),
    ("Tensor: methods", "torch.Tensor.", """
        type to cpu cuda pin_memory float double half long int bool item tolist numpy
        clone detach contiguous is_contiguous size dim numel element_size
        view view_as reshape reshape_as expand expand_as repeat permute transpose t squeeze
        unsqueeze flatten unflatten split chunk narrow flip roll gather scatter index_select
        masked_fill where
        abs neg sign exp log log1p log2 sqrt rsqrt pow square reciprocal floor ceil round trunc
        clamp clip sin cos tanh sigmoid relu softmax log_softmax erf
        add sub mul div matmul mm bmm mv dot outer maximum minimum lerp
        sum mean prod std var norm max min argmax argmin amax amin all any logsumexp cumsum
        sort argsort topk
        eq ne lt le gt ge isnan equal allclose nonzero tril triu
        new_zeros new_ones new_full new_tensor type_as
        backward register_hook retain_grad
        __getitem__ __setitem__ __len__ __iter__ __add__ __sub__ __mul__ __truediv__
        __floordiv__ __mod__ __pow__ __matmul__ __neg__ __abs__ __eq__ __lt__ __and__ __or__
        __invert__ __radd__ __rsub__ __rmul__ __rtruediv__ __rpow__
    """),
    ("Tensor: in-place methods", "torch.Tensor.", """
        add_ sub_ mul_ div_ pow_ zero_ fill_ copy_ clamp_ uniform_ normal_ exp_ sqrt_ neg_ abs_
        relu_ sigmoid_ tanh_ masked_fill_ scatter_ scatter_add_ index_add_ requires_grad_ detach_
        bernoulli_ fill_diagonal_ addcmul_ addcdiv_ lerp_
        __iadd__ __isub__ __imul__ __itruediv__
    """),
    ("torch.autograd", "torch.autograd.", """
        Function Function.apply grad backward gradcheck
        gradgradcheck functional.jacobian functional.hessian set_detect_anomaly detect_anomaly
    """),
    ("torch.nn: layers", "torch.nn.", """
        Module Parameter Buffer Linear Bilinear Identity Conv1d Conv2d ConvTranspose2d
        MaxPool1d MaxPool2d AvgPool2d AdaptiveAvgPool2d AdaptiveMaxPool2d
        BatchNorm1d BatchNorm2d LayerNorm GroupNorm Dropout Dropout2d Embedding
        RNN LSTM GRU RNNCell LSTMCell GRUCell MultiheadAttention TransformerEncoderLayer
        TransformerEncoder
        ReLU ReLU6 LeakyReLU PReLU ELU SELU GELU SiLU Mish Sigmoid Tanh Softmax LogSoftmax
        Softplus Hardtanh
        Sequential ModuleList ModuleDict ParameterList ParameterDict Flatten Unflatten Upsample
        ZeroPad2d CosineSimilarity PairwiseDistance
    """),
    ("torch.nn: losses", "torch.nn.", """
        MSELoss L1Loss SmoothL1Loss HuberLoss CrossEntropyLoss NLLLoss BCELoss BCEWithLogitsLoss
        KLDivLoss MarginRankingLoss TripletMarginLoss CosineEmbeddingLoss
    """),
    ("torch.nn: Module methods", "torch.nn.", """
        Module.forward Module.parameters Module.named_parameters Module.buffers
        Module.named_buffers Module.children Module.named_children Module.modules
        Module.named_modules Module.state_dict Module.load_state_dict Module.train Module.eval
        Module.training Module.zero_grad Module.to Module.cpu Module.cuda Module.apply
        Module.register_buffer Module.register_parameter Module.add_module
        Module.register_forward_hook Module.register_forward_pre_hook
        Module.register_full_backward_hook Module.requires_grad_ Module.get_submodule
        Module.extra_repr Sequential.append ModuleList.append ModuleList.extend
    """),
    ("torch.nn.functional", "torch.nn.functional.", """
        relu relu6 leaky_relu elu selu gelu silu mish sigmoid tanh softmax log_softmax softplus
        hardtanh linear conv1d conv2d conv_transpose2d max_pool1d max_pool2d avg_pool2d
        adaptive_avg_pool2d adaptive_max_pool2d dropout dropout2d batch_norm layer_norm
        group_norm embedding one_hot pad interpolate normalize cosine_similarity
        pairwise_distance mse_loss l1_loss smooth_l1_loss huber_loss cross_entropy nll_loss
        binary_cross_entropy binary_cross_entropy_with_logits kl_div
        scaled_dot_product_attention unfold fold
    """),
    ("torch.nn.init", "torch.nn.init.", """
        uniform_ normal_ constant_ ones_ zeros_ eye_ xavier_uniform_ xavier_normal_
        kaiming_uniform_ kaiming_normal_ trunc_normal_ orthogonal_ calculate_gain
    """),
    ("torch.nn.utils", "torch.nn.utils.", """
        clip_grad_norm_ clip_grad_value_ parameters_to_vector vector_to_parameters
        rnn.pad_sequence rnn.pack_padded_sequence rnn.pad_packed_sequence
    """),
    ("torch.optim", "torch.optim.", """
        Optimizer SGD Adam AdamW Adagrad Adadelta RMSprop Adamax NAdam RAdam
        Optimizer.zero_grad Optimizer.step Optimizer.state_dict Optimizer.load_state_dict
        Optimizer.add_param_group Optimizer.param_groups
    """),
    ("torch.optim.lr_scheduler", "torch.optim.lr_scheduler.", """
        LRScheduler StepLR MultiStepLR ExponentialLR CosineAnnealingLR CosineAnnealingWarmRestarts
        ReduceLROnPlateau OneCycleLR CyclicLR LambdaLR LinearLR ConstantLR SequentialLR
        LRScheduler.step LRScheduler.get_last_lr LRScheduler.state_dict
        LRScheduler.load_state_dict
    """),
    ("torch.utils.data", "torch.utils.data.", """
        Dataset IterableDataset TensorDataset DataLoader Subset ConcatDataset random_split
        Sampler SequentialSampler RandomSampler BatchSampler SubsetRandomSampler
        WeightedRandomSampler DistributedSampler default_collate get_worker_info
    """),
    ("torch.cuda, torch.accelerator, torch.backends", "torch.", """
        cuda.is_available cuda.device_count cuda.manual_seed cuda.manual_seed_all
        cuda.empty_cache cuda.memory_allocated cuda.current_device cuda.get_device_name
        cuda.synchronize cuda.Stream cuda.Event
        accelerator.is_available accelerator.current_accelerator accelerator.device_count
        backends.mps.is_available backends.cudnn.benchmark backends.cudnn.deterministic
    """),
    ("torchvision", "torchvision.", """
        datasets.MNIST datasets.FashionMNIST datasets.CIFAR10 datasets.CIFAR100
        transforms.Compose transforms.ToTensor transforms.Normalize transforms.Resize
        transforms.CenterCrop transforms.RandomCrop transforms.RandomHorizontalFlip
        transforms.RandomVerticalFlip transforms.RandomRotation transforms.RandomResizedCrop
        transforms.ColorJitter transforms.Grayscale transforms.Pad transforms.Lambda
        transforms.RandomErasing
        utils.make_grid utils.save_image
    """),
]

# torch-side signatures written by hand, in the torch docstring style (``name(a, b=1, *, c=None)``).
TORCH_SIGNATURES = {
    # torchvision (0.2x): never introspected.
    "torchvision.datasets.MNIST":
        "MNIST(root, train=True, transform=None, target_transform=None, download=False)",
    "torchvision.datasets.FashionMNIST":
        "FashionMNIST(root, train=True, transform=None, target_transform=None, download=False)",
    "torchvision.datasets.CIFAR10":
        "CIFAR10(root, train=True, transform=None, target_transform=None, download=False)",
    "torchvision.datasets.CIFAR100":
        "CIFAR100(root, train=True, transform=None, target_transform=None, download=False)",
    "torchvision.transforms.Compose": "Compose(transforms)",
    "torchvision.transforms.ToTensor": "ToTensor()",
    "torchvision.transforms.Normalize": "Normalize(mean, std, inplace=False)",
    "torchvision.transforms.Resize":
        "Resize(size, interpolation=InterpolationMode.BILINEAR, max_size=None, antialias=True)",
    "torchvision.transforms.CenterCrop": "CenterCrop(size)",
    "torchvision.transforms.RandomCrop":
        "RandomCrop(size, padding=None, pad_if_needed=False, fill=0, padding_mode='constant')",
    "torchvision.transforms.RandomHorizontalFlip": "RandomHorizontalFlip(p=0.5)",
    "torchvision.transforms.RandomVerticalFlip": "RandomVerticalFlip(p=0.5)",
    "torchvision.transforms.RandomRotation":
        "RandomRotation(degrees, interpolation=InterpolationMode.NEAREST, expand=False, center=None, fill=0)",
    "torchvision.transforms.RandomResizedCrop":
        "RandomResizedCrop(size, scale=(0.08, 1.0), ratio=(0.75, 1.3333333333333333), "
        "interpolation=InterpolationMode.BILINEAR, antialias=True)",
    "torchvision.transforms.ColorJitter": "ColorJitter(brightness=0, contrast=0, saturation=0, hue=0)",
    "torchvision.transforms.Grayscale": "Grayscale(num_output_channels=1)",
    "torchvision.transforms.Pad": "Pad(padding, fill=0, padding_mode='constant')",
    "torchvision.transforms.Lambda": "Lambda(lambd)",
    "torchvision.transforms.RandomErasing":
        "RandomErasing(p=0.5, scale=(0.02, 0.33), ratio=(0.3, 3.3), value=0, inplace=False)",
    "torchvision.utils.make_grid":
        "make_grid(tensor, nrow=8, padding=2, normalize=False, value_range=None, scale_each=False, pad_value=0.0)",
    "torchvision.utils.save_image": "save_image(tensor, fp, format=None, **kwargs)",
    # torch names whose introspected signature would mislead:
    # Module.state_dict(self, *args, destination=None, ...): the *args only catches a deprecated
    # positional call; what programs call is this.
    "torch.nn.Module.state_dict": "state_dict(*, destination=None, prefix='', keep_vars=False)",
    # set_num_threads(int): a builtin that takes no keyword arguments, so the docstring's
    # parameter name (a type) is not a name.
    "torch.set_num_threads": "set_num_threads(int, /)",
}

# Behavioural differences no signature shows (verified against fastnn's code when written).
NOTES = {
    "torch.Tensor.data": "a NumPy array in fastnn, a Tensor in torch",
    "torch.save": "writes a .npz checkpoint (arrays, numbers, strings, nested dicts/lists), never a pickle",
    "torch.load": "reads fastnn .npz checkpoints only; Tensors come back as NumPy arrays",
    "torch.autograd.gradcheck": "fastnn.gradcheck exists at the top level",
}

# name -> (why it is n/a on CPU, torch expression that raises on a CPU-only build)
NA_ON_CPU = {
    "torch.Tensor.cuda": ("copies to a CUDA device", "torch.ones(1).cuda()"),
    "torch.Tensor.pin_memory": ("page-locks memory for an accelerator", "torch.ones(1).pin_memory()"),
    "torch.nn.Module.cuda": ("moves parameters to a CUDA device", "torch.nn.Linear(1, 1).cuda()"),
    "torch.cuda.current_device": ("the current CUDA device", "torch.cuda.current_device()"),
    "torch.cuda.get_device_name": ("a CUDA device's name", "torch.cuda.get_device_name()"),
    "torch.cuda.synchronize": ("waits for CUDA kernels", "torch.cuda.synchronize()"),
    "torch.cuda.Stream": ("a CUDA stream", "torch.cuda.Stream()"),
    "torch.cuda.Event": ("a CUDA event", "torch.cuda.Event()"),
}

# class path (after the library name) -> expression making an instance, ``lib`` being the library
INSTANCES = {
    "Tensor": "lib.ones(2)",
    "nn.Module": "lib.nn.Linear(1, 1)",
    "optim.Optimizer": "lib.optim.SGD(lib.nn.Linear(1, 1).parameters(), lr=0.1)",
}
